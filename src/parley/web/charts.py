"""Bar charts drawn on the server as SVG (no script, no library in the page): the geometry here, the markup in
`templates/console/_chart.html`. Each bar carries a title, read on hover and by screen readers."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# In the SVG's own units; the CSS scales the picture to the page's width.
WIDTH = 720
HEIGHT = 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 84, 8, 12, 28
_MAX_X_LABELS = 10


@dataclass(frozen=True)
class Series:
    """One kind of value across the slots, coloured by its CSS class (e.g. "bar-marketing")."""

    name: str
    css_class: str
    values: Sequence[float]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css_class: str
    title: str


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class XLabel:
    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: float
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    x_labels: list[XLabel]
    legend: list[tuple[str, str]]  # (name, css class)
    empty: bool  # every value is zero: the page says so instead of drawing a flat line


def nice_top(value: float) -> float:
    """The axis top: 1, 2 or 5 times a power of ten, at least `value` (and at least 1)."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def bar_chart(
    slots: Sequence[str], series: Sequence[Series], format_value: Callable[[float], str], *, stacked: bool = True
) -> Chart:
    """One slot per label (a day, a market …); the series stacked in each slot, or side by side."""
    for s in series:
        if len(s.values) != len(slots):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(slots)} slots")
    totals = [sum(s.values[i] for s in series) for i in range(len(slots))]
    peak = max(totals if stacked else [v for s in series for v in s.values] or [0.0], default=0.0)
    top = nice_top(peak)
    plot_height = HEIGHT - _TOP - _BOTTOM
    baseline = HEIGHT - _BOTTOM
    slot = (WIDTH - _LEFT - _RIGHT) / max(len(slots), 1)
    scale = plot_height / top
    bars: list[Bar] = []
    for i, label in enumerate(slots):
        start = _LEFT + i * slot + slot * 0.15
        width = slot * 0.7 if stacked else slot * 0.7 / max(len(series), 1)
        floor: float = baseline
        for j, s in enumerate(series):
            value = s.values[i]
            if value <= 0:
                continue
            height = value * scale
            x = start if stacked else start + j * width
            y = floor - height if stacked else baseline - height
            bars.append(
                Bar(
                    round(x, 2),
                    round(y, 2),
                    round(width, 2),
                    round(height, 2),
                    s.css_class,
                    f"{label}: {s.name} {format_value(value)}",
                )
            )
            if stacked:
                floor -= height
    ticks = [Tick(round(baseline - f * plot_height, 2), format_value(f * top)) for f in (0, 0.5, 1)]
    every = max(math.ceil(len(slots) / _MAX_X_LABELS), 1)
    x_labels = [XLabel(round(_LEFT + (i + 0.5) * slot, 2), label) for i, label in enumerate(slots) if i % every == 0]
    return Chart(
        WIDTH,
        HEIGHT,
        _LEFT,
        WIDTH - _RIGHT,
        baseline,
        bars,
        ticks,
        x_labels,
        [(s.name, s.css_class) for s in series],
        empty=peak <= 0,
    )
