"""``seatgate report LOG...``: what a floating licence would save, from access logs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_INACTIVITY = "15m,30m,60m"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("logs", nargs="+", metavar="LOG", help="access log files (plain or .gz); - for stdin")
    parser.add_argument(
        "--format", default="auto", choices=["auto", "jira", "confluence", "confluence-docker"],
        help="access-log pattern (default: detected per file)",
    )  # fmt: skip
    parser.add_argument(
        "--inactivity", default=DEFAULT_INACTIVITY,
        help=f"comma-separated inactivity periods to compare (default {DEFAULT_INACTIVITY})",
    )  # fmt: skip
    parser.add_argument(
        "--product", choices=["jira", "confluence"],
        help="product whose rules apply (default: jira for Jira logs, confluence otherwise)",
    )  # fmt: skip
    parser.add_argument(
        "--context-path", default="", metavar="PATH",
        help="context path the product runs under (e.g. /jira), stripped before classifying",
    )  # fmt: skip
    parser.add_argument("--registered", type=int, metavar="N", help="licensed users today (default: users seen)")
    parser.add_argument(
        "--exclude-users", action="append", default=[], metavar="USERS",
        help="comma-separated users or globs (svc-*) to leave out; repeatable",
    )  # fmt: skip
    parser.add_argument("--rules", type=Path, metavar="FILE", help="rules file (TOML or YAML) instead of the built-in")
    parser.add_argument("--out", type=Path, metavar="HTML", help="write the HTML report here (and a PNG next to it)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON on stdout")


def _fail(message: str) -> int:
    print(f"seatgate report: {message}", file=sys.stderr)
    return 2


def main(args: argparse.Namespace) -> int:
    from seatgate.accesslog import LogFormatError, ParseStats, detect_format
    from seatgate.report import figures, progress
    from seatgate.report.analysis import Analysis
    from seatgate.report.sources import ordered_rows
    from seatgate.report.verdicts import CachedClassifier
    from seatgate.rules import Classifier, RuleError, load_builtin_ruleset, load_ruleset_file
    from seatgate.settings import parse_duration

    try:
        periods = [parse_duration(p) for p in args.inactivity.split(",") if p.strip()]
    except ValueError as exc:
        return _fail(f"--inactivity: {exc}")
    if not periods or any(p <= 0 for p in periods):
        return _fail("--inactivity: give one or more periods greater than zero, e.g. 15m,30m,60m")
    if args.registered is not None and args.registered < 0:
        return _fail("--registered must not be negative")
    stdin_count = args.logs.count("-")
    if stdin_count > 1:
        return _fail("- (standard input) can be given once")
    for log in args.logs:
        if log != "-" and not Path(log).is_file():
            return _fail(f"{log}: no such file")
    try:
        ruleset = load_ruleset_file(args.rules) if args.rules else load_builtin_ruleset()
    except (RuleError, OSError, ValueError) as exc:
        return _fail(f"--rules: {exc}")

    context_path = args.context_path.rstrip("/")
    if context_path and not context_path.startswith("/"):
        return _fail(f"--context-path: {args.context_path!r} must be a path such as /jira")
    product = args.product or _guess_product(args.logs, args.format, detect_format)
    exclude = [u.strip() for value in args.exclude_users for u in value.split(",") if u.strip()]
    stats = ParseStats()
    analysis = Analysis(
        CachedClassifier(Classifier(ruleset), product, context_path=context_path),
        periods,
        exclude_users=exclude,
        utc_offset=lambda: stats.utc_offsets[0] if stats.utc_offsets else 0,
    )
    try:
        rows = ordered_rows(args.logs, args.format, stats)
        analysis.feed(progress.with_progress(rows, stats, progress.estimate_lines(args.logs)))
    except LogFormatError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{getattr(exc, 'filename', None) or 'input'}: {exc.strerror or exc}")
    analysis.finish()
    report = figures.build(
        analysis, stats, registered=args.registered, product=product,
        rules=str(args.rules) if args.rules else "built-in",
    )  # fmt: skip

    if args.out is not None:
        from seatgate.report import render_html, render_png

        try:
            args.out.write_text(render_html.render(report), encoding="utf-8")
            png_path = args.out.with_suffix(".png")
            png_path.write_bytes(render_png.render(report))
        except OSError as exc:
            return _fail(f"--out: {exc.strerror or exc}")
        if not args.json:
            print(f"wrote {args.out} and {png_path}", file=sys.stderr)
    if args.json:
        from seatgate.report import render_json

        sys.stdout.write(render_json.render(report))
    elif args.out is None:
        from seatgate.report import render_terminal

        sys.stdout.write(render_terminal.render(report))
    return 0


def _guess_product(logs: list[str], fmt: str, detect) -> str:
    """jira for the Jira pattern, confluence for the Confluence ones (first file decides)."""
    if fmt == "auto":
        first = next((log for log in logs if log != "-"), None)
        if first is None:
            return "jira"
        from seatgate.accesslog import DETECT_LINES, open_source

        with open_source(first) as stream:
            head = [line for _, line in zip(range(DETECT_LINES), stream, strict=False)]
        fmt = detect(head) or "jira"
    return "jira" if fmt == "jira" else "confluence"
