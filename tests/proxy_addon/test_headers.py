"""headers.py: the one header scanner, the answer's identity headers, header hygiene."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from mitmproxy.test import tutils

from proxy_addon.headers import HeaderSet, read_answer

NAMES = st.sampled_from([b"Cookie", b"COOKIE", b"cookie", b"Cookies", b"Authorization", b"Host", b"X-A", b"x-b"])
FIELDS = st.lists(st.tuples(NAMES, st.binary(max_size=8)), max_size=12)


@given(FIELDS)
def test_pick_equals_a_plain_case_insensitive_filter(fields: list[tuple[bytes, bytes]]) -> None:
    wanted = HeaderSet(["cookie", "x-b"])
    naive = [(name.lower(), value) for name, value in fields if name.lower() in {b"cookie", b"x-b"}]
    assert wanted.pick(fields) == naive


def test_decoded_joins_repeats_the_way_http_does() -> None:
    fields = [(b"Cookie", b"a=1"), (b"X-B", b"1"), (b"cookie", b"b=2"), (b"x-b", b"2"), (b"Host", b"h")]
    assert HeaderSet(["cookie", "x-b"]).decoded(fields) == {"cookie": "a=1; b=2", "x-b": "1, 2"}


def test_read_answer_takes_identity_headers_in_any_case() -> None:
    response = tutils.tresp()
    response.headers.fields = (
        (b"x-AUSERNAME", b"alice"),
        (b"Set-Cookie", b"JSESSIONID=1; Path=/"),
        (b"X-Seraph-LoginReason", b"OK"),
        (b"SET-COOKIE", b"atlassian.xsrf.token=t"),
        (b"X-AUSERID", b"10000"),
    )
    answer = read_answer(response)
    assert (answer.named, answer.login_reason) == ("alice", "OK")
    assert answer.cookies == ["JSESSIONID=1; Path=/", "atlassian.xsrf.token=t"]


def test_read_answer_without_identity_headers() -> None:
    response = tutils.tresp()
    response.headers.fields = ((b"Content-Type", b"text/html"),)
    answer = read_answer(response)
    assert (answer.named, answer.login_reason, answer.cookies) == (None, None, [])
