"""The rules model: what a rule is, what a rule set is, and how both are validated.

A rule says which requests it matches (products, methods, a path pattern, conditions on
query parameters and request headers) and what they are (its verdict). A rule set is an
ordered list of rules plus a default verdict per product; the first matching rule wins.

Everything here is immutable: an edit returns a new :class:`RuleSet`, validated as a
whole, so a bad edit can never leave a half-changed rule set behind. Every validation
problem is raised as one :class:`RuleError` whose message names the rule and the field.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Verdict = Literal["static", "background", "activity", "passive"]
VERDICTS: tuple[str, ...] = get_args(Verdict)
PRODUCT_KINDS: tuple[str, ...] = ("jira", "confluence")
# What no rule matches and no configured default covers counts as work: a missing rule
# must never lock a real user out.
FALLBACK_VERDICT = "activity"
DOCUMENT_FORMAT = 1

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
_PRODUCT = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")  # same shape as ProductSettings.name
# The methods Jira and Confluence answer: RFC 9110's, PATCH (RFC 5789) and the WebDAV ones
# (RFC 4918, RFC 3253 REPORT) Confluence serves. A typo such as GTE would make a rule that
# never matches, so anything else is refused.
HTTP_METHODS: tuple[str, ...] = (
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "PATCH",
    "OPTIONS",
    "TRACE",
    "CONNECT",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "REPORT",
)
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_GLOB_SPECIALS = re.compile(r"\*\*|\*|\{[A-Za-z_][A-Za-z0-9_]*\}")


class RuleError(ValueError):
    """Invalid rules input, phrased for the admin: ``rule 'x': field: reason``."""


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when ``word`` is close to one of ``known``, else ``""``."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


ANY_PATH_REFUSAL = (
    "no path or regex: the rule would match every request; give a path or regex, "
    "or set any_path (--any-path) to mean it"
)


Op = Literal["present", "absent", "equals"]


class Condition(BaseModel):
    """A condition on one query parameter or request header.

    Written as ``present:NAME``, ``absent:NAME``, ``equals:NAME=VALUE`` or the shorthand
    ``NAME=VALUE`` (files, CLI flags and the admin API all use this one syntax).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    op: Op
    value: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if not isinstance(data, str):
            return data
        op, sep, rest = data.partition(":")
        if sep and op in ("present", "absent"):
            return {"name": rest, "op": op}
        if sep and op == "equals":
            data = rest
        name, eq, value = data.partition("=")
        if not eq:
            raise ValueError(f"{data!r} is not present:NAME, absent:NAME, equals:NAME=VALUE or NAME=VALUE")
        return {"name": name, "op": "equals", "value": value}

    @model_validator(mode="after")
    def _check(self) -> Condition:
        if (self.op == "equals") != (self.value is not None):
            raise ValueError(f"{self.op} takes {'a value' if self.op == 'equals' else 'no value'}")
        return self

    def __str__(self) -> str:
        return f"equals:{self.name}={self.value}" if self.op == "equals" else f"{self.op}:{self.name}"


