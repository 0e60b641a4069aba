"""SVG charts drawn on the server: readable without colour, without script, under the CSP.

Each chart is an `<svg role="img">` with a title and a description for screen readers,
text labels on every bar and value, and patterns (hatching) besides shades, so nothing
depends on seeing colour. Only presentation attributes are used (no style attribute), which
the pages' Content Security Policy does not govern. Every text is escaped.

- `bars`: horizontal bars, one per labelled value; negative values go left of the axis
  (weights in bits, counts).
- `histogram`: vertical bars over bins, with a marked threshold.
- `waterfall`: steps from a start value through signed contributions to a total (a match
  weight explained comparison by comparison, as Splink's waterfall chart does).

Each page shows the same numbers in a table next to the chart: the chart is a view of it.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

_INK, _MUTED, _LIGHT = "#1b1f24", "#4a5560", "#c9d3dd"
_PATTERNS = (
    '<defs><pattern id="{id}-up" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#9ec5ea"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#0b3d6e" stroke-width="2"/></pattern>'
    '<pattern id="{id}-down" width="6" height="6" patternUnits="userSpaceOnUse">'
    '<rect width="6" height="6" fill="#f2c4b8"/>'
    '<circle cx="3" cy="3" r="1.2" fill="#7a1d0e"/></pattern></defs>'
)


@dataclass(frozen=True, slots=True)
class Bar:
    """One labelled value; `note` is written after the value (e.g. "m 0.95, u 0.01")."""

    label: str
    value: float
    note: str = ""


def _svg(chart_id: str, width: int, height: int, title: str, description: str, body: str) -> Markup:
    chart_id = str(escape(chart_id))
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>'
    )
    # Every text above and in `body` went through escape(); the rest is our own markup.
    return Markup(head + _PATTERNS.format(id=chart_id) + body + "</svg>")  # noqa: S704


def _text(x: float, y: float, text: str, *, anchor: str = "start", bold: bool = False) -> str:
    weight = ' font-weight="700"' if bold else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="13" '
        f'font-family="system-ui, sans-serif" fill="{_INK}"{weight}>{escape(text)}</text>'
    )


def _fmt(value: float, digits: int) -> str:
    text = f"{value:+.{digits}f}" if digits else f"{value:+,.0f}"
    return text.replace("-", "\u2212")


def bars(
    chart_id: str,
    items: Sequence[Bar],
    *,
    title: str,
    description: str,
    digits: int = 1,
    signed: bool = True,
    label_width: int = 220,
) -> Markup:
    """Horizontal bars with their values written out; negative ones left of a zero axis."""
    row, plot = 26, 360
    width, height = label_width + plot + 190, row * len(items) + 16
    low = min([0.0, *(item.value for item in items)])
    high = max([0.0, *(item.value for item in items)])
    span = (high - low) or 1.0
    zero = label_width + plot * (-low / span)
    parts = [f'<line x1="{zero:.1f}" y1="4" x2="{zero:.1f}" y2="{height - 4}" stroke="{_INK}"/>']
    for index, item in enumerate(items):
        top = 8 + index * row
        start = label_width + plot * ((min(item.value, 0.0) - low) / span)
        size = max(plot * abs(item.value) / span, 1.0)
        fill = f"url(#{escape(chart_id)}-{'up' if item.value >= 0 else 'down'})"
        value = _fmt(item.value, digits) if signed else f"{item.value:,.{digits}f}"
        parts += [
            _text(label_width - 8, top + 15, item.label, anchor="end"),
            f'<rect x="{start:.1f}" y="{top}" width="{size:.1f}" height="{row - 8}" '
            f'fill="{fill}" stroke="{_INK}"/>',
            _text(label_width + plot + 8, top + 15, f"{value} {item.note}".strip()),
        ]
    return _svg(chart_id, width, height, title, description, "".join(parts))


def histogram(
    chart_id: str,
    counts: Sequence[int],
    edges: Sequence[float],
    *,
    title: str,
    description: str,
    marker: float | None = None,
    marker_label: str = "",
    axis_label: str = "",
    digits: int = 1,
) -> Markup:
    """Vertical bars of `counts` over bins [edges[i], edges[i+1]); a line at `marker`."""
    left, bottom, plot_w, plot_h = 56, 50, 640, 220
    width, height = left + plot_w + 24, plot_h + bottom + 30
    most = max([1, *counts])
    lo, hi = edges[0], edges[-1]
    span = (hi - lo) or 1.0

    def x(value: float) -> float:
        return left + plot_w * (value - lo) / span

    parts = [
        f'<line x1="{left}" y1="{20 + plot_h}" x2="{left + plot_w}" y2="{20 + plot_h}" '
        f'stroke="{_INK}"/>',
        f'<line x1="{left}" y1="20" x2="{left}" y2="{20 + plot_h}" stroke="{_INK}"/>',
        _text(left - 6, 28, f"{most:,}", anchor="end"),
        _text(left - 6, 20 + plot_h, "0", anchor="end"),
    ]
    for count, start, stop in zip(counts, edges[:-1], edges[1:], strict=True):
        tall = plot_h * count / most
        parts.append(
            f'<rect x="{x(start) + 1:.1f}" y="{20 + plot_h - tall:.1f}" '
            f'width="{max(x(stop) - x(start) - 2, 1):.1f}" height="{tall:.1f}" '
            f'fill="url(#{escape(chart_id)}-up)" stroke="{_INK}"/>'
        )
        if count:
            parts.append(
                _text((x(start) + x(stop)) / 2, 16 + plot_h - tall, f"{count:,}", anchor="middle")
            )
    for tick in (lo, (lo + hi) / 2, hi):
        parts.append(_text(x(tick), 38 + plot_h, f"{tick:.{digits}f}", anchor="middle"))
    if axis_label:
        parts.append(_text(left + plot_w / 2, 62 + plot_h, axis_label, anchor="middle"))
    if marker is not None and lo <= marker <= hi:
        parts += [
            f'<line x1="{x(marker):.1f}" y1="12" x2="{x(marker):.1f}" y2="{20 + plot_h}" '
            f'stroke="{_INK}" stroke-width="3" stroke-dasharray="8 4"/>',
            _text(x(marker) + 6, 14, marker_label, bold=True),
        ]
    return _svg(chart_id, width, height, title, description, "".join(parts))


def waterfall(
    chart_id: str,
    start: Bar,
    steps: Sequence[Bar],
    total_label: str,
    *,
    title: str,
    description: str,
    label_width: int = 240,
) -> Markup:
    """Bars from `start` through each step (signed) to the running total at the end."""
    row, plot = 28, 380
    levels = [start.value]
    for step in steps:
        levels.append(levels[-1] + step.value)
    total = levels[-1]
    low, high = min([0.0, *levels]), max([0.0, *levels])
    span = (high - low) or 1.0
    width, height = label_width + plot + 380, row * (len(steps) + 2) + 16  # notes: a level each

    def x(value: float) -> float:
        return label_width + plot * (value - low) / span

    parts = [f'<line x1="{x(0):.1f}" y1="4" x2="{x(0):.1f}" y2="{height - 4}" stroke="{_MUTED}"/>']
    rows = [
        (start, 0.0, start.value),
        *((s, levels[i], levels[i + 1]) for i, s in enumerate(steps)),
    ]
    rows.append((Bar(total_label, total), 0.0, total))
    for index, (item, begin, end) in enumerate(rows):
        top = 8 + index * row
        kind = "up" if end >= begin else "down"
        left_edge, size = min(x(begin), x(end)), max(abs(x(end) - x(begin)), 1.5)
        bold = index in (0, len(rows) - 1)
        fill = _LIGHT if bold else f"url(#{escape(chart_id)}-{kind})"
        parts += [
            _text(label_width - 8, top + 16, item.label, anchor="end", bold=bold),
            f'<rect x="{left_edge:.1f}" y="{top}" width="{size:.1f}" height="{row - 8}" '
            f'fill="{fill}" stroke="{_INK}"/>',
            _text(
                label_width + plot + 8,
                top + 16,
                f"{_fmt(end if bold else item.value, 1)} {item.note}".strip(),
                bold=bold,
            ),
        ]
    return _svg(chart_id, width, height, title, description, "".join(parts))
