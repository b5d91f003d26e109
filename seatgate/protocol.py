"""The messages between proxies and workers, defined once.

Two kinds travel through Redis (key names are in :mod:`seatgate.schema`):

- :class:`GrantRequest` — a stream entry on ``ProductKeys.grants``: a proxy asks for a
  grant (through the ``REQUEST_GRANT`` script) or for the rollback of one; an admin-API
  hold builds one too. Stream fields are flat strings.
- :class:`GrantEvent` — a JSON message on ``ProductKeys.events``: the worker's answer to a
  grant and every seat change, read by every proxy.

Both parse strictly: a malformed message raises :class:`ProtocolError` and is never half
applied.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# Stream entries kept per product (approximate trimming, as XADD MAXLEN ~).
GRANT_STREAM_MAXLEN = 100_000
# A rollback (upstream rejected the credentials a grant was made for) undoes only a grant
# this recent: an older licence was earned by real, confirmed activity. Proxies ask for
# rollbacks only within it; workers refuse them after it.
ROLLBACK_WINDOW = 60.0


class ProtocolError(ValueError):
    """A message that does not follow this protocol."""


class Event(StrEnum):
    """Types of :class:`GrantEvent`."""

    GRANTED = "granted"  # user is licensed (also: was already licensed)
    DENIED = "denied"  # no free seat; the user is queued
    EXCLUDED = "excluded"  # never managed by seatgate: forward as is
    FAILED = "failed"  # directory or validation failure
    REVOKING = "revoking"  # about to be revoked: proxies must stop treating as licensed
    REVOKED = "revoked"


# Events that end a proxy's wait for a grant.
FINAL_EVENTS = frozenset({Event.GRANTED, Event.DENIED, Event.EXCLUDED, Event.FAILED})


class Action(StrEnum):
    GRANT = "grant"
    ROLLBACK = "rollback"  # undo a recent grant whose credentials upstream then rejected


@dataclass(frozen=True, slots=True)
class GrantRequest:
    user: str
    request_id: str
    requested_at: float  # epoch seconds, when the proxy asked
    client: str = ""  # the client's address, for the audit and the abuse defence
    action: Action = Action.GRANT
    source: str = ""  # how the proxy knew the user (identify.Source, or "linked:<source>")
    confirmed: bool = False  # upstream vouched for the identity before
    reason: str = ""  # why a rollback is asked for

    def to_fields(self) -> dict[str, str]:
        fields = {
            "user": self.user,
            "request_id": self.request_id,
            "requested_at": f"{self.requested_at:.3f}",
            "client": self.client,
        }
        if self.action is Action.ROLLBACK:
            fields.update(action=Action.ROLLBACK.value, reason=self.reason)
        else:
            fields.update(source=self.source, confirmed="1" if self.confirmed else "0")
        return fields

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> GrantRequest:
        user = fields.get("user", "")
        if not isinstance(user, str) or not user:
            raise ProtocolError("grant request without a user")
        try:
            action = Action(fields.get("action", Action.GRANT.value))
        except ValueError:
            raise ProtocolError(f"unknown grant action {fields.get('action')!r}") from None
        confirmed = fields.get("confirmed", "0")
        if confirmed not in ("0", "1"):
            raise ProtocolError(f"confirmed must be 0 or 1, not {confirmed!r}")
        return cls(
            user=user,
            request_id=str(fields.get("request_id", "")),
            requested_at=_finite(fields.get("requested_at", "0"), "requested_at"),
            client=str(fields.get("client", "")),
            action=action,
            source=str(fields.get("source", "")),
            confirmed=confirmed == "1",
            reason=str(fields.get("reason", "")),
        )


@dataclass(frozen=True, slots=True)
class GrantEvent:
    type: Event
    user: str
    detail: str = ""
    request_id: str = ""  # the grant request this answers, if any
    position: int | None = None  # place in the seat queue (DENIED)
    retry_after: float | None = None  # seconds until a waiting page retries (DENIED)

    def to_json(self) -> str:
        doc: dict[str, Any] = {"type": self.type.value, "user": self.user, "detail": self.detail}
        if self.request_id:
            doc["request_id"] = self.request_id
        if self.position is not None:
            doc["position"] = self.position
        if self.retry_after is not None:
            doc["retry_after"] = self.retry_after
        return json.dumps(doc, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: str | bytes) -> GrantEvent:
        try:
            doc = json.loads(data)
        except (ValueError, TypeError):
            raise ProtocolError("event is not JSON") from None
        if not isinstance(doc, dict):
            raise ProtocolError("event is not a JSON object")
        user = doc.get("user")
        if not isinstance(user, str) or not user:
            raise ProtocolError("event without a user")
        try:
            kind = Event(str(doc.get("type")))
        except ValueError:
            raise ProtocolError(f"unknown event type {doc.get('type')!r}") from None
        position, retry_after = doc.get("position"), doc.get("retry_after")
        if position is not None and (not isinstance(position, int) or isinstance(position, bool)):
            raise ProtocolError("position must be an integer")
        if retry_after is not None:
            retry_after = _finite(retry_after, "retry_after")
        return cls(
            type=kind,
            user=user,
            detail=str(doc.get("detail") or ""),
            request_id=str(doc.get("request_id") or ""),
            position=position,
            retry_after=retry_after,
        )


def _finite(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise ProtocolError(f"{name} must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ProtocolError(f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise ProtocolError(f"{name} must be finite")
    return number
