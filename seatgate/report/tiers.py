"""Atlassian Data Center user tiers (Jira Software, Jira Service Management, Confluence).

A Data Center licence is bought in user tiers: the tier that covers the user count is
paid in full, so a saving is real only when it moves the count into a lower tier; seats
freed inside a tier are headroom, not money. The lowest tier is 500 users (a smaller
count still needs it), and a tier upgrade moves from one tier to the next (500 → 1,000).

Public sources checked:
- 500-user lowest tier, tiers matched across products:
  https://tools4teams.atlassian.net/wiki/x/CYDTgQ ("if you have Jira Data Center license
  for up to 500 users ... you'll be billed according to the 500-user tier");
- the bands 500, 1,000, 2,000, 3,000 … 10,000 users (list prices per band):
  https://issueinsiders.com/jira-licensing-an-in-depth-guide/ ;
- banded pricing, "the price jumps at each tier boundary":
  https://atonementlicensing.com/blog/atlassian-data-center-pricing/ .
The steps of 1,000 between 3,000 and 10,000 and the tiers above 10,000 (steps of 5,000 to
50,000, then "50000+") were not found in a public source: they stay an assumption, said
so in every report (ASSUMPTION). Check the current price list before buying.
"""

from __future__ import annotations

TIERS: tuple[int, ...] = (
    500, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000,
    15000, 20000, 25000, 30000, 35000, 40000, 45000, 50000,
)  # fmt: skip
TOP_TIER = "50000+"
ASSUMPTION = (
    "Atlassian Data Center user tiers assumed: 500, 1000, 2000-10000 in steps of 1000, "
    "15000-50000 in steps of 5000, then 50000+; the lowest tier is 500. "
    "The tiers from 4000 on are not confirmed by a public price list: check the current one."
)


def tier_index(users: int) -> int:
    """Position of the smallest tier that licenses ``users`` (len(TIERS) for the top band)."""
    if users < 0:
        raise ValueError("users must not be negative")
    for i, tier in enumerate(TIERS):
        if users <= tier:
            return i
    return len(TIERS)


def tier_for(users: int) -> str:
    """The smallest tier that licenses ``users`` users (``"500"`` for 0..500)."""
    i = tier_index(users)
    return str(TIERS[i]) if i < len(TIERS) else TOP_TIER
