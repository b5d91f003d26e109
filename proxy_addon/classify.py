"""What kind of traffic a request is: the rules' verdict, and the parts of the request
that identification reads next (path without context path, query, the wanted headers)."""

from __future__ import annotations

from dataclasses import dataclass

from mitmproxy import http

from proxy_addon.headers import HeaderSet
from seatgate.rules import Classifier, RuleSet, strip_context_path
from seatgate.settings import ProductSettings

# Request headers the credentials and login forms are read from; the rules add theirs.
CREDENTIAL_HEADERS = frozenset({"cookie", "authorization", "content-type"})


@dataclass(slots=True)
class ClassifiedRequest:
    verdict: str  # activity | passive | background | static
    path: str  # without the product's context path
    query: str
    headers: dict[str, str]  # only the headers credentials and rules read, lower-cased names


class TrafficClassifier:
    """The current rules, and the one header scan they and the credentials need."""

    def __init__(self) -> None:
        self.classifier: Classifier | None = None
        self._headers = HeaderSet(CREDENTIAL_HEADERS)

    def use(self, classifier: Classifier) -> None:
        self._headers = HeaderSet(CREDENTIAL_HEADERS | classifier.header_names)
        self.classifier = classifier

    def use_rules(self, ruleset: RuleSet, products: list[ProductSettings]) -> None:
        """Classify with ``ruleset``; each product's ``default_verdict`` overrides the rule set's."""
        self.use(Classifier(ruleset, defaults={p.name: p.default_verdict for p in products}))

    def read_headers(self, request: http.Request) -> dict[str, str]:
        return self._headers.decoded(request.headers.fields)

    def classify(self, product: ProductSettings, request: http.Request) -> ClassifiedRequest:
        path, _, query = request.path.partition("?")
        if product.context_path:
            path = strip_context_path(path, product.context_path)
        headers = self.read_headers(request)
        assert self.classifier is not None, "classify() before use()"
        decision = self.classifier.classify(
            product_kind=product.kind,
            product_name=product.name,
            method=request.method,
            path=path,
            query=query,
            headers=headers,
        )
        return ClassifiedRequest(decision.verdict, path, query, headers)
