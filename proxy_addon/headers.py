"""Reading and rewriting header fields, with one scanner.

mitmproxy's case-insensitive header lookups rescan every field on each call, and
lower-casing and decoding every header of every request is a measurable part of the
proxy's cost. :class:`HeaderSet` picks the fields of a fixed set of names in one pass over
the raw fields, telling most names apart by their length before it lower-cases them.
Everything in the proxy that looks at headers goes through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from mitmproxy import http

Fields = Sequence[tuple[bytes, bytes]]


class HeaderSet:
    """A fixed set of header names, picked out of raw header fields in one pass."""

    __slots__ = ("_lengths", "names")

    def __init__(self, names: Iterable[str | bytes]) -> None:
        self.names = frozenset(n.lower() if isinstance(n, bytes) else n.lower().encode("latin-1") for n in names)
        self._lengths = frozenset(map(len, self.names))

    def pick(self, fields: Fields) -> list[tuple[bytes, bytes]]:
        """(lower-cased name, raw value) of each field named in the set, in order."""
        lengths, names = self._lengths, self.names
        return [(lower, value) for name, value in fields if len(name) in lengths and (lower := name.lower()) in names]

    def decoded(self, fields: Fields) -> dict[str, str]:
        """The picked fields as text, a repeated header joined the way HTTP joins it."""
        headers: dict[str, str] = {}
        for lower, value in self.pick(fields):
            key, text = lower.decode("latin-1"), value.decode("latin-1")
            previous = headers.get(key)
            headers[key] = text if previous is None else previous + ("; " if key == "cookie" else ", ") + text
        return headers


@dataclass(slots=True)
class AnswerHeaders:
    """What an upstream answer says about who sent the request."""

    named: str | None = None  # X-AUSERNAME ("anonymous" when not logged in)
    login_reason: str | None = None  # X-Seraph-LoginReason
    cookies: list[str] = field(default_factory=list)  # Set-Cookie values


_ANSWER = HeaderSet((b"x-ausername", b"x-seraph-loginreason", b"set-cookie"))


def read_answer(response: http.Response) -> AnswerHeaders:
    answer = AnswerHeaders()
    for lower, value in _ANSWER.pick(response.headers.fields):
        if lower == b"set-cookie":
            answer.cookies.append(value.decode("latin-1"))
        elif lower == b"x-ausername":
            answer.named = value.decode("latin-1")
        else:
            answer.login_reason = value.decode("latin-1")
    return answer


class HeaderHygiene:
    """Never trust identity headers on a request; tell upstream who the client is.

    Most requests carry none of the headers this rewrites, so one cheap pass decides, and
    only a request that does have one gets its fields rebuilt.
    """

    FORWARDED_FOR, FORWARDED_PROTO = b"x-forwarded-for", b"x-forwarded-proto"

    def __init__(self, strip: list[str] | None = None):
        self.strip = frozenset(name.lower().encode() for name in (strip or ["X-AUSERNAME", "X-AUSERID"]))
        self._rewritten = HeaderSet(self.strip | {self.FORWARDED_FOR, self.FORWARDED_PROTO})

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        headers = flow.request.headers
        client_ip = (flow.client_conn.peername[0] if flow.client_conn.peername else "").encode()
        proto = (b"X-Forwarded-Proto", b"https" if flow.client_conn.tls_established else b"http")
        if not self._rewritten.pick(headers.fields):
            headers.fields += ((b"X-Forwarded-For", client_ip), proto)
            return
        kept, forwarded, has_proto = [], None, False
        for name, value in headers.fields:
            lower = name.lower()
            if lower in self.strip:
                continue
            if lower == self.FORWARDED_FOR:
                forwarded = value if forwarded is None else forwarded + b", " + value
                continue
            if lower == self.FORWARDED_PROTO:
                has_proto = True
            kept.append((name, value))
        kept.append((b"X-Forwarded-For", forwarded + b", " + client_ip if forwarded else client_ip))
        if not has_proto:
            kept.append(proto)
        headers.fields = tuple(kept)
