"""Atlassian Data Center user tiers (Jira Software, Jira Service Management, Confluence).

The lowest Data Center tier is 500 users: a smaller user count still needs the
500-user tier. Above 10,000 the tiers step by 5,000 up to 50,000, and "50000+" is the
top band. Sources: Atlassian's Data Center pricing pages and Marketplace billing notes
("if you have Jira Data Center license for up to 500 users ... the 500-user tier").
The tiers above 10,000 are stated as an assumption: check the current price list.
"""

from __future__ import annotations

TIERS: tuple[int, ...] = (
    500, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000,
    15000, 20000, 25000, 30000, 35000, 40000, 45000, 50000,
)  # fmt: skip
TOP_TIER = "50000+"
ASSUMPTION = (
    "Atlassian Data Center user tiers assumed: 500, 1000, 2000-10000 in steps of 1000, "
    "15000-50000 in steps of 5000, then 50000+; the lowest tier is 500."
)


def tier_for(users: int) -> str:
    """The smallest tier that licenses ``users`` users (``"500"`` for 0..500)."""
    if users < 0:
        raise ValueError("users must not be negative")
    for tier in TIERS:
        if users <= tier:
            return str(tier)
    return TOP_TIER
