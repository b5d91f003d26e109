"""Benchmark of the rules classifier, the proxy's per-request question.

    python -m bench.bench_classify [--extra 200] [--reps 50] [--log FILE ...] [--json]

Rules: the built-in catalogue plus ``--extra`` site rules shaped like an admin would
write them (globs and regexes for in-house plugins, some with methods, query or header
conditions), and, as a separate worst case, the same number of rules that all start with
a wildcard segment so that the prefix index cannot set them aside.

Requests: every request of the real Jira access logs (JALA, ~22 400 lines: method, path,
query, User-Agent), plus one request aimed at each extra rule. Each distinct request is
classified ``--reps`` times in a row and its per-call time is the batch time divided by
``--reps`` (timing single calls would mostly measure the timer); that is repeated
``--rounds`` times and the fastest round kept per request, which filters out the other
processes of a shared machine. The figures are the median, p90, p99 and maximum over
requests. Headers are passed both as a plain dict and
as mitmproxy's ``Headers`` (what the proxy passes; its ``get`` is case-insensitive and
slower) with a browser's usual dozen headers.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_LOGS = sorted((REPO.parent / "shared" / "data" / "jira-access-logs").glob("access_log.*"))

Request = tuple[str, str, str, str]  # method, path, query, user agent


def extra_rules(count: int, worst_case: bool) -> list[dict[str, Any]]:
    """Site rules: in-house plugin pollers (the realistic mix), or all-wildcard ones."""
    rules: list[dict[str, Any]] = []
    for i in range(count):
        rule: dict[str, Any] = {
            "id": f"site.rule-{i}",
            "description": f"in-house plugin {i} (benchmark)",
            "verdict": ("background", "passive", "activity")[i % 3],
        }
        if worst_case:
            rule["path"] = f"/{{ctx}}/rest/inhouse-{i}/1.0/**"
        elif i % 10 < 6:
            rule["path"] = f"/rest/inhouse-{i}/1.0/{{key}}/poll"
            rule["methods"] = ["GET"]
        elif i % 10 < 8:
            rule["regex"] = rf"/rest/inhouse-{i}/(?:1|2)\.0/(?:status|count)(?:/.*)?"
        elif i % 10 == 8:
            rule["path"] = f"/plugins/servlet/inhouse-{i}/**"
            rule["query"] = ["present:refresh"]
        else:
            rule["path"] = f"/secure/Inhouse{i}*.jspa"
            rule["headers"] = ["present:x-requested-with"]
        rules.append(rule)
    return rules


def extra_requests(count: int) -> list[Request]:
    requests = []
    for i in range(count):
        if i % 10 < 6:
            requests.append(("GET", f"/rest/inhouse-{i}/1.0/ABC/poll", "_=1", "Mozilla/5.0"))
        elif i % 10 < 8:
            requests.append(("GET", f"/rest/inhouse-{i}/2.0/count/7", "", "Mozilla/5.0"))
        elif i % 10 == 8:
            requests.append(("GET", f"/plugins/servlet/inhouse-{i}/view", "refresh=1", "Mozilla/5.0"))
        else:
            requests.append(("POST", f"/secure/Inhouse{i}Action.jspa", "", "Mozilla/5.0"))
    return requests


def log_requests(logs: list[Path]) -> list[Request]:
    from seatgate.accesslog import iter_records

    return [(r.method, r.path, r.query, r.user_agent) for r in iter_records(logs)]


def browser_headers(agent: str) -> dict[str, str]:
    return {
        "host": "jira.example.com",
        "user-agent": agent,
        "accept": "application/json, text/javascript, */*; q=0.01",
        "accept-language": "en-GB,en;q=0.9",
        "accept-encoding": "gzip, deflate, br",
        "x-requested-with": "XMLHttpRequest",
        "referer": "https://jira.example.com/secure/Dashboard.jspa",
        "connection": "keep-alive",
        "cookie": "JSESSIONID=0123456789ABCDEF; atlassian.xsrf.token=AAAA-BBBB-CCCC-DDDD|0123|lin",
        "sec-fetch-dest": "empty",
        "sec-fetch-mode": "cors",
        "sec-fetch-site": "same-origin",
    }


def measure(
    classify: Callable[..., Any], requests: Sequence[tuple[str, str, str, Mapping[str, str]]], reps: int
) -> list[float]:
    """Per-call seconds for each request (batch of ``reps`` calls / reps)."""
    timer = time.perf_counter
    out = []
    for method, path, query, headers in requests:
        start = timer()
        for _ in range(reps):
            classify("jira", "jira", method, path, query, headers)
        out.append((timer() - start) / reps)
    return out


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1e6

    return {
        "median_us": statistics.median(ordered) * 1e6,
        "p90_us": pct(0.90),
        "p99_us": pct(0.99),
        "max_us": ordered[-1] * 1e6,
        "requests": len(ordered),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extra", type=int, default=200, help="site rules added to the catalogue")
    parser.add_argument("--reps", type=int, default=20, help="calls per request per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per request (the fastest is kept)")
    parser.add_argument("--log", type=Path, action="append", help="access logs to replay (default: JALA)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from mitmproxy.http import Headers

    from seatgate.rules import Classifier, RuleSet, load_builtin_ruleset, parse_ruleset

    logs = args.log or DEFAULT_LOGS
    if not logs:
        print("no access logs found: give --log FILE", file=sys.stderr)
        return 2
    builtin = load_builtin_ruleset()
    base = log_requests(logs)
    distinct = list(dict.fromkeys(base + extra_requests(args.extra)))
    results: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "logs": [p.name for p in logs],
        "log_requests": len(base),
        "distinct_requests": len(distinct),
        "reps": args.reps,
        "rounds": args.rounds,
        "runs": {},
    }
    for label, worst in (("catalogue + realistic site rules", False), ("catalogue + all-wildcard site rules", True)):
        doc = builtin.to_document()
        doc["rules"] = doc["rules"] + extra_rules(args.extra, worst)
        ruleset: RuleSet = parse_ruleset(doc)
        classifier = Classifier(ruleset)
        with_dict = [(m, p, q, browser_headers(ua)) for m, p, q, ua in distinct]
        with_mitm = [
            (m, p, q, Headers(**{k.replace("-", "_"): v for k, v in h.items()}))  # type: ignore[arg-type]
            for m, p, q, h in with_dict
        ]
        measure(classifier.classify, with_dict, 5)  # warm caches
        for headers_kind, requests in (("dict", with_dict), ("mitmproxy Headers", with_mitm)):
            key = f"{label}, {headers_kind} headers"
            rounds = [measure(classifier.classify, requests, args.reps) for _ in range(args.rounds)]
            best = [min(times) for times in zip(*rounds, strict=True)]
            results["runs"][key] = {"rules": len(ruleset.rules), **summary(best)}
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(
        f"Python {results['python']} on {results['machine']}; {results['log_requests']} log requests "
        f"({results['distinct_requests']} distinct incl. {args.extra} aimed at site rules), "
        f"{args.reps} calls x best of {args.rounds} rounds each"
    )
    print(f"| {'rules / headers':<62} | rules | median µs | p90 µs | p99 µs | max µs |")
    print(f"|{'-' * 64}|------:|----------:|-------:|-------:|-------:|")
    for key, run in results["runs"].items():
        print(
            f"| {key:<62} | {run['rules']:>5} | {run['median_us']:>9.2f} | {run['p90_us']:>6.2f} | "
            f"{run['p99_us']:>6.2f} | {run['max_us']:>6.1f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
