"""Bar charts drawn on the server as SVG (no script, no library in the page): the geometry here, the markup in
`templates/_chart.html`. Each bar carries a title, read on hover and by screen readers."""

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


def whole_number_top(value: float) -> float:
    """An axis top for counts, at least 2: its half, the middle tick, is a whole number too (4, not 5 and 2.5)."""
    if value <= 2:
        return 2.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 6, 8, 10):  # 1 only for an exact power of ten, at least 10 here
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def bar_chart(
    slots: Sequence[str],
    series: Sequence[Series],
    format_value: Callable[[float], str],
    *,
    stacked: bool = True,
    overlay: bool = False,
    axis_top: Callable[[float], float] = nice_top,
) -> Chart:
    """One slot per label (a day, a market …); the series stacked in each slot, side by side (`stacked=False`),
    or overlaid (`overlay=True`: each series on the axis, narrower and in front of the one before, e.g. a median
    in front of its p90). `axis_top` rounds the peak up to the axis's top (e.g. `whole_number_top` for counts)."""
    if stacked and overlay:
        raise ValueError("a chart is stacked or overlaid, not both")
    for s in series:
        if len(s.values) != len(slots):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(slots)} slots")
    totals = [sum(s.values[i] for s in series) for i in range(len(slots))]
    peak = max(totals if stacked else [v for s in series for v in s.values] or [0.0], default=0.0)
    top = axis_top(peak)
    plot_height = HEIGHT - _TOP - _BOTTOM
    baseline = HEIGHT - _BOTTOM
    slot = (WIDTH - _LEFT - _RIGHT) / max(len(slots), 1)
    scale = plot_height / top if top > 0 else 0.0
    bars: list[Bar] = []
    for i, label in enumerate(slots):
        start = _LEFT + i * slot + slot * 0.15
        width = slot * 0.7 if stacked or overlay else slot * 0.7 / max(len(series), 1)
        floor: float = baseline
        for j, s in enumerate(series):
            value = s.values[i]
            if value <= 0:
                continue
            height = value * scale
            x, bar_width = start if stacked else start + j * width, width
            if overlay:  # each series half as wide as the one behind it, centred on it
                bar_width = width / 2**j
                x = start + (width - bar_width) / 2
            y = floor - height if stacked else baseline - height
            bars.append(
                Bar(
                    round(x, 2),
                    round(y, 2),
                    round(bar_width, 2),
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
