"""The terminal summary: the figures a buyer asks for first, in a few lines."""

from __future__ import annotations

from typing import Any

MAX_LISTED = 5  # days, stretches without data, endpoints, accounts listed in full


def render(report: dict[str, Any]) -> str:
    users = report["users"]
    req = report["requests"]
    lines = report["lines"]
    out = [
        f"seatgate licence sizing — {report['product']}, {report['from']} → {report['to']} ({report['time_zone']})",
        f"  days covered: {days_covered(report['days_covered'])}",
        *no_data_lines(report["no_data"]),
        f"  lines: {lines['read']:,} read, {lines['parsed']:,} parsed, {lines['unparseable']:,} unparseable",
        f"  users: {users['seen']:,} seen, {users['active']:,} with real activity",
        f"  registered users: {users['registered']:,} → tier {users['current_tier']}"
        + (f" ({users['registered_note']})" if users["registered_is_lower_bound"] else " (--registered)"),
        f"  background traffic: {req['background_share']:.1%} of {req['total']:,} requests",
        "",
        f"  {'inactivity':>10}  {'peak':>6}  {'peak at':<25}  {'p95':>5}  {'p99':>5}  {'tier':>6}  saving",
    ]
    for p in report["periods"]:
        out.append(
            f"  {p['inactivity']:>10}  {p['peak_seats']:>6,}  {p['peak_at'] or '-':<25}  {p['p95_minute_max']:>5,}"
            f"  {p['p99_minute_max']:>5,}  {p['tier_needed']:>6}  {p['saving']}; headroom {p['headroom_seats']:,} seats"
        )
    out.append(f"  {report['percentile_note']}")
    if req["top_background_endpoints"]:
        out += ["", "  top background endpoints:"]
        out += [f"    {e['requests']:>9,}  {e['rule']}" for e in req["top_background_endpoints"][:MAX_LISTED]]
    out += ["", "  accounts that look 24/7 (consider --exclude-users):"]
    out += [
        f"    {s['user']}: {s['hours_of_day']} hours of the day, {s['share_of_hours']:.0%} of hours"
        for s in users["service_account_candidates"]
    ] or ["    none found"]
    if lines["unparseable"]:
        out += ["", "  unparseable lines, e.g.:"] + [f"    {e[:120]}" for e in lines["unparseable_examples"][:3]]
    out += ["", f"  {report['tiers_note']}"]
    return "\n".join(out) + "\n"


def days_covered(days: list[str]) -> str:
    """``2015-11-12, 2015-11-24 (2 days)``, shortened to the first and last when long."""
    if not days:
        return "none"
    shown = ", ".join(days) if len(days) <= MAX_LISTED else f"{days[0]} … {days[-1]}"
    return f"{shown} ({len(days)} day{'s' if len(days) != 1 else ''} with log lines)"


def no_data_lines(no_data: list[dict[str, Any]]) -> list[str]:
    out = [f"  no data: {g['from']} → {g['to']} ({g['hours']:g} h without a log line)" for g in no_data[:MAX_LISTED]]
    if len(no_data) > MAX_LISTED:
        out.append(f"  … and {len(no_data) - MAX_LISTED} more stretches without data (see --json)")
    return out
