"""Server-rendered SVG for the operators' pages: no JavaScript, no CDN, nothing to download."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

__all__ = ["STATE_COLOURS", "line_chart", "timeline_chart"]

#: The arrival calendar's and the timeline's colours (also used by the templates' legend).
STATE_COLOURS = {
    "on_time": "#2da44e",
    "late": "#d4a72c",
    "landed": "#8fd19e",
    "failed": "#cf222e",
    "layout_mismatch": "#8250df",
    "missing": "#57606a",
    "pending": "#54aeff",
    "not_due": "#eaeef2",
    "done": "#8c959f",
    "waiting": "#eaeef2",
    "success": "#2da44e",
    "running": "#54aeff",
    "queued": "#9ec5fe",
    "upstream_failed": "#fa7a7a",
    "skipped": "#d0d7de",
    "succeeded": "#2da44e",
    "unchanged": "#8fd19e",
    "expired": "#cf222e",
}


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}".replace(",", " ")
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def line_chart(
    points: Sequence[tuple[str, float]],
    *,
    width: int = 860,
    height: int = 280,
    label: str = "",
    unit: str | None = None,
) -> Markup:
    """An SVG line chart of ``(x label, value)`` points in order (x evenly spaced)."""
    if not points:
        return Markup(
            f'<svg class="chart" width="{width}" height="60" role="img">'
            '<text x="10" y="35" fill="#57606a">no values to draw</text></svg>'
        )
    left, right, top, bottom = 70, 20, 20, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, v in points]
    low, high = min(values), max(values)
    if low == high:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.05
    low, high = low - pad, high + pad
    n = len(points)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - low) / (high - low))

    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fbfcfd" '
        'stroke="#d0d7de"/>',
    ]
    for k in range(5):
        v = low + (high - low) * k / 4
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            'stroke="#eaeef2"/>'
            f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#57606a">{_fmt(v)}</text>'
        )
    ticks = sorted({0, n - 1, *(round((n - 1) * k / 5) for k in range(1, 5))})
    for i in ticks:
        parts.append(
            f'<text x="{x(i):.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11" '
            f'fill="#57606a">{escape(points[i][0][:16])}</text>'
        )
    path = " ".join(f"{'M' if i == 0 else 'L'}{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    parts.append(f'<path d="{path}" fill="none" stroke="#0969da" stroke-width="2"/>')
    if n <= 120:
        suffix = f" {escape(unit)}" if unit else ""
        for i, (t, v) in enumerate(points):
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="#0969da">'
                f"<title>{escape(t)}: {_fmt(v)}{suffix}</title></circle>"
            )
    caption = f"{label}{f' ({unit})' if unit else ''}"
    parts.append(
        f'<text x="{left}" y="{height - 6}" font-size="12" fill="#1b1f23">{escape(caption)}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def timeline_chart(steps: Sequence[dict[str, Any]], *, width: int = 860) -> Markup:
    """A Gantt chart of a run's steps (``name``, ``start_epoch``, ``end_epoch``, ``state``)."""
    timed = [s for s in steps if s.get("start_epoch") is not None]
    row_h, left, right, top = 26, 150, 90, 10
    height = top + row_h * len(steps) + 24
    if not timed:
        return Markup(
            f'<svg class="chart" width="{width}" height="40" role="img">'
            '<text x="10" y="25" fill="#57606a">no timed step yet</text></svg>'
        )
    t0 = min(s["start_epoch"] for s in timed)
    t1 = max(s.get("end_epoch") or s["start_epoch"] for s in timed)
    span = max(t1 - t0, 1e-3)
    plot_w = width - left - right
    parts = [
        f'<svg class="chart timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="run timeline">'
    ]
    for index, step in enumerate(steps):
        y = top + index * row_h
        parts.append(
            f'<text x="{left - 8}" y="{y + 17}" text-anchor="end" font-size="12">'
            f"{escape(step['name'])}</text>"
        )
        if step.get("start_epoch") is None:
            parts.append(
                f'<text x="{left}" y="{y + 17}" font-size="11" fill="#57606a">'
                f"{escape(step['state'])}</text>"
            )
            continue
        start = step["start_epoch"]
        end = step.get("end_epoch") or start
        bx = left + plot_w * (start - t0) / span
        bw = max(plot_w * (end - start) / span, 3)
        colour = STATE_COLOURS.get(step["state"], "#afb8c1")
        duration = step.get("duration_s")
        text = f"{duration:.1f} s" if duration is not None else escape(step["state"])
        parts.append(
            f'<rect x="{bx:.1f}" y="{y + 4}" width="{bw:.1f}" height="{row_h - 8}" rx="3" '
            f'fill="{colour}"><title>{escape(step["name"])}: {escape(step["state"])}, '
            f"{escape(step.get('start') or '')} → {escape(step.get('end') or '')}</title></rect>"
            f'<text x="{min(bx + bw + 4, width - right + 4):.1f}" y="{y + 17}" font-size="11" '
            f'fill="#57606a">{text}</text>'
        )
    parts.append(
        f'<text x="{left}" y="{height - 6}" font-size="11" fill="#57606a">0 s</text>'
        f'<text x="{left + plot_w}" y="{height - 6}" font-size="11" text-anchor="end" '
        f'fill="#57606a">{span:.1f} s</text></svg>'
    )
    return Markup("".join(parts))
