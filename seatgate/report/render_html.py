"""The self-contained HTML report: inline SVG charts and CSS, no script, no external URL.

Opens offline in any browser and prints well; everything is escaped text.
"""

from __future__ import annotations

from html import escape
from typing import Any

from seatgate.report.chart import LineChart, line_chart
from seatgate.report.render_terminal import days_covered, no_data_lines

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1000px;color:#1c1e21}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.muted{color:#5f6368}table{border-collapse:collapse;margin:8px 0}
th,td{padding:4px 10px;border-bottom:1px solid #e3e5e8;text-align:right}th:first-child,td:first-child{text-align:left}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{border:1px solid #e3e5e8;border-radius:8px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:22px}svg text{font:11px system-ui,sans-serif;fill:#5f6368}
.heatmaps{display:flex;gap:18px;flex-wrap:wrap}code{font-size:12px;word-break:break-all}
"""


def render(report: dict[str, Any]) -> str:
    users, req, lines = report["users"], report["requests"], report["lines"]
    main = report["periods"][len(report["periods"]) // 2] if report["periods"] else None
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>seatgate licence sizing — {escape(report['product'])}</title><style>{CSS}</style></head><body>",
        f"<h1>Licence sizing — {escape(report['product'].capitalize())}</h1>",
        f"<p class='muted'>{escape(str(report['from']))} → {escape(str(report['to']))} ({escape(report['time_zone'])}),"
        f" {lines['parsed']:,} requests, rules: {escape(report['rules'])}</p>",
        f"<p>Days covered: {escape(days_covered(report['days_covered']))}.</p>",
        *(f"<p class='muted'>{escape(line.strip())}</p>" for line in no_data_lines(report["no_data"])),
        "<div class='cards'>",
        _card(
            "Registered users" + (" (at least)" if users["registered_is_lower_bound"] else ""),
            f"{users['registered']:,}",
            f"tier {users['current_tier']}",
        ),
        _card("Users with real activity", f"{users['active']:,}", f"of {users['seen']:,} seen"),
    ]
    if main is not None:
        parts += [
            _card(f"Peak seats ({main['inactivity']})", f"{main['peak_seats']:,}", f"tier {main['tier_needed']}"),
            _card("Saving", f"{main['tiers_saved']} tier{'s' if main['tiers_saved'] != 1 else ''}", main["saving"]),
        ]
    parts += [
        _card("Background traffic", f"{req['background_share']:.0%}", f"of {req['total']:,} requests"),
        "</div>",
        *(
            [f"<p><b>Registered users come from the logs:</b> {escape(users['registered_note'])}.</p>"]
            if users["registered_is_lower_bound"]
            else []
        ),
        "<h2>Concurrent seats over time</h2>",
        "<p class='muted'>Most seats held at once in each interval, per inactivity period;"
        " a break in a line is a stretch without log data, not zero seats.</p>",
        _svg_line_chart(line_chart(report)),
        "<h2>Per inactivity period</h2>",
        _periods_table(report["periods"]),
        f"<p class='muted'>{escape(report['percentile_note'])} Headroom: seats free under the registered"
        " count at the peak; seats freed inside a tier save nothing.</p>",
        "<h2>Peak seats by hour of the week</h2>",
        f"<p class='muted'>Hours in {escape(report['time_zone'])}.</p><div class='heatmaps'>",
        *(_svg_heatmap(p) for p in report["periods"]),
        "</div>",
        "<h2>Peak seats by day</h2>",
        _days_table(report["periods"]),
        "<h2>Background traffic</h2>",
        _table(["Rule", "Requests"], [[e["rule"], f"{e['requests']:,}"] for e in req["top_background_endpoints"]]),
    ]
    parts.append("<h2>Accounts that look 24/7</h2><p class='muted'>Candidates for <code>--exclude-users</code>.</p>")
    if users["service_account_candidates"]:
        parts.append(
            _table(
                ["User", "Hours of day", "Share of hours", "User agent"],
                [
                    [s["user"], str(s["hours_of_day"]), f"{s['share_of_hours']:.0%}", s["user_agent"]]
                    for s in users["service_account_candidates"]
                ],
            )
        )
    else:
        parts.append("<p>None found.</p>")
    parts += [
        "<h2>Input</h2>",
        f"<p>{lines['read']:,} lines read, {lines['parsed']:,} parsed, {lines['unparseable']:,} unparseable,"
        f" {lines['late_events']:,} seat events out of order by more than the reorder window.</p>",
    ]
    if lines["unparseable_examples"]:
        parts.append(
            "<ul>" + "".join(f"<li><code>{escape(e)}</code></li>" for e in lines["unparseable_examples"]) + "</ul>"
        )
    parts += [f"<p class='muted'>{escape(report['tiers_note'])}</p>", "</body></html>"]
    return "\n".join(parts)


def _card(title: str, value: str, note: str) -> str:
    return f"<div class='card'><span class='muted'>{escape(title)}</span><b>{escape(value)}</b>{escape(note)}</div>"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _periods_table(periods: list[dict[str, Any]]) -> str:
    rows = [
        [
            p["inactivity"],
            f"{p['peak_seats']:,}",
            str(p["peak_at"]),
            f"{p['p95_minute_max']:,}",
            f"{p['p99_minute_max']:,}",
            p["tier_needed"],
            p["saving"],
            f"{p['headroom_seats']:,}",
            f"{p['seats_taken']:,}",
        ]
        for p in periods
    ]
    header = ["Inactivity", "Peak", "Peak at", "p95/min", "p99/min", "Tier", "Saving", "Headroom", "Grants"]
    return _table(header, rows)


def _days_table(periods: list[dict[str, Any]]) -> str:
    days = [d["date"] for d in periods[0]["peak_by_day"]] if periods else []
    by_period = [{d["date"]: d["peak_seats"] for d in p["peak_by_day"]} for p in periods]
    rows = [[day] + [str(b.get(day, 0)) for b in by_period] for day in days]
    return _table(["Day"] + [p["inactivity"] for p in periods], rows)


def _svg_line_chart(chart: LineChart) -> str:
    out = [
        f"<svg class='chart seats-chart' role='img' aria-label='Concurrent seats over time'"
        f" viewBox='0 0 {chart.width} {chart.height + 24}' width='100%'>",
        f"<rect x='0' y='0' width='{chart.width}' height='{chart.height + 24}' fill='#fff'/>",
    ]
    for y, value in chart.y_ticks:
        out.append(
            f"<line x1='{chart.left}' x2='{chart.right}' y1='{y:.1f}' y2='{y:.1f}' stroke='#e3e5e8'/>"
            f"<text x='{chart.left - 6}' y='{y + 4:.1f}' text-anchor='end'>{value}</text>"
        )
    for x, label in chart.x_ticks:
        out.append(
            f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{chart.top}' y2='{chart.bottom}' stroke='#f1f3f5'/>"
            f"<text x='{x:.1f}' y='{chart.bottom + 16}' text-anchor='middle'>{escape(label)}</text>"
        )
    for s in chart.series:
        # One path per series, one subpath per run of data: no data is a gap in the line.
        d = " ".join("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in segment) for segment in s.segments)
        out.append(
            f"<path class='series' fill='none' stroke='{s.colour}' stroke-width='1.5' d='{d}'>"
            f"<title>{escape(s.label)}</title></path>"
        )
    for i, s in enumerate(chart.series):
        x = chart.left + i * 230
        y = chart.height + 14
        out.append(
            f"<rect x='{x}' y='{y - 9}' width='12' height='12' fill='{s.colour}'/>"
            f"<text x='{x + 18}' y='{y + 1}'>{escape(s.label)}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _svg_heatmap(period: dict[str, Any]) -> str:
    grid = period["peak_by_hour_of_week"]
    top = max([1] + [v for row in grid for v in row])
    cell, left, head = 12, 30, 28
    width, height = left + 24 * cell + 4, head + 7 * cell + 4
    out = [
        f"<svg class='chart heatmap' role='img' aria-label='Peak seats by hour of week, {escape(period['inactivity'])}'"
        f" viewBox='0 0 {width} {height}' width='{width}' height='{height}'>",
        f"<text x='{left}' y='11'>{escape(period['inactivity'])} inactivity (max {top})</text>",
    ]
    for hour in range(0, 24, 6):
        out.append(f"<text x='{left + hour * cell}' y='{head - 4}'>{hour:02d}</text>")
    for d, row in enumerate(grid):
        y = head + d * cell
        out.append(f"<text x='0' y='{y + 10}'>{DAYS[d]}</text>")
        for h, value in enumerate(row):
            shade = value / top
            colour = f"rgb({int(241 - 210 * shade)},{int(243 - 132 * shade)},{int(245 - 10 * shade)})"
            out.append(
                f"<rect class='cell' x='{left + h * cell}' y='{y}' width='{cell - 1}' height='{cell - 1}'"
                f" fill='{colour}'><title>{DAYS[d]} {h:02d}:00 — {value} seats</title></rect>"
            )
    out.append("</svg>")
    return "".join(out)
