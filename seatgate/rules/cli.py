"""``seatgate rules``: list, edit, explain and test the traffic rules.

Editing commands work on the rules shared through Redis (every change is a new, audited
version that every proxy picks up within seconds). ``explain`` and ``test`` also work
without Redis: they fall back to the built-in catalogue, or use ``--rules FILE`` to try
an edited file before importing it. Every refusal is one line on stderr and exit status
2, and leaves the stored rules untouched.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

CONNECT_TIMEOUT = 2.0


class Refused(Exception):
    """A refusal already phrased for the admin; printed as one line, exit status 2."""


def _common(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: the options may be given before or after the subcommand without the
    # subcommand's defaults hiding a value given before it.
    parser.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        metavar="FILE",
        help="settings file (TOML); SEATGATE_* environment variables also apply",
    )
    parser.add_argument("--redis-url", default=argparse.SUPPRESS, metavar="URL", help="override redis_url")


def _rule_flags(parser: argparse.ArgumentParser, adding: bool) -> None:
    parser.add_argument("--id", help="rule id" + ("" if adding else " (renames the rule)"))
    parser.add_argument("--description", help="what the rule matches and the source that says so")
    parser.add_argument("--products", metavar="LIST", help="comma-separated product kinds or names ('' = all)")
    parser.add_argument("--methods", metavar="LIST", help="comma-separated HTTP methods ('' = all)")
    pattern = parser.add_mutually_exclusive_group()
    pattern.add_argument("--path", help="glob: {name} = one segment, * = inside a segment, ** = any segments")
    pattern.add_argument("--regex", help="regular expression matched against the whole path")
    pattern.add_argument(
        "--any-path",
        action="store_true",
        help="match every path (dangerous: needs --yes; without it a rule needs --path or --regex)",
    )
    parser.add_argument("--yes", action="store_true", help="confirm a rule that matches every path (--any-path)")
    parser.add_argument(
        "--query", action="append", metavar="COND", help="present:NAME, absent:NAME or equals:NAME=VALUE (repeatable)"
    )
    parser.add_argument(
        "--header", action="append", metavar="COND", help="NAME=VALUE, present:NAME or absent:NAME (repeatable)"
    )
    if not adding:
        parser.add_argument("--no-query", action="store_true", help="drop all query conditions")
        parser.add_argument("--no-headers", action="store_true", help="drop all header conditions")
    parser.add_argument("--verdict", help="static, background, activity or passive")
    parser.add_argument(
        "--from-file", type=Path, metavar="FILE", help="read the rule(s) from a TOML/YAML/JSON file instead of flags"
    )
    parser.add_argument("--reason", default="", help="why, for the audit trail")


def _sample_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sample-log",
        action="append",
        metavar="LOGFILE",
        help="measure the blast radius on this access log instead of the recent requests in Redis (repeatable)",
    )


def configure_parser(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    sub = parser.add_subparsers(dest="rules_command", metavar="SUBCOMMAND")
    sub.required = True

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        _common(command)
        return command

    command = add("list", "the rules in order")
    command.add_argument("--json", action="store_true")
    command = add("show", "one rule")
    command.add_argument("rule_id", metavar="ID")
    command.add_argument("--json", action="store_true")
    command = add("add", "add a rule (at the end, or before another)")
    _rule_flags(command, adding=True)
    place = command.add_mutually_exclusive_group()
    place.add_argument("--before", metavar="ID", help="insert before this rule (default: at the end)")
    place.add_argument("--after", metavar="ID", help="insert after this rule")
    _sample_flag(command)
    command = add("update", "change fields of a rule")
    command.add_argument("rule_id", metavar="ID")
    _rule_flags(command, adding=False)
    _sample_flag(command)
    command = add("remove", "remove a rule")
    command.add_argument("rule_id", metavar="ID")
    command.add_argument("--reason", default="")
    _sample_flag(command)
    command = add("move", "move a rule before another one")
    command.add_argument("rule_id", metavar="ID")
    where = command.add_mutually_exclusive_group(required=True)
    where.add_argument("--before", metavar="OTHER")
    where.add_argument("--after", metavar="OTHER")
    where.add_argument("--to-end", action="store_true")
    command.add_argument("--reason", default="")
    _sample_flag(command)
    command = add("import", "replace all rules with a TOML/YAML/JSON file")
    command.add_argument("file", type=Path, metavar="FILE")
    command.add_argument("--reason", default="")
    _sample_flag(command)
    command = add("export", "print the rules as TOML or YAML")
    command.add_argument("--format", choices=["toml", "yaml", "json"], default="toml")
    command.add_argument("--output", "-o", type=Path, metavar="FILE", help="write here instead of stdout")
    command.add_argument("--builtin", action="store_true", help="export the built-in catalogue")
    command = add("explain", "which rule decides a request, and why")
    command.add_argument("method", metavar="METHOD")
    command.add_argument("target", metavar="PATH", help="path with optional ?query")
    command.add_argument("--header", action="append", default=[], metavar="K:V", help="request header (repeatable)")
    command.add_argument("--product", metavar="P", help="product kind or configured name (default: any)")
    command.add_argument("--json", action="store_true", help="one JSON object on stdout")
    _rule_source(command)
    command = add("test", "replay access logs: hits per rule, activity vs background per user")
    command.add_argument("logs", nargs="+", metavar="LOGFILE", help="Jira or Confluence access logs (plain or .gz)")
    command.add_argument("--format", default="auto", choices=["auto", "jira", "confluence", "confluence-docker"])
    command.add_argument("--product", metavar="P", help="product kind or configured name (default: from the format)")
    command.add_argument(
        "--compare", action="store_true", help="with --rules: show per user the current rules' counts → the file's"
    )
    command.add_argument("--top-users", type=int, default=30, metavar="N")
    command.add_argument("--json", action="store_true")
    _rule_source(command)
    command = add("rollback", "make an earlier version current again")
    command.add_argument("version", type=int, metavar="VERSION")
    command.add_argument("--reason", default="")
    _sample_flag(command)
    command = add("audit", "who changed the rules, when, before/after")
    command.add_argument("--count", type=int, default=20)
    command.add_argument("--json", action="store_true")
    command = add("versions", "the versions kept for rollback")
    command.add_argument("--json", action="store_true")


def _rule_source(command: argparse.ArgumentParser) -> None:
    source = command.add_mutually_exclusive_group()
    source.add_argument("--builtin", action="store_true", help="use the built-in catalogue, not Redis")
    source.add_argument("--rules", type=Path, metavar="FILE", help="use this rules file (to test before importing)")


# -- helpers ------------------------------------------------------------------------
def _who() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _flag_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The rule fields given as flags (only those given)."""
    fields: dict[str, Any] = {}
    for name in ("id", "description", "path", "regex", "verdict"):
        value = getattr(args, name, None)
        if value is not None:
            fields[name] = value
    if args.products is not None:
        fields["products"] = _split_list(args.products)
    if args.methods is not None:
        fields["methods"] = _split_list(args.methods)
    if args.query:
        fields["query"] = args.query
    if args.header:
        fields["headers"] = args.header
    if getattr(args, "any_path", False):
        fields["path"] = fields["regex"] = None
        fields["any_path"] = True
    if getattr(args, "no_query", False):
        fields["query"] = []
    if getattr(args, "no_headers", False):
        fields["headers"] = []
    return fields


