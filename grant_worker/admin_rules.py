"""The rules operations of the worker's admin API, under ``/api/v1/rules``.

Same operations and same validation as ``seatgate rules`` (both go through
:class:`seatgate.rules.RulesStore` and the immutable :class:`seatgate.rules.RuleSet`
edits), so a change refused on the command line is refused here with the same message.
Every refusal is ``400 {"error": "..."}`` and changes nothing; an unreachable Redis is 503.
Edits accept ``expected_version`` (the version the editor showed) so that two admins
editing at once cannot overwrite each other. Every edit answers with its blast radius
(:mod:`seatgate.rules.blast_radius`, on the proxies' recent-request sample); with
``"dry_run": true`` (``?dry_run=1`` for import) it answers only that and saves nothing,
which is how the admin page shows it before saving.

The routes are mounted behind the admin-token middleware, which puts the admin's name in
``request["admin_user"]``: that is the *who* of the audit trail.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from seatgate.rules import Classifier, RuleError, RuleSet, RulesStore, dumps, loads, parse_rule
from seatgate.rules.blast_radius import blast_radius
from seatgate.rules.explain import explain, resolve_product
from seatgate.rules.io import FORMATS
from seatgate.rules.sample import read_sample

PREFIX = "/api/v1/rules"
MAX_IMPORT_BYTES = 2 << 20

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _guarded(handler: Handler) -> Handler:
    """Turn refusals into 400 and Redis trouble into 503, each with one clear message."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except RuleError as exc:
            return _error(str(exc))
        except (RedisError, OSError, TimeoutError) as exc:
            return _error(f"rules store unavailable ({type(exc).__name__}); nothing changed", 503)

    return wrapper


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise RuleError("body must be a JSON object") from None
    if not isinstance(body, dict):
        raise RuleError("body must be a JSON object")
    return body


def _who(request: web.Request) -> str:
    return str(request.get("admin_user") or "api")


