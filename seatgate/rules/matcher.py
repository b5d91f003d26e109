"""One rule compiled for matching: path regex, method and product sets, conditions.

:class:`CompiledRule` holds everything the classifier's hot loop reads as plain
attributes (no properties, no per-call allocation) and a precomputed :class:`Decision`
to hand back. :meth:`CompiledRule.why_not` is the slow, explaining twin of that loop,
used by ``rules explain``; tests check that both always agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from seatgate.rules.model import Condition, Rule

_GLOB_TOKEN = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}|\*")
_REGEX_META = set(".^$*+?{}[]|()\\")
_QUANTIFIERS = set("*+?{")

# Paths are indexed by their first two segments (``/rest/quickreload``): Atlassian REST
# paths put the plugin in the second segment, so that keeps most rules out of each scan.
INDEX_DEPTH = 2


@dataclass(frozen=True, slots=True)
class Decision:
    """What a request is. ``rule_id`` is None when the product's default verdict decided."""

    verdict: str
    rule_id: str | None


def glob_to_regex(glob: str) -> str:
    """``{name}`` → one segment, ``*`` → text inside a segment, ``**`` → any segments."""
    parts: list[str] = []
    segments = glob.split("/")[1:]
    for segment in segments:
        if segment == "**":
            # Zero or more whole segments: /rest/**/x matches /rest/x and /rest/a/b/x.
            parts.append("(?:/.*)?")
            continue
        out, pos = ["/"], 0
        for token in _GLOB_TOKEN.finditer(segment):
            out.append(re.escape(segment[pos : token.start()]))
            out.append("[^/]*" if token.group() == "*" else "[^/]+")
            pos = token.end()
        out.append(re.escape(segment[pos:]))
        parts.append("".join(out))
    return "".join(parts)


def glob_needle(glob: str) -> str | None:
    """The longest literal piece of a glob: a path it matches must contain it.

    Checking ``needle in path`` (a C-level substring search) before the regex rejects
    most rules that the prefix index could not set aside, e.g. ``/**/rest/x/...``.
    """
    chunks = glob.replace("/**", "\0").split("\0")  # "/**" may match nothing: it splits pieces
    pieces = [piece for chunk in chunks for piece in _GLOB_TOKEN.split(chunk)]
    longest = max(pieces, key=len, default="")
    return longest if len(longest) >= 3 else None


def _glob_literal_segments(glob: str) -> list[str]:
    """The leading segments of a glob that contain no wildcard."""
    segments = glob.split("/")[1:]
    literal: list[str] = []
    for segment in segments:
        if segment == "**" or _GLOB_TOKEN.search(segment):
            break
        literal.append(segment)
    return literal


def _top_level_alternation(pattern: str) -> bool:
    depth, pos, in_class = 0, 0, False
    while pos < len(pattern):
        char = pattern[pos]
        if char == "\\":
            pos += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return True
        pos += 1
    return False


def _regex_literal_prefix(pattern: str) -> str:
    """The text every path a regex fully matches must start with ("" when unsure)."""
    if pattern.startswith("(?") or _top_level_alternation(pattern):
        return ""  # inline flags or a|b at the top: no safe prefix
    pos = 1 if pattern.startswith("^") else 0
    out: list[str] = []
    while pos < len(pattern):
        char = pattern[pos]
        if char == "\\":
            nxt = pattern[pos + 1 : pos + 2]
            if not nxt or nxt.isalnum():
                break  # \d, \w, \1 ...: not a literal
            char, step = nxt, 2
        elif char in _REGEX_META:
            break
        else:
            step = 1
        if pattern[pos + step : pos + step + 1] in _QUANTIFIERS:
            break  # "a?" / "a*" make this character optional
        out.append(char)
        pos += step
    return "".join(out)