def _confirm_any_path(args: argparse.Namespace, ids: list[str]) -> None:
    """Rules matching every path are refused unless --yes confirms them; then a warning stays."""
    for rule_id in ids:
        if not args.yes:
            raise Refused(
                f"rule {rule_id!r} matches every path: its verdict would apply to every request; "
                "add --yes to confirm; nothing changed"
            )
        print(
            f"seatgate rules {args.rules_command}: warning: rule {rule_id!r} matches every path (confirmed with --yes)",
            file=sys.stderr,
        )


def _rules_from_file(path: Path) -> list[Any]:
    """Rules in a file: a rules document (``[[rules]]``) or one rule's fields at the top."""
    from seatgate.rules import io, parse_rule, parse_ruleset

    fmt = io.format_for(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise Refused(f"{path}: cannot read ({exc.strerror})") from None
    if fmt == "toml":
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise Refused(f"{path.name}: invalid TOML: {exc}") from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise Refused(f"{path.name}: invalid {fmt.upper()}: {' '.join(str(exc).split())}") from None
    if isinstance(data, dict) and "rules" in data:
        return list(parse_ruleset(data).rules)
    return [parse_rule(data)]


class _Context:
    """Settings, products and (lazily) Redis for one command."""

    def __init__(self, args: argparse.Namespace):
        from seatgate.settings import load_settings

        # Said after a failure of a command that writes, so the admin knows where they stand.
        self.unchanged = "; nothing changed" if args.rules_command in WRITING else ""
        overrides = {"redis_url": args.redis_url} if getattr(args, "redis_url", None) else None
        self.settings = load_settings(getattr(args, "config", None), overrides)
        self.products: dict[str, str | None] = {p.name: p.kind for p in self.settings.products}
        self.defaults = {p.name: p.default_verdict for p in self.settings.products}
        self._redis: Any = None

    @property
    def redis_label(self) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(self.settings.redis_url)
        host = parts.netloc.rsplit("@", 1)[-1]  # never print a password
        return f"{parts.scheme}://{host}{parts.path}"

    def redis(self) -> Any:
        if self._redis is None:
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            from seatgate.redis_conn import connect

            # No retries: an admin at a terminal wants "unreachable" after one timeout.
            self._redis = connect(
                self.settings.redis_url,
                socket_connect_timeout=CONNECT_TIMEOUT,
                socket_timeout=CONNECT_TIMEOUT,
                retry=Retry(NoBackoff(), 0),
            )
        return self._redis

    def store(self) -> Any:
        from seatgate.rules import RulesStore

        return RulesStore(self.redis(), known_products=self.products)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


async def _with_redis(ctx: _Context, call: Any) -> Any:
    """Run ``call`` with a deadline; an unreachable Redis becomes a one-line refusal."""
    import asyncio

    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import RedisError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    try:
        async with asyncio.timeout(CONNECT_TIMEOUT * 2):
            return await call
    except (RedisConnectionError, RedisTimeoutError, TimeoutError, OSError) as exc:
        raise Refused(f"cannot reach Redis at {ctx.redis_label} ({type(exc).__name__}){ctx.unchanged}") from None
    except RedisError as exc:
        raise Refused(f"Redis error at {ctx.redis_label}: {exc}{ctx.unchanged}") from None


async def _ruleset_for_reading(ctx: _Context, args: argparse.Namespace) -> tuple[Any, str]:
    """Rules for explain/test: --rules FILE, --builtin, else the current ones."""
    from seatgate.rules import load_builtin_ruleset, load_ruleset_file

    if args.rules:
        return load_ruleset_file(args.rules, ctx.products), f"file {args.rules}"
    if args.builtin:
        return load_builtin_ruleset(), "built-in catalogue"
    return await _current_or_builtin(ctx)


async def _current_or_builtin(ctx: _Context) -> tuple[Any, str]:
    """The rules in Redis, or the built-in catalogue (with a note) when Redis is unreachable."""
    from seatgate.rules import load_builtin_ruleset

    try:
        version, ruleset = await _read_current(ctx)
        return ruleset, f"version {version} from {ctx.redis_label}" if version else "built-in catalogue"
    except Refused:
        print(f"seatgate rules: Redis at {ctx.redis_label} unreachable; using the built-in catalogue", file=sys.stderr)
        return load_builtin_ruleset(), "built-in catalogue"


async def _read_current(ctx: _Context) -> tuple[int, Any]:
    """The stored version and rules without writing anything: (0, built-in) if none yet."""
    from seatgate.rules import load_builtin_ruleset

    found = await _with_redis(ctx, ctx.store().read())
    return found if found is not None else (0, load_builtin_ruleset())


def _version_text(version: int) -> str:
    return f"rules version {version}" if version else "no rules stored yet: the built-in catalogue applies"


# -- commands -------------------------------------------------------------------------
async def _show_blast_radius(ctx: _Context, args: argparse.Namespace, before: Any, after: Any) -> None:
    """Print what the edit would change on recent traffic, before it is saved."""
    from seatgate.rules.blast_radius import blast_radius
    from seatgate.rules.sample import lines_from_logs, read_sample

    logs = getattr(args, "sample_log", None)
    if logs:
        _check_logs(logs)
        product = next(iter(ctx.products), "jira")
        lines: Any = lines_from_logs(logs, product)
        source = f"access log {', '.join(logs)}"
    else:
        lines = await _with_redis(ctx, read_sample(ctx.redis(), ctx.products))
        source = f"the recent-request sample in {ctx.redis_label}"
    kinds = ctx.products or {"jira": "jira"}
    print(blast_radius(before, after, lines, kinds, ctx.defaults, source).summary())


async def _edit(ctx: _Context, args: argparse.Namespace, change: Any, reason: str, done: str) -> int:
    _, current = await _read_current(ctx)
    await _show_blast_radius(ctx, args, current, change(current))
    version, _ = await _with_redis(ctx, ctx.store().edit(change, who=_who(), reason=reason or done))
    print(f"{done}; rules are now version {version}")
    return 0


async def cmd_list(ctx: _Context, args: argparse.Namespace) -> int:
    import json

    version, ruleset = await _read_current(ctx)
    if args.json:
        print(json.dumps({"version": version or None, **ruleset.to_document()}, indent=2))
        return 0
    print(f"{_version_text(version)}; {len(ruleset.rules)} rules, first match wins")
    width = max((len(r.id) for r in ruleset.rules), default=2)
    for number, rule in enumerate(ruleset.rules, 1):
        methods = ",".join(rule.methods) or "*"
        extra = [f"query {c}" for c in rule.query] + [f"header {c}" for c in rule.headers]
        products = f" [{', '.join(rule.products)}]" if rule.products else ""
        print(
            f"{number:>3}  {rule.id:<{width}}  {rule.verdict:<10}  {methods:<8} "
            f"{rule.path or rule.regex or '(any path)'}{' ' + ' '.join(extra) if extra else ''}{products}"
        )
    for product, verdict in ruleset.defaults.items():
        print(f"default for {product}: {verdict}")
    return 0


async def cmd_show(ctx: _Context, args: argparse.Namespace) -> int:
    import json

    from seatgate.rules import dumps
    from seatgate.rules.model import RuleSet

    version, ruleset = await _read_current(ctx)
    rule = ruleset.get(args.rule_id)
    position = ruleset.index(args.rule_id) + 1
    if args.json:
        print(json.dumps({"version": version or None, "position": position, "rule": rule.to_dict()}, indent=2))
    else:
        print(f"# rule {position} of {len(ruleset.rules)}; {_version_text(version)}")
        print(dumps(RuleSet(rules=(rule,)), "toml").split("\n", 1)[1].strip())
    return 0


async def cmd_add(ctx: _Context, args: argparse.Namespace) -> int:
    from seatgate.rules import parse_rule

    fields = _flag_fields(args)
    if args.from_file:
        if fields:
            raise Refused("give the rule as flags or with --from-file, not both")
        rules = _rules_from_file(args.from_file)
    else:
        rules = [parse_rule(fields)]
    _confirm_any_path(args, [r.id for r in rules if r.any_path])

    def change(ruleset: Any) -> Any:
        for rule in rules:
            ruleset = ruleset.add(rule, before=args.before, after=args.after)
        return ruleset

    ids = ", ".join(r.id for r in rules)
    return await _edit(ctx, args, change, args.reason, f"added rule {ids}")


async def cmd_update(ctx: _Context, args: argparse.Namespace) -> int:
    fields = _flag_fields(args)
    if args.from_file:
        if fields:
            raise Refused("give the changes as flags or with --from-file, not both")
        rules = _rules_from_file(args.from_file)
        if len(rules) != 1:
            raise Refused(f"{args.from_file.name}: holds {len(rules)} rules; update takes exactly one")
        _confirm_any_path(args, [r.id for r in rules if r.any_path])
        return await _edit(
            ctx, args, lambda rs: rs.replace(args.rule_id, rules[0]), args.reason, f"replaced rule {args.rule_id}"
        )
    if not fields:
        raise Refused("nothing to change: give at least one field flag (see --help) or --from-file")
    if fields.get("any_path"):
        _confirm_any_path(args, [fields.get("id", args.rule_id)])
    return await _edit(
        ctx, args, lambda rs: rs.update(args.rule_id, fields), args.reason, f"updated rule {args.rule_id}"
    )


async def cmd_remove(ctx: _Context, args: argparse.Namespace) -> int:
    return await _edit(ctx, args, lambda rs: rs.remove(args.rule_id), args.reason, f"removed rule {args.rule_id}")


async def cmd_move(ctx: _Context, args: argparse.Namespace) -> int:
    before = None if args.to_end else args.before
    after = None if args.to_end else args.after
    where = "to the end" if before is None and after is None else f"before {before}" if before else f"after {after}"
    return await _edit(
        ctx, args, lambda rs: rs.move(args.rule_id, before, after), args.reason, f"moved rule {args.rule_id} {where}"
    )


async def cmd_import(ctx: _Context, args: argparse.Namespace) -> int:
    from seatgate.rules import load_ruleset_file

    imported = load_ruleset_file(args.file, ctx.products)
    _, current = await _read_current(ctx)
    await _show_blast_radius(ctx, args, current, imported)
    version = await _with_redis(
        ctx, ctx.store().save(imported, who=_who(), reason=args.reason or f"import {args.file.name}")
    )
    print(f"imported {len(imported.rules)} rules from {args.file.name}; rules are now version {version}")
    return 0


async def cmd_export(ctx: _Context, args: argparse.Namespace) -> int:
    from seatgate.rules import dumps, load_builtin_ruleset

    if args.builtin:
        ruleset, header = load_builtin_ruleset(), "# seatgate rules: built-in catalogue\n"
    else:
        version, ruleset = await _read_current(ctx)
        header = f"# seatgate {_version_text(version)}\n"
    text = dumps(ruleset, args.format)
    if args.format != "json":
        text = header + text
    if args.output:
        args.output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        print(f"wrote {len(ruleset.rules)} rules to {args.output}", file=sys.stderr)
    else:
        print(text.rstrip("\n"))
    return 0


async def cmd_explain(ctx: _Context, args: argparse.Namespace) -> int:
    import json

    from seatgate.rules import Classifier
    from seatgate.rules.explain import explain, resolve_product

    headers: dict[str, str] = {}
    for item in args.header:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise Refused(f"--header {item!r}: give it as NAME:VALUE")
        headers[name.strip().lower()] = value.strip()
    kind, name = resolve_product(args.product, ctx.products)
    path, _, query = args.target.partition("?")
    if not path.startswith("/"):
        raise Refused(f"{args.target!r}: the path must start with /")
    ruleset, source = await _ruleset_for_reading(ctx, args)
    result = explain(Classifier(ruleset, ctx.defaults), args.method, path, query, headers, kind, name)
    if args.json:
        print(json.dumps({**result.to_dict(), "rules_source": source}))
    else:
        print(result.render())
        print(f"(rules: {source})")
    return 0


async def cmd_test(ctx: _Context, args: argparse.Namespace) -> int:
    import json

    from seatgate.accesslog import LogFormatError
    from seatgate.rules import Classifier
    from seatgate.rules.explain import resolve_product
    from seatgate.rules.logtest import render, replay

    _check_logs(args.logs)
    if args.compare and not args.rules:
        raise Refused("--compare needs --rules FILE (the edited rules to compare with the current ones)")
    kind, name = resolve_product(args.product, ctx.products)
    ruleset, source = await _ruleset_for_reading(ctx, args)
    try:
        result = replay(args.logs, Classifier(ruleset, ctx.defaults), kind, name, args.format)
        baseline = radius = None
        if args.compare:
            from seatgate.rules.blast_radius import blast_radius
            from seatgate.rules.sample import lines_from_logs

            current, current_source = await _current_or_builtin(ctx)
            baseline = replay(args.logs, Classifier(current, ctx.defaults), kind, name, args.format)
            product = name or kind or "jira"
            radius = blast_radius(
                current,
                ruleset,
                lines_from_logs(args.logs, product, args.format),
                {**ctx.products, product: kind},
                ctx.defaults,
                f"access log {', '.join(args.logs)}",
            )
            source = f"{source}, compared with {current_source}"
    except LogFormatError as exc:
        raise Refused(str(exc)) from None
    except OSError as exc:
        raise Refused(f"{exc.filename}: cannot read ({exc.strerror})") from None
    if args.json:
        extra = {"blast_radius": radius.to_dict()} if radius else {}
        print(json.dumps({**result.to_dict(), "rules_source": source, **extra}, indent=2))
    else:
        print(f"rules: {source}")
        if radius:
            print(radius.summary())
        print(render(result, args.top_users, baseline))
    return 0


def _check_logs(logs: list[str]) -> None:
    for log in logs:
        if log != "-" and not Path(log).is_file():
            raise Refused(f"{log}: no such file")


async def cmd_rollback(ctx: _Context, args: argparse.Namespace) -> int:
    store = ctx.store()
    target = await _with_redis(ctx, store.version_doc(args.version))
    _, current = await _read_current(ctx)
    await _show_blast_radius(ctx, args, current, target)
    version = await _with_redis(ctx, store.rollback(args.version, who=_who(), reason=args.reason))
    print(f"rolled back to the rules of version {args.version}; rules are now version {version}")
    return 0


async def cmd_audit(ctx: _Context, args: argparse.Namespace) -> int:
    import json
    import time

    entries = await _with_redis(ctx, ctx.store().audit(count=args.count))
    if args.json:
        print(json.dumps(entries, indent=2))
        return 0
    for entry in entries:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(entry["when"]))
        print(f"version {entry['version']}  {stamp}  {entry['who']}  {entry['reason']}")
        for change in entry["changes"]:
            if "rule" in change:
                what = "added" if change["before"] is None else "removed" if change["after"] is None else "changed"
                print(f"    {what} {change['rule']}")
            else:
                print(f"    changed {next(iter(change))}")
    return 0


