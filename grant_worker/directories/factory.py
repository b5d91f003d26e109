"""Choose and build the directory a product's ``directory`` setting asks for."""

from __future__ import annotations

from seatgate import logs
from seatgate.settings import ProductSettings, WorkerSettings

from .base import Directory
from .breaker import CircuitBreaker
from .confluence import ConfluenceJsonRpcDirectory, ConfluenceRestDirectory
from .crowd import CrowdDirectory
from .errors import DirectoryError
from .jira import JiraDirectory
from .transport import Observer

DIRECTORIES: dict[str, type[Directory]] = {
    cls.name: cls for cls in (JiraDirectory, ConfluenceRestDirectory, ConfluenceJsonRpcDirectory, CrowdDirectory)
}
# Which product each directory can serve (Crowd serves both).
_FITS = {"jira": {"jira"}, "confluence-rest": {"confluence"}, "confluence-jsonrpc": {"confluence"}}

_log = logs.get("seatgate.directory")


async def make_directory(
    product: ProductSettings,
    worker: WorkerSettings,
    observer: Observer | None = None,
    *,
    breaker: CircuitBreaker | None = None,
) -> Directory:
    """The product's directory, with ``auto`` resolved by probing the upstream.

    Raises :class:`DirectoryError` (one line, naming the upstream) when the upstream cannot
    be reached or the setting does not fit the product.
    """
    kind = product.directory
    if kind != "auto" and product.kind not in _FITS.get(kind, {product.kind}):
        fitting = ", ".join(sorted(k for k, kinds in _FITS.items() if product.kind in kinds))
        raise DirectoryError(
            f"directory = {kind!r} cannot serve a {product.kind} product: use auto, crowd or {fitting}"
        )
    if kind == "auto" and product.kind == "confluence":
        directory: Directory = await _probe_confluence(product, worker, observer, breaker)
    else:
        directory = DIRECTORIES["jira" if kind == "auto" else kind](product, worker, observer, breaker=breaker)
        try:
            await _ping(directory)
        except BaseException:
            await directory.close()
            raise
    _log.info("directory_selected", product=product.name, directory=directory.name, setting=kind)
    return directory


async def _ping(directory: Directory) -> None:
    """Fail now, with a clear line, if an upstream does not answer at all (any status will do)."""
    for endpoint in dict.fromkeys((directory.admin, directory.directory)):
        try:
            await directory._call("ping", "GET", endpoint, "/status")
        except DirectoryError as exc:
            if exc.status is None:  # no HTTP answer at all; a 5xx still proves it is there
                raise DirectoryError(f"{endpoint.label} is unreachable: {exc}") from exc


async def _probe_confluence(
    product: ProductSettings,
    worker: WorkerSettings,
    observer: Observer | None,
    breaker: CircuitBreaker | None,
) -> Directory:
    rest = ConfluenceRestDirectory(product, worker, observer, breaker=breaker)
    try:
        has_rest = await rest.supports_rest_writes()
    except DirectoryError as exc:
        await rest.close()
        if exc.status is None:
            raise DirectoryError(f"{rest.admin.label} is unreachable: {exc}") from exc
        raise DirectoryError(f"directory = 'auto' could not tell the Confluence API generation: {exc}") from exc
    except BaseException:
        await rest.close()
        raise
    if has_rest:
        return rest
    await rest.close()
    # The same breaker: failures seen while probing count against the same upstream.
    return ConfluenceJsonRpcDirectory(product, worker, observer, breaker=rest.breaker)
