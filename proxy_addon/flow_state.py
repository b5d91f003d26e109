"""What the proxy knows about one flow, from its request hook to its response hook."""

from __future__ import annotations

from dataclasses import dataclass

from proxy_addon.credentials import Credentials
from proxy_addon.followups import FollowUp
from proxy_addon.grant_client import GrantOutcome
from proxy_addon.identify import Identity
from seatgate.settings import ProductSettings

META = "seatgate"  # the key of a FlowState in flow.metadata


@dataclass(slots=True)
class FlowState:
    product: ProductSettings
    verdict: str  # the rules' verdict: activity | passive | background | static
    creds: Credentials | None = None
    identity: Identity | None = None
    grant: GrantOutcome | None = None  # the grant this request waited for, if any
    claim_token: int | None = None  # ClaimGuard.begin() of a claim granted ahead
    answered: bool = False  # the proxy answered itself (waiting or busy page)
    followups: FollowUp = FollowUp.NONE  # what the async response hook has to do
    named: str | None = None  # X-AUSERNAME of upstream's answer
    login_reason: str | None = None  # X-Seraph-LoginReason of upstream's answer