async def cmd_versions(ctx: _Context, args: argparse.Namespace) -> int:
    import json
    import time

    versions = await _with_redis(ctx, ctx.store().versions())
    if args.json:
        print(json.dumps(versions, indent=2))
        return 0
    for item in versions:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(item["when"])) if "when" in item else "?"
        print(f"version {item['version']}  {stamp}  {item.get('who', '?')}  {item.get('reason', '')}")
    return 0


WRITING = {"add", "update", "remove", "move", "import", "rollback"}
COMMANDS = {
    "list": cmd_list,
    "show": cmd_show,
    "add": cmd_add,
    "update": cmd_update,
    "remove": cmd_remove,
    "move": cmd_move,
    "import": cmd_import,
    "export": cmd_export,
    "explain": cmd_explain,
    "test": cmd_test,
    "rollback": cmd_rollback,
    "audit": cmd_audit,
    "versions": cmd_versions,
}


def main(args: argparse.Namespace) -> int:
    import asyncio

    from seatgate.rules import RuleError

    async def run() -> int:
        ctx = _Context(args)
        try:
            return await COMMANDS[args.rules_command](ctx, args)
        finally:
            await ctx.close()

    try:
        return asyncio.run(run())
    except (Refused, RuleError) as exc:
        print(f"seatgate rules {args.rules_command}: {exc}", file=sys.stderr)
        return 2
