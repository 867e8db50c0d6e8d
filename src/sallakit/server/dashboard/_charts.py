"""Server-rendered SVG charts (pure: data in, markup out; no JavaScript, no chart library).

Charts are drawn left to right even on a right-to-left page (time runs that way on both), so
the SVG pins ``direction="ltr"``. Every text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["bar_chart"]

_PAD_LEFT = 44
_PAD_BOTTOM = 22
_PAD_TOP = 10


def _nice_max(value: float) -> float:
    """The smallest 1/2/5 x 10^n at or above ``value`` (at least 1)."""
    if value <= 1:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)  # pragma: no cover - the loop always returns


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    highlight: Sequence[float] | None = None,
    highlight_title: str = "",
    width: int = 640,
    height: int = 180,
    max_labels: int = 8,
) -> str:
    """A bar chart as an ``<svg>`` element.

    Args:
        labels: one label per bar (x axis; at most ``max_labels`` are printed).
        values: one value per bar.
        title: the accessible title (also the tooltip of the chart).
        highlight: a second series drawn over the bars (e.g. the 429s among the requests).
        highlight_title: its name, for the bars' tooltips.
        width: pixels.
        height: pixels.
        max_labels: x labels printed at most (evenly spaced).

    Raises:
        ValueError: ``labels``, ``values`` (and ``highlight``) differ in length.
    """
    if len(labels) != len(values) or (highlight is not None and len(highlight) != len(values)):
        raise ValueError("labels, values and highlight must have the same length")
    top = _nice_max(max([*values, *(highlight or [])], default=0))
    plot_w = width - _PAD_LEFT - 6
    plot_h = height - _PAD_TOP - _PAD_BOTTOM
    n = max(len(values), 1)
    slot = plot_w / n
    bar_w = max(slot * 0.8, 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" direction="ltr" '
        f'width="100%" viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet">',
        f"<title>{escape(title)}</title>",
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = _PAD_TOP + plot_h * (1 - fraction)
        parts.append(
            f'<line x1="{_PAD_LEFT}" y1="{y:.1f}" x2="{width - 6}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{_PAD_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" class="axis">'
            f"{top * fraction:g}</text>"
        )
    every = max(1, -(-len(labels) // max_labels))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = _PAD_LEFT + i * slot + (slot - bar_w) / 2
        h = plot_h * value / top
        tip = escape(f"{label}: {value:g}")
        parts.append(
            f'<rect x="{x:.1f}" y="{_PAD_TOP + plot_h - h:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}" class="bar"><title>{tip}</title></rect>'
        )
        if highlight is not None and highlight[i] > 0:
            hh = plot_h * highlight[i] / top
            htip = escape(f"{label}: {highlight[i]:g} {highlight_title}")
            parts.append(
                f'<rect x="{x:.1f}" y="{_PAD_TOP + plot_h - hh:.1f}" width="{bar_w:.1f}" '
                f'height="{hh:.1f}" class="bar-alt"><title>{htip}</title></rect>'
            )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - 6}" text-anchor="middle" '
                f'class="axis">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