def index_key(rule: Rule) -> str:
    """The path prefix (up to INDEX_DEPTH whole segments) a rule's matches all share, or ""."""
    if rule.path is not None:
        segments = _glob_literal_segments(rule.path)
    elif rule.regex is not None:
        prefix = _regex_literal_prefix(rule.regex)
        # Only segments closed by a "/" are certain: "/rest/quick" could be /rest/quickreload.
        segments = prefix.split("/")[1:-1] if prefix.startswith("/") else []
    else:
        segments = []
    return "/" + "/".join(segments[:INDEX_DEPTH]) if segments else ""


def request_keys(path: str) -> tuple[str, str | None]:
    """The depth-1 and depth-2 index keys of a request path (``/rest``, ``/rest/quickreload``)."""
    i = path.find("/", 1)
    if i < 0:
        return path, None
    j = path.find("/", i + 1)
    return path[:i], (path[:j] if j >= 0 else path)


def parse_query(query: str) -> dict[str, list[str]]:
    return parse_qs(query, keep_blank_values=True) if query else {}


def query_ok(conditions: tuple[Condition, ...], params: Mapping[str, list[str]]) -> bool:
    for cond in conditions:
        values = params.get(cond.name)
        if cond.op == "present":
            if values is None:
                return False
        elif cond.op == "absent":
            if values is not None:
                return False
        elif values is None or cond.value not in values:
            return False
    return True


def headers_ok(conditions: tuple[Condition, ...], headers: Mapping[str, str]) -> bool:
    for cond in conditions:
        value = headers.get(cond.name)
        if cond.op == "present":
            if value is None:
                return False
        elif cond.op == "absent":
            if value is not None:
                return False
        # Header values such as "true" are tokens: compare without case or padding.
        elif value is None or value.strip().lower() != cond.value.lower():  # type: ignore[union-attr]
            return False
    return True


@dataclass(slots=True)
class CompiledRule:
    rule: Rule
    order: int
    decision: Decision
    # Bound ``fullmatch`` of the path regex; None = any path.
    match: Callable[[str], re.Match[str] | None] | None
    # Text every matching path contains (globs only), checked before ``match``.
    needle: str | None
    methods: frozenset[str] | None
    products: frozenset[str] | None
    query: tuple[Condition, ...]
    headers: tuple[Condition, ...]
    key: str

    @classmethod
    def build(cls, rule: Rule, order: int) -> CompiledRule:
        pattern = glob_to_regex(rule.path) if rule.path is not None else rule.regex
        return cls(
            rule=rule,
            order=order,
            decision=Decision(rule.verdict, rule.id),
            match=re.compile(pattern).fullmatch if pattern is not None else None,
            needle=glob_needle(rule.path) if rule.path is not None else None,
            methods=frozenset(rule.methods) or None,
            products=frozenset(rule.products) or None,
            query=rule.query,
            headers=rule.headers,
            key=index_key(rule),
        )

    def why_not(
        self,
        product_kind: str | None,
        product_name: str | None,
        method: str,
        path: str,
        params: Mapping[str, list[str]],
        headers: Mapping[str, str],
    ) -> str | None:
        """None when the rule matches, else the first reason it does not (for explain)."""
        if self.methods is not None and method not in self.methods:
            return f"method {method} is not {'/'.join(self.rule.methods)}"
        if (
            self.products is not None
            and product_kind is not None
            and product_kind not in self.products
            and product_name not in self.products
        ):
            return f"product {product_name or product_kind} is not {'/'.join(self.rule.products)}"
        if self.match is not None and self.match(path) is None:
            return f"{self.rule.pattern_text()} does not match"
        for cond in self.query:
            if not query_ok((cond,), params):
                return f"query condition {cond} is false"
        for cond in self.headers:
            if not headers_ok((cond,), headers):
                return f"header condition {cond} is false"
        return None

    def why(self) -> str:
        """Why the rule matched, for explain: its pattern and conditions, in words."""
        parts = [self.rule.pattern_text()]
        if self.rule.methods:
            parts.append(f"method {'/'.join(self.rule.methods)}")
        if self.rule.products:
            parts.append(f"product {'/'.join(self.rule.products)}")
        parts.extend(f"query {c}" for c in self.query)
        parts.extend(f"header {c}" for c in self.headers)
        return ", ".join(parts)
