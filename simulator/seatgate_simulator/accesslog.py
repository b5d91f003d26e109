"""Access log lines in the products' default Tomcat AccessLogValve patterns.

Jira (``conf/server.xml``)::

    %a %{jira.request.id}r %{jira.request.username}r %t "%m %U%q %H" %s %b %D "%{Referer}i"
    "%{User-Agent}i" "%{jira.request.assession.id}r"

Confluence (tarball default since 7.11)::

    %t %{X-AUSERNAME}o %I %h %r %s %Dms %b %{Referer}i %{User-Agent}i

``%D`` is written in milliseconds (Tomcat 8.5/9, as in the sample logs), ``%b`` is ``-`` for
an empty body, and ``%I`` is a made-up ``http-nio-<port>-exec-<n>`` thread name.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_THREADS = 10


def clf_time(epoch: float) -> str:
    """``[25/Nov/2015:09:32:29 +0000]`` in local time, independent of the C locale's month names."""
    t = time.localtime(epoch)
    offset = time.strftime("%z", t)
    month = _MONTHS[t.tm_mon - 1]
    return f"[{t.tm_mday:02d}/{month}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} {offset}]"


@dataclass(slots=True)
class Entry:
    """One finished request, with everything either pattern needs."""

    started: float
    remote: str
    method: str
    path_qs: str
    protocol: str
    status: int
    size: int
    elapsed_ms: int
    referer: str | None
    user_agent: str | None
    username: str | None  # authenticated user; None = anonymous
    ausername_header: str | None  # what X-AUSERNAME said, None when not sent
    request_id: str
    assession_id: str | None
    port: int
    seq: int


def format_jira(e: Entry) -> str:
    size = str(e.size) if e.size else "-"
    return (
        f"{e.remote} {e.request_id} {e.username or '-'} {clf_time(e.started)} "
        f'"{e.method} {e.path_qs} {e.protocol}" {e.status} {size} {e.elapsed_ms} '
        f'"{e.referer or "-"}" "{e.user_agent or "-"}" "{e.assession_id or "-"}"'
    )


def format_confluence(e: Entry) -> str:
    size = str(e.size) if e.size else "-"
    thread = f"http-nio-{e.port}-exec-{e.seq % _THREADS + 1}"
    return (
        f"{clf_time(e.started)} {e.ausername_header or '-'} {thread} {e.remote} "
        f"{e.method} {e.path_qs} {e.protocol} {e.status} {e.elapsed_ms}ms {size} "
        f"{e.referer or '-'} {e.user_agent or '-'}"
    )


class AccessLog:
    """Appends one line per request; line-buffered so a reader sees each line at once."""

    def __init__(self, path: Path, product: str):
        self.path = path
        self._format = format_jira if product == "jira" else format_confluence
        self._file: TextIO = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - closed by close()

    def write(self, entry: Entry) -> None:
        self._file.write(self._format(entry) + "\n")

    def close(self) -> None:
        self._file.close()
