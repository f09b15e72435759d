"""Small charts as inline SVG drawn on the server: the page needs no script (pure functions)."""

from __future__ import annotations

import math
from datetime import date, timedelta
from html import escape

# Dark enough on white for text and bars alike (WCAG contrast above 4.5:1).
INK = "#1b1b1b"
BAR = "#1d4f91"
STATUS_COLOURS = {"granted": "#1e6b3a", "pending": "#8a5a00", "expired": "#6b3fa0",
                  "revoked": "#a4262c"}
WIDTH = 640


def _svg(chart_id: str, title: str, summary: str, height: int, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
            f'viewBox="0 0 {WIDTH} {height}" role="img" '
            f'aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d">'
            f'<title id="{escape(chart_id)}-t">{escape(title)}</title>'
            f'<desc id="{escape(chart_id)}-d">{escape(summary)}</desc>'
            + "".join(body) + "</svg>")


def _summary(rows: list[tuple[str, int]]) -> str:
    return "; ".join(f"{label} : {value}" for label, value in rows) or "aucune donnée"


def bar_chart(chart_id: str, title: str, rows: list[tuple[str, int, str]]) -> str:
    """Draw horizontal bars, one per (label, value, colour), each value written beside it."""
    top, row_h, label_w = 8, 34, 150
    span = WIDTH - label_w - 70
    biggest = max([v for _, v, _ in rows] + [1])
    body: list[str] = []
    for i, (label, value, colour) in enumerate(rows):
        y = top + i * row_h
        length = 0 if value <= 0 else max(2, round(span * value / biggest))
        body.append(f'<text x="{label_w - 10}" y="{y + 18}" text-anchor="end" fill="{INK}" '
                    f'font-size="15">{escape(label)}</text>')
        body.append(f'<rect x="{label_w}" y="{y + 4}" width="{length}" height="20" '
                    f'fill="{escape(colour)}" rx="2"/>')
        body.append(f'<text x="{label_w + length + 8}" y="{y + 19}" fill="{INK}" '
                    f'font-size="15" font-weight="bold">{value}</text>')
    height = top * 2 + row_h * max(1, len(rows))
    return _svg(chart_id, title, _summary([(lbl, v) for lbl, v, _ in rows]), height, body)


def column_chart(chart_id: str, title: str, columns: list[tuple[str, int]]) -> str:
    """Draw vertical bars, one per (label, value), with the value above each bar."""
    top, plot_h, bottom = 24, 150, 48
    left = 12
    slot = (WIDTH - 2 * left) / max(1, len(columns))
    bar_w = max(6.0, slot * 0.6)
    biggest = max([v for _, v in columns] + [1])
    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{WIDTH - left}" y2="{top + plot_h}" '
            f'stroke="{INK}" stroke-width="1"/>']
    for i, (label, value) in enumerate(columns):
        x = left + i * slot + (slot - bar_w) / 2
        h = 0 if value <= 0 else max(2, round(plot_h * value / biggest))
        centre = x + bar_w / 2
        body.append(f'<rect x="{x:.1f}" y="{top + plot_h - h}" width="{bar_w:.1f}" '
                    f'height="{h}" fill="{BAR}" rx="2"/>')
        body.append(f'<text x="{centre:.1f}" y="{top + plot_h - h - 6}" text-anchor="middle" '
                    f'fill="{INK}" font-size="14" font-weight="bold">{value}</text>')
        body.append(f'<text x="{centre:.1f}" y="{top + plot_h + 18}" text-anchor="middle" '
                    f'fill="{INK}" font-size="12">{escape(label)}</text>')
    return _svg(chart_id, title, _summary(columns), top + plot_h + bottom, body)


def weeks(as_of: date, days: int) -> list[tuple[date, date]]:
    """Cut the `days` days from as_of on into weeks: (first day, last day), the last shorter."""
    out = []
    for i in range(math.ceil(days / 7)):
        first = as_of + timedelta(days=7 * i)
        last = min(first + timedelta(days=6), as_of + timedelta(days=days - 1))
        out.append((first, last))
    return out


def ends_per_week(as_of: date, last_days: list[date], days: int) -> list[tuple[str, int]]:
    """Count the accesses whose last day falls in each week from as_of on (R5, R8).

    The upcoming report lists the accesses whose index day (the day after the last one) is
    within `days` days after as_of: their last days run from as_of to as_of + days - 1.
    """
    out = []
    for first, last in weeks(as_of, days):
        count = sum(1 for d in last_days if first <= d <= last)
        out.append((first.strftime("%d/%m"), count))
    return out
