"""The server-drawn charts: bars proportional to their values, stacked in order, titled for screen readers."""

from __future__ import annotations

import pytest

from parley.web.charts import HEIGHT, Series, bar_chart, nice_top, whole_number_top


def test_axis_top_is_a_round_number_at_least_the_peak() -> None:
    assert [nice_top(v) for v in (0, 0.4, 1, 3, 7, 12, 480, 1000, 1001)] == [1, 1, 1, 5, 10, 20, 500, 1000, 2000]


def test_a_count_axis_never_shows_half_a_count() -> None:
    assert [whole_number_top(v) for v in (0, 1, 2, 3, 5, 9, 12, 45, 480, 1000)] == [
        2,
        2,
        2,
        4,
        6,
        10,
        20,
        60,
        600,
        1000,
    ]
    chart = bar_chart(
        ["a", "b"], [Series("Opened", "bar-opened", [3, 1])], lambda v: f"{v:g}", axis_top=whole_number_top
    )
    assert [t.label for t in chart.ticks] == ["0", "2", "4"]  # nice_top would have said 0, 2.5, 5


def test_side_by_side_and_overlaid_bars_stand_on_the_axis() -> None:
    series = [Series("p90", "bar-p90", [40, 0]), Series("Median", "bar-median", [10, 0])]
    beside = bar_chart(["a", "b"], series, str, stacked=False)
    p90, median = beside.bars  # the all-zero second slot draws nothing
    assert p90.width == median.width and median.x == pytest.approx(p90.x + p90.width)
    assert p90.y + p90.height == median.y + median.height == beside.baseline
    assert p90.height == pytest.approx(4 * median.height)
    # Overlaid: the median in front of its p90 (drawn after it), half as wide and centred on it.
    over = bar_chart(["a", "b"], series, str, stacked=False, overlay=True, axis_top=lambda peak: peak)
    p90, median = over.bars
    assert [b.css_class for b in over.bars] == ["bar-p90", "bar-median"]
    assert median.width == pytest.approx(p90.width / 2)
    assert median.x + median.width / 2 == pytest.approx(p90.x + p90.width / 2)
    assert p90.y == over.ticks[-1].y and over.ticks[-1].label == "40"  # the axis tops at the peak as asked
    assert median.y + median.height == pytest.approx(over.baseline)
    with pytest.raises(ValueError, match="stacked or overlaid"):
        bar_chart(["a"], series, str, overlay=True)


def test_stacked_bars_are_proportional_and_sit_on_each_other() -> None:
    chart = bar_chart(
        ["1 Mar", "2 Mar"],
        [Series("Marketing", "bar-marketing", [3, 0]), Series("Utility", "bar-utility", [1, 2])],
        lambda v: f"${v:g}",
    )
    assert not chart.empty
    first_day = [b for b in chart.bars if b.title.startswith("1 Mar")]
    marketing, utility = first_day
    assert marketing.title == "1 Mar: Marketing $3" and utility.title == "1 Mar: Utility $1"
    assert marketing.height == pytest.approx(3 * utility.height)
    assert marketing.y + marketing.height == chart.baseline  # the first series stands on the axis
    assert utility.y + utility.height == pytest.approx(marketing.y)  # the next on top of it
    # A zero draws nothing: the second day has only its utility bar.
    assert [b.title for b in chart.bars if b.title.startswith("2 Mar")] == ["2 Mar: Utility $2"]
    assert [t.label for t in chart.ticks] == ["$0", "$2.5", "$5"]
    assert chart.legend == [("Marketing", "bar-marketing"), ("Utility", "bar-utility")]


def test_all_zero_is_empty_and_mismatched_series_are_refused() -> None:
    assert bar_chart(["a"], [Series("x", "bar-primary", [0])], str).empty
    assert all(0 <= t.y <= HEIGHT for t in bar_chart(["a"], [Series("x", "bar-primary", [0])], str).ticks)
    with pytest.raises(ValueError, match="2 values for 1 slots"):
        bar_chart(["a"], [Series("x", "bar-primary", [1, 2])], str)