def _expected_version(request: web.Request, body: dict[str, Any] | None = None) -> int | None:
    value = (body or {}).get("expected_version", request.query.get("expected_version"))
    if value in (None, "", "null"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise RuleError(f"expected_version: {value!r} is not a version number") from None


def _rule_from(body: dict[str, Any], rule_id: str | None = None) -> Any:
    """The rule in a body: ``{"rule": {...}}`` or the rule's fields at the top level."""
    data = body.get("rule", body)
    if not isinstance(data, dict):
        raise RuleError("rule: must be an object of rule fields")
    data = {k: v for k, v in data.items() if k not in ("before", "after", "expected_version", "dry_run")}
    if rule_id is not None:
        data.setdefault("id", rule_id)
    return parse_rule(data)


def rules_routes(store: RulesStore, defaults: Mapping[str, str] | None = None) -> list[web.RouteDef]:
    """The routes. ``defaults``: product name → default verdict from the settings, so that
    explain answers what the proxies would (``{p.name: p.default_verdict for p in ...}``)."""
    # Explain compiles the rules once per version, not once per request.
    compiled: dict[str, Any] = {"version": None, "classifier": None}

    async def measure(before: RuleSet, after: RuleSet) -> dict[str, Any]:
        lines = await read_sample(store.redis, store.known_products)
        kinds = store.product_kinds
        return blast_radius(before, after, lines, kinds, defaults, "the recent-request sample").to_dict()

    async def edited(
        request: web.Request, change: Callable[[RuleSet], RuleSet], reason: str, body: dict[str, Any] | None = None
    ) -> web.Response:
        _, current = await store.load()
        radius = await measure(current, change(current))  # refusals surface here, before any save
        if _dry_run(request, body):
            return web.json_response({"dry_run": True, "blast_radius": radius})
        version, ruleset = await store.edit(
            change, who=_who(request), reason=reason, expected_version=_expected_version(request, body)
        )
        return web.json_response(
            {"version": version, "rules": len(ruleset.rules), "done": reason, "blast_radius": radius}
        )

    async def list_rules(_: web.Request) -> web.Response:
        version, ruleset = await store.load()
        return web.json_response({"version": version, **ruleset.to_document()})

    async def get_rule(request: web.Request) -> web.Response:
        version, ruleset = await store.load()
        rule_id = request.match_info["rule_id"]
        rule = ruleset.get(rule_id)
        return web.json_response({"version": version, "position": ruleset.index(rule_id) + 1, "rule": rule.to_dict()})

    async def add_rule(request: web.Request) -> web.Response:
        body = await _json_body(request)
        rule = _rule_from(body)
        before, after = _rule_ref(body, "before"), _rule_ref(body, "after")
        return await edited(request, lambda rs: rs.add(rule, before=before, after=after), f"added rule {rule.id}", body)

    async def replace_rule(request: web.Request) -> web.Response:
        # PUT is a whole rule: fields left out are cleared (the editor sends the full form).
        body = await _json_body(request)
        rule_id = request.match_info["rule_id"]
        rule = _rule_from(body, rule_id)
        return await edited(request, lambda rs: rs.replace(rule_id, rule), f"updated rule {rule_id}", body)

    async def remove_rule(request: web.Request) -> web.Response:
        rule_id = request.match_info["rule_id"]
        return await edited(request, lambda rs: rs.remove(rule_id), f"removed rule {rule_id}")

    async def move_rule(request: web.Request) -> web.Response:
        body = await _json_body(request)
        rule_id = request.match_info["rule_id"]
        before, after = _rule_ref(body, "before"), _rule_ref(body, "after")
        where = f"before {before}" if before else f"after {after}" if after else "to the end"
        return await edited(request, lambda rs: rs.move(rule_id, before, after), f"moved rule {rule_id} {where}", body)

    async def import_rules(request: web.Request) -> web.Response:
        fmt = request.query.get("format") or _format_from_type(request.content_type)
        if fmt not in FORMATS:
            raise RuleError(f"format: give ?format=toml, yaml or json (or a matching Content-Type), not {fmt!r}")
        if request.content_length is not None and request.content_length > MAX_IMPORT_BYTES:
            raise RuleError(f"rules document larger than {MAX_IMPORT_BYTES} bytes")
        text = await request.text()
        ruleset = loads(text, fmt, store.known_products)
        _, current = await store.load()
        radius = await measure(current, ruleset)
        if _dry_run(request):
            return web.json_response({"dry_run": True, "blast_radius": radius})
        reason = request.query.get("reason") or f"import ({fmt})"
        version = await store.save(
            ruleset, who=_who(request), reason=reason, expected_version=_expected_version(request)
        )
        return web.json_response(
            {"version": version, "rules": len(ruleset.rules), "done": reason, "blast_radius": radius}
        )

    async def export_rules(request: web.Request) -> web.Response:
        fmt = request.query.get("format", "toml")
        if fmt not in FORMATS:
            raise RuleError(f"format: one of {', '.join(FORMATS)}, not {fmt!r}")
        version, ruleset = await store.load()
        content_type = {"toml": "application/toml", "yaml": "application/yaml", "json": "application/json"}[fmt]
        return web.Response(
            text=dumps(ruleset, fmt),
            content_type=content_type,
            headers={"X-Seatgate-Rules-Version": str(version)},
        )

    async def explain_request(request: web.Request) -> web.Response:
        body = await _json_body(request)
        method, path = body.get("method", "GET"), body.get("path")
        headers, query = body.get("headers") or {}, body.get("query") or ""
        if not isinstance(path, str) or not path.startswith("/"):
            raise RuleError("path: required, starting with /")
        if "?" in path and not query:
            path, _, query = path.partition("?")
        if not isinstance(method, str) or not isinstance(query, str) or not isinstance(headers, dict):
            raise RuleError("method and query must be strings, headers an object")
        kind, name = resolve_product(body.get("product"), store.product_kinds)
        version, ruleset = await store.load()
        if compiled["version"] != version:
            compiled.update(version=version, classifier=Classifier(ruleset, defaults))
        result = explain(
            compiled["classifier"], method, path, query, {str(k): str(v) for k, v in headers.items()}, kind, name
        )
        return web.json_response({**result.to_dict(), "version": version})

    async def rollback(request: web.Request) -> web.Response:
        body = await _json_body(request)
        target = body.get("version")
        if not isinstance(target, int) or isinstance(target, bool):
            raise RuleError("version: required version number")
        _, current = await store.load()
        radius = await measure(current, await store.version_doc(target))
        if _dry_run(request, body):
            return web.json_response({"dry_run": True, "blast_radius": radius})
        version = await store.rollback(target, who=_who(request), reason=body.get("reason") or "")
        return web.json_response(
            {"version": version, "done": f"rolled back to version {target}", "blast_radius": radius}
        )

    async def audit(request: web.Request) -> web.Response:
        try:
            count = max(1, min(1000, int(request.query.get("count", "100"))))
        except ValueError:
            raise RuleError("count: must be a number") from None
        return web.json_response({"entries": await store.audit(count=count)})

    async def versions(_: web.Request) -> web.Response:
        return web.json_response({"versions": await store.versions()})

    # Fixed paths before /{rule_id}, which would otherwise catch them.
    table: list[tuple[Callable[..., web.RouteDef], str, Handler]] = [
        (web.get, PREFIX, list_rules),
        (web.post, PREFIX, add_rule),
        (web.get, f"{PREFIX}/export", export_rules),
        (web.get, f"{PREFIX}/audit", audit),
        (web.get, f"{PREFIX}/versions", versions),
        (web.post, f"{PREFIX}/import", import_rules),
        (web.post, f"{PREFIX}/explain", explain_request),
        (web.post, f"{PREFIX}/rollback", rollback),
        (web.get, f"{PREFIX}/{{rule_id}}", get_rule),
        (web.put, f"{PREFIX}/{{rule_id}}", replace_rule),
        (web.delete, f"{PREFIX}/{{rule_id}}", remove_rule),
        (web.post, f"{PREFIX}/{{rule_id}}/move", move_rule),
    ]
    return [route(path, _guarded(handler)) for route, path, handler in table]


def _rule_ref(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise RuleError(f"{name}: must be a rule id, or null")
    return value


def _dry_run(request: web.Request, body: dict[str, Any] | None = None) -> bool:
    value = (body or {}).get("dry_run", request.query.get("dry_run"))
    return value in (True, "1", "true", "yes")


def _format_from_type(content_type: str) -> str:
    for fmt in FORMATS:
        if fmt in content_type:
            return fmt
    return "yaml" if "yml" in content_type else content_type or "(none)"
