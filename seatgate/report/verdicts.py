"""The rules classifier behind a cache that is exact and fits log replay.

Classifying costs about 2 µs per request, more than parsing the line, and a log rarely
repeats a request exactly (``_=`` cache-busters, ``since=`` and ``etag=`` values), so a
cache keyed on the whole request would miss most of the time. The cache is keyed on
``(method, path)`` instead, and for each key it works out from the rules whether the
user agent (the only header a log line carries) or the query can matter: the candidate
rules that match the path, up to the first one that decides without query or header
conditions, tell whether they do (and whether only the presence of the query names
they look at does, for ``present``/``absent`` conditions). So the cache never changes a
verdict: it only avoids asking twice a question whose answer cannot differ.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

from seatgate.rules import Classifier, strip_context_path
from seatgate.rules.matcher import headers_ok

# Verdict codes used in the hot loop (list indexes are cheaper than string compares).
STATIC, BACKGROUND, ACTIVITY, PASSIVE = range(4)
VERDICT_NAMES = ("static", "background", "activity", "passive")
_CODE = {name: code for code, name in enumerate(VERDICT_NAMES)}
_MAX_KEYS = 300_000  # (method, path) keys; cleared when full: bounds memory on logs with millions of ids
_MAX_KEYS_PER_PATH = 10_000  # agents and queries of one Dependent; cleared when full too
_AGENT = "user-agent"
_VALUES = re.compile(r"=[^&]*")
_names_of = functools.partial(_VALUES.sub, "")  # "a=1&b=2" -> "a&b": the names, in order
_ENCODING = "%+&="  # characters that parse_qs decodes or splits on


class LineClass(NamedTuple):
    """How the report counts one distinct kind of log line: the rules' verdict, as a code,
    and the rule that gave it ("Verdict" alone is the rules' verdict, rules.model.Verdict)."""

    code: int
    rule_id: str | None
    slot: int  # index of this (code, rule_id) in CachedClassifier.verdicts: counters are lists


class Dependent:
    """Requests to one method and path whose verdict depends on the user agent, on the
    query, or on both.

    ``by_key.get(key(query, agent))`` is the verdict of a request, or None when no
    request with its key has been classified yet. The key keeps what the verdict can
    depend on: the agent, when a rule has a User-Agent condition; of the query, all of
    it when a rule compares a value (``equals``), else only which of the names the rules
    look at (``present``/``absent``) it has. A hot loop can do this lookup itself.
    """

    __slots__ = ("_needles", "_query_key", "by_key", "key")

    def __init__(self, on_agent: bool, query_names: Iterable[str] = (), names_only: bool = True):
        self.by_key: dict[object, LineClass] = {}
        # "&etag=" and "&etag&", to look for in "&" + query + "&" (see _presence).
        self._needles = tuple((f"&{n}=", f"&{n}&") for n in dict.fromkeys(query_names))
        self._query_key: Callable[[str, str], object] | None
        if not self._needles:
            self._query_key = None
        elif not names_only:
            self._query_key = self._whole_query
        elif all(n and not any(c in n for c in _ENCODING) for n in query_names):
            self._query_key = self._presence
        else:
            self._query_key = self._names
        if self._query_key is None:
            self.key = self._agent
        elif on_agent:
            self.key = self._agent_and_query
        else:
            self.key = self._query_key

    def _agent(self, query: str, agent: str) -> object:
        return agent

    def _agent_and_query(self, query: str, agent: str) -> object:
        return agent, self._query_key(query, agent)  # type: ignore[misc]

    def _whole_query(self, query: str, agent: str) -> object:
        return query

    def _names(self, query: str, agent: str) -> object:
        return _names_of(query)

    def _presence(self, query: str, agent: str) -> object:
        """Which of the names the query has, as the rules' parser (``parse_qs``) sees them.

        A name written as is (``etag=1``, ``&etag&``) is there. One not written as is is
        absent, unless the query has a "%" or a "+": then a parameter name could decode
        to it (``%65tag``), and the key is the names of the query as written, as exact.
        """
        hay = f"&{query}&"
        present = []  # a loop: a list comprehension would cost a function call here
        for equals, alone in self._needles:
            present.append(equals in hay or alone in hay)
        if not all(present) and ("%" in query or "+" in query):
            return _names_of(query)
        return tuple(present)


class CachedClassifier:
    """``verdict(method, path, query, user_agent) -> LineClass`` for one product.

    ``known`` is public so that a hot loop can try ``known.get((method, path))`` first:
    a :class:`LineClass` found there is final, a :class:`Dependent` is looked up with the
    query and the user agent, and anything else (or a request not looked up yet) means
    calling ``verdict``.
    """

    __slots__ = ("_possible", "_slots", "calls", "classifier", "context_path", "kind", "known", "name", "verdicts")

    def __init__(
        self, classifier: Classifier, product_kind: str, product_name: str | None = None, context_path: str = ""
    ):
        self.classifier = classifier
        # Stripped where the classifier is asked, never in the hot loop: ``known`` stays
        # keyed by the path as logged.
        self.context_path = context_path
        self.kind = product_kind
        self.name = product_name or product_kind
        self.known: dict[tuple[str, str], LineClass | Dependent] = {}
        self.verdicts: list[LineClass] = []  # one per distinct (code, rule_id), by slot
        self._slots: dict[tuple[int, str | None], LineClass] = {}
        self.calls = 0  # real classifier calls
        # Per rule (by order): whether it can match a log line at all. Conditions on a
        # header other than the User-Agent have one outcome for every line (absent).
        self._possible = [
            headers_ok(tuple(c for c in rule.headers if c.name != _AGENT), {}) for rule in classifier.compiled
        ]

    def verdict(self, method: str, path: str, query: str, user_agent: str) -> LineClass:
        key = (method, path)
        entry = self.known.get(key)
        if entry is None:
            entry = self._dependence(method, path)
            if entry is None:  # neither the query nor the user agent can change the verdict
                entry = self._classify(method, path, query, user_agent)
            if len(self.known) >= _MAX_KEYS:
                self.known.clear()
            self.known[key] = entry
        if isinstance(entry, LineClass):
            return entry
        request_key = entry.key(query, user_agent)
        found = entry.by_key.get(request_key)
        if found is None:
            found = self._classify(method, path, query, user_agent)
            if len(entry.by_key) >= _MAX_KEYS_PER_PATH:
                entry.by_key.clear()
            entry.by_key[request_key] = found
        return found

    def _dependence(self, method: str, path: str) -> Dependent | None:
        """What besides the method and the path can decide: the candidate rules that
        match them, up to the first without query or header conditions, tell."""
        path = strip_context_path(path, self.context_path)
        on_agent = False
        names: list[str] = []  # of the query conditions
        names_only = True
        possible = self._possible
        for rule in self.classifier.candidates(path):
            if not possible[rule.order]:
                continue
            if rule.methods is not None and method not in rule.methods:
                continue
            if rule.products is not None and self.kind not in rule.products and self.name not in rule.products:
                continue
            if rule.match is not None and rule.match(path) is None:
                continue
            if not rule.query and not rule.headers:
                break  # this rule, or one before it, decides whatever the query and the agent
            on_agent = on_agent or any(c.name == _AGENT for c in rule.headers)
            names += (c.name for c in rule.query)
            names_only = names_only and all(c.op != "equals" for c in rule.query)
        return Dependent(on_agent, names, names_only) if on_agent or names else None

    def _classify(self, method: str, path: str, query: str, user_agent: str) -> LineClass:
        self.calls += 1
        path = strip_context_path(path, self.context_path)
        decision = self.classifier.classify(
            product_kind=self.kind,
            product_name=self.name,
            method=method,
            path=path,
            query=query,
            headers={_AGENT: user_agent} if user_agent else {},
        )
        key = (_CODE[decision.verdict], decision.rule_id)
        verdict = self._slots.get(key)
        if verdict is None:
            verdict = self._slots[key] = LineClass(key[0], key[1], len(self.verdicts))
            self.verdicts.append(verdict)
        return verdict
