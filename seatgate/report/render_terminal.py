"""The terminal summary: the figures a buyer asks for first, in a few lines."""

from __future__ import annotations

from typing import Any


def render(report: dict[str, Any]) -> str:
    users = report["users"]
    req = report["requests"]
    lines = report["lines"]
    out = [
        f"seatgate licence sizing — {report['product']}, {report['from']} → {report['to']} ({report['time_zone']})",
        f"  lines: {lines['read']:,} read, {lines['parsed']:,} parsed, {lines['unparseable']:,} unparseable",
        f"  users: {users['seen']:,} seen, {users['active']:,} with real activity; "
        f"registered {users['registered']:,} ({users['registered_from']}) → tier {users['current_tier']}",
        f"  background traffic: {req['background_share']:.1%} of {req['total']:,} requests",
        "",
        f"  {'inactivity':>10}  {'peak':>6}  {'peak at':<25}  {'p95':>5}  {'p99':>5}  {'tier':>6}  {'saved':>13}",
    ]
    for p in report["periods"]:
        saved = f"{p['seats_saved']:,} ({p['share_saved']:.0%})"
        out.append(
            f"  {p['inactivity']:>10}  {p['peak_seats']:>6,}  {p['peak_at'] or '-':<25}  {p['p95_minute_max']:>5,}"
            f"  {p['p99_minute_max']:>5,}  {p['tier_needed']:>6}  {saved:>13}"
        )
    if req["top_background_endpoints"]:
        out += ["", "  top background endpoints:"]
        out += [f"    {e['requests']:>9,}  {e['rule']}" for e in req["top_background_endpoints"][:5]]
    if users["service_account_candidates"]:
        out += ["", "  look like 24/7 service accounts (consider --exclude-users):"]
        out += [
            f"    {s['user']}: {s['hours_of_day']} hours of the day, {s['share_of_hours']:.0%} of hours"
            for s in users["service_account_candidates"]
        ]
    if lines["unparseable"]:
        out += ["", "  unparseable lines, e.g.:"] + [f"    {e[:120]}" for e in lines["unparseable_examples"][:3]]
    out += ["", f"  {report['tiers_note']}"]
    return "\n".join(out) + "\n"
