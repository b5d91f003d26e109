# seatgate: one image for every role, chosen by the command:
#   docker run seatgate proxy  --config /etc/seatgate/seatgate.toml
#   docker run seatgate worker --config /etc/seatgate/seatgate.toml
#   docker run seatgate doctor --config /etc/seatgate/seatgate.toml
# Settings also come from SEATGATE_* environment variables (deploy/seatgate.example.toml).
#
# The default target is the production image: seatgate alone, without the Jira/Confluence
# simulator or fakeredis. `docker build --target demo` adds them (`seatgate simulate`,
# `seatgate demo`) for the compose demo profile.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY seatgate ./seatgate
COPY proxy_addon ./proxy_addon
COPY grant_worker ./grant_worker
# Installed into a prefix of its own so the runtime stage copies the result without
# pip's cache or the sources.
RUN pip install --no-cache-dir --disable-pip-version-check --prefix=/install .

FROM build AS build-demo
COPY simulator ./simulator
RUN pip install --no-cache-dir --disable-pip-version-check --prefix=/install ./simulator

FROM python:3.11-slim AS base
# A fixed, unprivileged uid, so volume and secret permissions can be set for it. The
# home directory is where mitmproxy keeps its state (~/.mitmproxy); with a read-only
# root filesystem mount a writable volume there.
RUN useradd --system --uid 10001 --user-group --home-dir /home/seatgate --create-home seatgate
WORKDIR /home/seatgate
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# proxy, proxy metrics, worker admin API and metrics (the defaults in the settings).
EXPOSE 8080 9180 9181
ENTRYPOINT ["seatgate"]
CMD ["--help"]

FROM base AS demo
COPY --from=build-demo /install /usr/local
USER 10001:10001

FROM base AS runtime
COPY --from=build /install /usr/local
USER 10001:10001
