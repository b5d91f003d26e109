"""Write a synthetic Jira access log (default Jira pattern) for benchmarks.

    python bench/gen_jira_log.py --lines 5000000 --out /tmp/jira-5m.log [--users 3000] [--seed 1]

The traffic is shaped like a company's: a working-day curve in local time (+0100), a
pool of active users that drifts minute by minute, page views as bursts (the page and
its satellites: static batches, analytics, app switcher, web resources), open boards
polling every 30 s with ``etag=``, anonymous and app-link requests, and one service
account that calls the REST API around the clock. Deterministic for a seed.
Lines are in time order except for small jitter (Tomcat writes a line when the request
ends, so neighbours can be a second or two apart out of order).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import math
import random
import sys
import time
import zlib
from collections.abc import Iterator
from typing import TextIO

UA_BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
UA_FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
UA_APPLINK = "Confluence-8.5.4 (9012)"
UA_SERVICE = "Apache-HttpClient/4.5.13 (Java/17.0.8)"
# Page views: (weight, primary request, satellites fired by the page in the same second).
# A request is (method, path, query, referer); {k} = issue key, {n} = number, {t} = ms.
_STATIC = [
    (
        "GET",
        "/s/{n}/8100/_/download/batch/jira.webresources:global-static/jira.webresources:global-static.js",
        "locale=en-US",
        "/browse/{k}",
    ),
    ("GET", "/s/{n}/8100/_/download/contextbatch/css/_super/batch.css", "", "/browse/{k}"),
    ("GET", "/images/icons/priorities/major.svg", "", "/browse/{k}"),
]
_SATELLITES = [
    ("POST", "/rest/analytics/1.0/publish/bulk", "", "/browse/{k}"),
    ("GET", "/rest/menu/latest/appswitcher", "_={t}", "/browse/{k}"),
    ("POST", "/rest/webResources/1.0/resources", "", "/browse/{k}"),
    ("GET", "/rest/helptips/1.0/tips", "", "/browse/{k}"),
]
PAGES = [
    (
        30,
        ("GET", "/browse/{k}", "", "/secure/Dashboard.jspa"),
        [*_STATIC, *_SATELLITES, ("PUT", "/rest/projects/1.0/project/PRJ{n}/lastVisited", "", "/browse/{k}")],
    ),
    (
        12,
        ("GET", "/secure/Dashboard.jspa", "", "-"),
        [
            *_STATIC,
            *_SATELLITES,
            ("GET", "/rest/gadget/1.0/issueTable/filter", "num=20&filterId={n}&_={t}", "/secure/Dashboard.jspa"),
            ("POST", "/plugins/servlet/gadgets/dashboard-diagnostics", "", "/secure/Dashboard.jspa"),
        ],
    ),
    (
        10,
        ("GET", "/secure/RapidBoard.jspa", "rapidView={n}", "/secure/Dashboard.jspa"),
        [
            *_STATIC,
            (
                "GET",
                "/rest/greenhopper/1.0/xboard/work/allData.json",
                "rapidViewId={n}&_={t}",
                "/secure/RapidBoard.jspa",
            ),
        ],
    ),
    (10, ("POST", "/secure/QuickEditIssue.jspa", "issueId={n}&decorator=none", "/browse/{k}"), [_SATELLITES[0]]),
    (8, ("GET", "/issues/", "jql=project%3DPRJ{n}", "/secure/Dashboard.jspa"), [*_STATIC, *_SATELLITES]),
    (8, ("GET", "/rest/api/2/issue/{k}", "expand=renderedFields", "/browse/{k}"), []),
    (2, ("POST", "/secure/CreateIssueDetails.jspa", "", "/secure/CreateIssue.jspa"), [_SATELLITES[0]]),
]
# Timers of open tabs, per user who has one open: board polls every 30 s (with etag=),
# gadget token refresh every 12 min.
POLL_BOARD = (
    "GET",
    "/rest/greenhopper/1.0/xboard/work/allData.json",
    "rapidViewId={n}&selectedProjectKey=PRJ{n}&etag=5%2C{t}%2C%5B%5D&_={t}",
    "/secure/RapidBoard.jspa",
)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
OFFSET = 3600  # the server's local time is UTC+01:00


def diurnal(local: float) -> float:
    """Relative load at a local time: working hours on weekdays, a trickle otherwise."""
    day = int(local // 86400 + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    hour = (local % 86400) / 3600
    if day >= 5:
        return 0.03
    work = math.exp(-(((hour - 11) / 3.2) ** 2)) + 0.7 * math.exp(-(((hour - 15) / 2.0) ** 2))
    return 0.02 + work


def stamp(ts: int) -> str:
    t = time.gmtime(ts + OFFSET)
    return f"{t.tm_mday:02d}/{MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0100"


def lines(total: int, users: int, seed: int, start: int) -> Iterator[str]:
    rng = random.Random(seed)
    names = [f"user{i:05d}" for i in range(users)]
    weights = [w for w, *_ in PAGES]
    pool: list[str] = rng.sample(names, max(1, users // 10))
    boards: dict[str, None] = {}  # users with a board open in some tab (a dict: ordered, so deterministic)
    minute = start // 60
    written = request_id = 0

    def fill(template: str, key: str, n: str, ts: int) -> str:
        return template.replace("{k}", key).replace("{n}", n).replace("{t}", str(ts * 1000 + rng.randrange(1000)))

    while written < total:
        load = diurnal(minute * 60 + OFFSET)
        want = min(len(names), max(1, int(users * 0.18 * load)))
        while len(pool) < want:
            pool.append(rng.choice(names))
        while len(pool) > want:
            pool.pop(rng.randrange(len(pool)))
        for _ in range(max(1, len(pool) // 20)):  # people come and go
            pool[rng.randrange(len(pool))] = rng.choice(names)
        batch: list[tuple[int, str]] = []

        def emit(ts: int, user: str, request: tuple[str, str, str, str], key: str, n: str, ua: str, out=batch) -> None:
            nonlocal request_id
            method, path, query, referer = request
            referer = "-" if referer == "-" else "https://jira.example.com" + fill(referer, key, n, ts)
            path, query = fill(path, key, n, ts), fill(query, key, n, ts)
            out.append((ts, _line(ts, request_id, user, method, path, query, 200, referer, ua)))
            request_id += 1

        views = max(1, int(len(pool) * 0.35 * rng.uniform(0.7, 1.3)))  # page views this minute
        for _ in range(views):
            ts = minute * 60 + rng.randrange(60)
            user = rng.choice(pool) if rng.random() > 0.04 else "-"
            ua = UA_BROWSER if zlib.crc32(user.encode()) & 1 else UA_FIREFOX
            _, primary, satellites = rng.choices(PAGES, weights)[0]
            # Heavy-tailed ids: a few hot issues and boards, a long tail of others.
            key = f"PRJ{min(int(rng.paretovariate(1.5)), 40)}-{min(int(rng.paretovariate(0.9)), 50000)}"
            n = str(min(int(rng.paretovariate(0.9) * 3), 20000))
            emit(ts, user, primary, key, n, ua)
            for request in satellites:
                emit(ts + (rng.random() < 0.3), user, request, key, n, ua)
            if primary[1] == "/secure/RapidBoard.jspa" and user != "-":
                boards[user] = None
        for user in list(boards):
            if rng.random() < (0.01 if user in pool else 0.2):
                del boards[user]  # tab closed
                continue
            ua = UA_BROWSER if zlib.crc32(user.encode()) & 1 else UA_FIREFOX
            offset = zlib.crc32(user.encode()) % 30
            for second in (offset, offset + 30):
                emit(minute * 60 + second, user, POLL_BOARD, "", "5", ua)
        if minute % 10 == 0:  # app link polls, anonymous
            emit(minute * 60 + 3, "-", ("GET", "/rest/capabilities", "", "-"), "", "", UA_APPLINK)
        if minute % 2 == 0:  # a service account, day and night
            emit(
                minute * 60 + 17, "svc-ci", ("GET", "/rest/api/2/search", "jql=updated%3E-5m", "-"), "", "", UA_SERVICE
            )
        batch.sort()
        for i, (_, text) in enumerate(batch):
            if i and rng.random() < 0.01:  # Tomcat logs at completion: small disorder
                yield batch[i - 1][1]
                written += 1
            yield text
            written += 1
            if written >= total:
                return
        minute += 1


def _line(ts: int, rid: int, user: str, method: str, path: str, query: str, status: int, referer: str, ua: str) -> str:
    q = f"?{query}" if query else ""
    session = "-" if user == "-" else format(zlib.crc32(user.encode()) & 0xFFFFFF, "x")
    return (
        f'10.0.{rid % 250}.{rid % 199} {(ts // 60) % 1440}x{rid}x1 {user} [{stamp(ts)}] "{method} {path}{q} HTTP/1.1" '
        f'{status} {rid % 20000} {rid % 900} "{referer}" "{ua}" "{session}"\n'
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=int, default=1_700_438_400, help="epoch of the first minute (a Monday)")
    parser.add_argument("--out", default="-", help="file to write (.gz compresses); - for stdout")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        out: TextIO
        if args.out == "-":
            out = sys.stdout
        elif args.out.endswith(".gz"):
            out = stack.enter_context(gzip.open(args.out, "wt", encoding="utf-8", compresslevel=3))
        else:
            out = stack.enter_context(open(args.out, "w", encoding="utf-8"))
        out.writelines(lines(args.lines, args.users, args.seed, args.start))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
