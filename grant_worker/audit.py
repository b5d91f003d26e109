"""Every grant, revoke and repair, appended to the product's audit stream.

A shadow product's would-be grants and revokes land in the same stream, marked
``mode=shadow`` and with their action prefixed ``would_`` (``would_grant:granted``,
``would_revoke``), so that no reader can take one for a change that was made.
"""

from __future__ import annotations

import time
from typing import Any

from seatgate.schema import AUDIT_MAXLEN, ProductKeys


def entry(action: str, user: str, reason: str, **extra: Any) -> dict[str, str]:
    fields = {"ts": f"{time.time():.3f}", "action": action, "user": user, "reason": reason}
    fields.update({k: str(v) for k, v in extra.items() if v is not None})
    return fields


def append(pipe: Any, keys: ProductKeys, action: str, user: str, reason: str, **extra: Any) -> None:
    """Queue the audit entry on a pipeline, so it lands together with the change it records."""
    if keys.shadow:
        action, extra = f"would_{action}", {**extra, "mode": "shadow"}
    pipe.xadd(keys.audit, entry(action, user, reason, **extra), maxlen=AUDIT_MAXLEN, approximate=True)
