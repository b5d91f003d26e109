"""Rules documents as text: TOML and YAML for admins (import/export), JSON for Redis.

All three hold the same document, ``{"format": 1, "defaults": {...}, "rules": [...]}``,
and go through the same validation (:func:`seatgate.rules.model.parse_ruleset`).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import tomli_w
import yaml

from seatgate.rules.model import RuleError, RuleSet, parse_ruleset

Format = Literal["toml", "yaml", "json"]
FORMATS: tuple[Format, ...] = ("toml", "yaml", "json")
_EXTENSIONS: dict[str, Format] = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}


def format_for(path: str | Path) -> Format:
    suffix = Path(path).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise RuleError(f"{Path(path).name}: unknown rules file type {suffix or '(none)'!r}; use .toml, .yaml or .json")
    return _EXTENSIONS[suffix]


def loads(text: str, fmt: Format, known_products: Iterable[str] | None = None) -> RuleSet:
    """Parse and validate a rules document; RuleError (one line) on any problem."""
    try:
        if fmt == "toml":
            data = tomllib.loads(text)
        elif fmt == "yaml":
            data = yaml.safe_load(text)
        elif fmt == "json":
            data = json.loads(text)
        else:
            raise RuleError(f"unknown rules format {fmt!r}; use one of {', '.join(FORMATS)}")
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"invalid TOML: {exc}") from None
    except yaml.YAMLError as exc:
        raise RuleError(f"invalid YAML: {' '.join(str(exc).split())}") from None
    except json.JSONDecodeError as exc:
        raise RuleError(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise RuleError(f"invalid {fmt.upper()}: lists or tables nested too deeply") from None
    return parse_ruleset(data, known_products)


def dumps(ruleset: RuleSet, fmt: Format) -> str:
    doc = ruleset.to_document()
    if fmt == "toml":
        return tomli_w.dumps(doc)
    if fmt == "yaml":
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)
    if fmt == "json":
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    raise RuleError(f"unknown rules format {fmt!r}; use one of {', '.join(FORMATS)}")


def load_ruleset_file(path: str | Path, known_products: Iterable[str] | None = None) -> RuleSet:
    """Read a TOML/YAML/JSON rules file (format from the extension)."""
    path = Path(path)
    fmt = format_for(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RuleError(f"{path}: no such file") from None
    except OSError as exc:
        raise RuleError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise RuleError(f"{path}: not UTF-8 text") from None
    try:
        return loads(text, fmt, known_products)
    except RuleError as exc:
        raise RuleError(f"{path.name}: {exc}") from None