class Rule(BaseModel):
    """One rule. Empty ``products``/``methods`` mean all.

    A rule without ``path`` or ``regex`` matches every path; because such a rule can take
    the seats of everyone who works (a ``background`` verdict on every request), it is
    accepted only with ``any_path = true`` said explicitly.

    ``path`` is a glob: ``{name}`` is one path segment, ``*`` any text inside a segment,
    ``**`` any number of segments. ``regex`` is matched against the whole path (as with
    ``re.fullmatch``), so ``^``/``$`` are optional. Paths never include the query string.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    description: str = Field(min_length=1)
    products: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    path: str | None = None
    regex: str | None = None
    any_path: bool = False
    query: tuple[Condition, ...] = ()
    headers: tuple[Condition, ...] = ()
    verdict: Verdict

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"{value!r} must be 1-80 of a-z 0-9 . _ - starting with a letter or digit")
        return value

    @field_validator("products")
    @classmethod
    def _check_products(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for product in value:
            if not _PRODUCT.match(product):
                raise ValueError(f"{product!r} is not a product kind or name")
        return tuple(dict.fromkeys(value))

    @field_validator("methods", mode="before")
    @classmethod
    def _upper_methods(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(m.upper() if isinstance(m, str) else m for m in value)
        return value

    @field_validator("methods")
    @classmethod
    def _check_methods(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for method in value:
            if method not in HTTP_METHODS:
                raise ValueError(f"unknown HTTP method {method!r}{did_you_mean(method, HTTP_METHODS)}")
        return tuple(dict.fromkeys(value))

    @field_validator("path")
    @classmethod
    def _check_path(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith("/"):
            raise ValueError(f"{value!r} must start with /")
        if "?" in value:
            raise ValueError("must not contain a query string: use query conditions")
        rest = _GLOB_SPECIALS.sub("", value)
        if "{" in rest or "}" in rest:
            raise ValueError(f"{value!r}: placeholders are {{name}} with a-z, 0-9 and _ only")
        for segment in value.split("/"):
            if "**" in segment and segment != "**":
                raise ValueError(f"{value!r}: ** must be a whole path segment")
        return value

    @field_validator("regex")
    @classmethod
    def _check_regex(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
        return value

    @field_validator("headers")
    @classmethod
    def _lower_headers(cls, value: tuple[Condition, ...]) -> tuple[Condition, ...]:
        # Header names are case-insensitive; the classifier looks them up in lower case.
        return tuple(c.model_copy(update={"name": c.name.lower()}) for c in value)

    @model_validator(mode="after")
    def _check_pattern(self) -> Rule:
        if self.path is not None and self.regex is not None:
            raise ValueError("give path or regex, not both")
        if self.any_path and (self.path is not None or self.regex is not None):
            raise ValueError("any_path is for a rule without path or regex")
        if not self.any_path and self.path is None and self.regex is None:
            raise ValueError(ANY_PATH_REFUSAL)
        return self

    def to_dict(self) -> dict[str, Any]:
        """The rule as written in a rules file: empty fields left out, conditions as text."""
        data: dict[str, Any] = {"id": self.id, "description": self.description}
        if self.products:
            data["products"] = list(self.products)
        if self.methods:
            data["methods"] = list(self.methods)
        if self.path is not None:
            data["path"] = self.path
        if self.regex is not None:
            data["regex"] = self.regex
        if self.any_path:
            data["any_path"] = True
        if self.query:
            data["query"] = [str(c) for c in self.query]
        if self.headers:
            data["headers"] = [str(c) for c in self.headers]
        data["verdict"] = self.verdict
        return data

    def pattern_text(self) -> str:
        if self.path is not None:
            return f"path {self.path}"
        if self.regex is not None:
            return f"regex {self.regex}"
        return "any path"


class RuleSet(BaseModel):
    """An ordered list of rules (first match wins) and default verdicts by product kind or name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: tuple[Rule, ...] = ()
    defaults: dict[str, Verdict] = {}

    @model_validator(mode="after")
    def _check(self) -> RuleSet:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"duplicate rule id {rule.id!r}")
            seen.add(rule.id)
        for product in self.defaults:
            if not _PRODUCT.match(product):
                raise ValueError(f"defaults: {product!r} is not a product kind or name")
        return self

    # -- reading -----------------------------------------------------------------
    def ids(self) -> list[str]:
        return [rule.id for rule in self.rules]

    def get(self, rule_id: str) -> Rule:
        return self.rules[self.index(rule_id)]

    def index(self, rule_id: str) -> int:
        for i, rule in enumerate(self.rules):
            if rule.id == rule_id:
                return i
        raise RuleError(f"no rule with id {rule_id!r}{did_you_mean(rule_id, self.ids())}")

    def default_for(self, product_kind: str | None, product_name: str | None = None) -> str:
        if product_name is not None and product_name in self.defaults:
            return self.defaults[product_name]
        if product_kind is not None and product_kind in self.defaults:
            return self.defaults[product_kind]
        return FALLBACK_VERDICT

    def check_products(self, known: Iterable[str]) -> None:
        """Refuse product names that are neither a kind nor one of ``known`` (configured names)."""
        allowed = set(PRODUCT_KINDS) | set(known)
        listed = ", ".join(sorted(allowed))
        for rule in self.rules:
            for product in rule.products:
                if product not in allowed:
                    raise RuleError(f"rule {rule.id!r}: products: unknown product {product!r} (known: {listed})")
        for product in self.defaults:
            if product not in allowed:
                raise RuleError(f"defaults: unknown product {product!r} (known: {listed})")

    def to_document(self) -> dict[str, Any]:
        """The whole rule set as plain data (what TOML, YAML and Redis hold)."""
        doc: dict[str, Any] = {"format": DOCUMENT_FORMAT}
        if self.defaults:
            doc["defaults"] = dict(self.defaults)
        doc["rules"] = [rule.to_dict() for rule in self.rules]
        return doc

    # -- editing: each returns a new, fully validated rule set --------------------
    def _with(self, rules: list[Rule]) -> RuleSet:
        return _validated(lambda: RuleSet(rules=tuple(rules), defaults=self.defaults), rules)

    def add(self, rule: Rule, before: str | None = None, after: str | None = None) -> RuleSet:
        """Add ``rule`` before or after another one (both name an existing rule), else at the end."""
        if before is not None and after is not None:
            raise RuleError("give before or after, not both")
        if rule.id in self.ids():
            raise RuleError(f"rule {rule.id!r}: id: a rule with this id already exists")
        rules = list(self.rules)
        if before is not None:
            position = self.index(before)
        elif after is not None:
            position = self.index(after) + 1
        else:
            position = len(rules)
        rules.insert(position, rule)
        return self._with(rules)

    def update(self, rule_id: str, changes: Mapping[str, Any]) -> RuleSet:
        """Change some fields of one rule; ``path``/``regex`` replace each other."""
        data = self.get(rule_id).to_dict()
        if "path" in changes or "regex" in changes:
            data.pop("any_path", None)
        if "path" in changes:
            data.pop("regex", None)
        if "regex" in changes:
            data.pop("path", None)
        data.update(changes)
        return self.replace(rule_id, parse_rule({k: v for k, v in data.items() if v is not None}))

    def replace(self, rule_id: str, rule: Rule) -> RuleSet:
        """Put ``rule`` where rule ``rule_id`` is (its id may differ: a rename)."""
        index = self.index(rule_id)
        if rule.id != rule_id and rule.id in self.ids():
            raise RuleError(f"rule {rule.id!r}: id: a rule with this id already exists")
        rules = list(self.rules)
        rules[index] = rule
        return self._with(rules)

    def remove(self, rule_id: str) -> RuleSet:
        rules = list(self.rules)
        del rules[self.index(rule_id)]
        return self._with(rules)

    def move(self, rule_id: str, before: str | None, after: str | None = None) -> RuleSet:
        """Move a rule just before (or after) another one, or to the end when neither is given."""
        if before is not None and after is not None:
            raise RuleError("give before or after, not both")
        if rule_id in (before, after):
            raise RuleError(f"rule {rule_id!r}: cannot move a rule next to itself")
        rule = self.get(rule_id)
        other = before if before is not None else after
        if other is not None:
            self.get(other)
        rules = [r for r in self.rules if r.id != rule_id]
        if other is None:
            position = len(rules)
        else:
            position = next(i for i, r in enumerate(rules) if r.id == other) + (after is not None)
        rules.insert(position, rule)
        return self._with(rules)


