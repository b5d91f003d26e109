"""Send a request upstream once more, after a late grant, and return that answer instead.

When identity was unknown at request time (a token or session the proxy had not seen, a
password upstream had yet to check) the request reaches the product without a grant. If
the answer shows that it failed only for lack of a licence, the addon grants the user and
calls :meth:`Replayer.send` to issue the same request again: same method, path, headers
(hop-by-hop ones aside) and body. The client only ever sees the second answer.

The body must have been kept: requests larger than ``replay_max_body`` are streamed
through and never replayed, and neither are streamed answers (already on their way to
the client). The HTTP client keeps no cookies, so nothing of one user's exchange can
leak into another's, and it does not decompress, so the body matches its headers.
"""

from __future__ import annotations

import time

import aiohttp
from mitmproxy import http

# Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus the
# framing headers the client library sets for the body it actually sends.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "expect",
    }
)
# An answer bigger than this is not buffered for the client; the original refusal is kept
# and the user, licensed by now, simply retries.
MAX_ANSWER = 32 * 1024 * 1024


class ReplayError(Exception):
    """The request could not be sent again; ``outcome`` is the metric label."""

    def __init__(self, outcome: str):
        super().__init__(outcome)
        self.outcome = outcome


def not_replayable(flow: http.HTTPFlow, max_body: int) -> str | None:
    """Why this exchange cannot be replayed, or None when it can."""
    request = flow.request
    if request.stream or request.raw_content is None:
        return "streamed"
    if len(request.raw_content) > max_body:
        return "too_large"
    if flow.response is not None and flow.response.stream:
        return "streamed"
    if flow.websocket is not None:
        return "websocket"
    return None


def licence_refusal(status: int, login_reason: str | None) -> bool:
    """Whether an answer can be the product refusing a user for lack of a licence:
    Seraph's AUTHORISATION_FAILED (right credentials, no application access), or 401/403
    (the no-access page of a session whose user lost the licence)."""
    return "AUTHORISATION_FAILED" in (login_reason or "") or status in (401, 403)


class Replayer:
    def __init__(self, timeout: float):
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=self._timeout),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, flow: http.HTTPFlow, upstream: str) -> http.Response:
        """The upstream's answer to the same request, sent again to ``upstream`` (scheme://host:port)."""
        if self._session is None:
            raise ReplayError("not_running")
        request = flow.request
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request.headers.fields
            if name.decode("latin-1").lower() not in HOP_BY_HOP
        ]
        started = time.time()
        try:
            async with self._session.request(
                request.method,
                upstream + request.path,
                headers=headers,
                data=request.raw_content or None,
                allow_redirects=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            ) as answer:
                if (answer.content_length or 0) > MAX_ANSWER:
                    raise ReplayError("answer_too_large")
                chunks, size = [], 0
                async for chunk in answer.content.iter_chunked(1 << 16):
                    size += len(chunk)
                    if size > MAX_ANSWER:
                        raise ReplayError("answer_too_large")
                    chunks.append(chunk)
                body = b"".join(chunks)
                fields = tuple(
                    (name, value)
                    for name, value in answer.raw_headers
                    if name.decode("latin-1").lower() not in HOP_BY_HOP
                )
                return http.Response(
                    http_version=b"HTTP/1.1",
                    status_code=answer.status,
                    reason=(answer.reason or "").encode(),
                    headers=http.Headers((*fields, (b"Content-Length", str(len(body)).encode()))),
                    content=body,
                    trailers=None,
                    timestamp_start=started,
                    timestamp_end=time.time(),
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ReplayError("upstream_error") from exc