def _error_message(exc: ValidationError, data: Any) -> str:
    """The first pydantic error as ``rule 'id': field: reason``."""
    first = exc.errors()[0]
    loc = list(first["loc"])
    reason = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        in_rule = exc.title == "Rule" or (len(loc) > 2 and loc[0] == "rules")
        known = Rule.model_fields if in_rule else RuleSet.model_fields
        reason = "unknown field" + (did_you_mean(str(loc[-1]), known) if loc else "")
    elif first["type"] == "missing":
        reason = "is required"
    elif first["type"] == "literal_error" and loc and loc[-1] == "verdict":
        reason = f"unknown verdict {first['input']!r} (one of: {', '.join(VERDICTS)})"
    prefix = ""
    if loc and loc[0] == "rules" and len(loc) > 1 and isinstance(loc[1], int):
        index = loc[1]
        rules = data.get("rules") if isinstance(data, Mapping) else None
        entry = rules[index] if isinstance(rules, list | tuple) and index < len(rules) else None
        rule_id = entry.get("id") if isinstance(entry, Mapping) else getattr(entry, "id", None)
        prefix = f"rule {rule_id!r}: " if isinstance(rule_id, str) else f"rule #{index + 1}: "
        loc = loc[2:]
    elif isinstance(data, Mapping) and "rules" not in data and isinstance(data.get("id"), str):
        prefix = f"rule {data['id']!r}: "
    field = ".".join(str(part) for part in loc if not str(part).startswith(("function-", "tagged-")))
    return f"{prefix}{field}: {reason}" if field else f"{prefix}{reason}"


def _validated(build: Any, data: Any) -> Any:
    try:
        return build()
    except ValidationError as exc:
        raise RuleError(_error_message(exc, data)) from None


def parse_rule(data: Mapping[str, Any]) -> Rule:
    if not isinstance(data, Mapping):
        raise RuleError("a rule must be a table/mapping of fields")
    return _validated(lambda: Rule.model_validate(dict(data)), data)


def parse_ruleset(data: Any, known_products: Iterable[str] | None = None) -> RuleSet:
    """Validate a rules document (``{"format": 1, "defaults": {...}, "rules": [...]}``)."""
    if not isinstance(data, Mapping):
        raise RuleError("a rules document must be a table/mapping with a 'rules' list")
    fmt = data.get("format", DOCUMENT_FORMAT)
    if fmt != DOCUMENT_FORMAT:
        raise RuleError(f"format: unsupported rules format {fmt!r} (this version reads {DOCUMENT_FORMAT})")
    body = {k: v for k, v in data.items() if k != "format"}
    ruleset = _validated(lambda: RuleSet.model_validate(body), body)
    if known_products is not None:
        ruleset.check_products(known_products)
    return ruleset
