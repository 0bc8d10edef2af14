"""The server-drawn charts: bars proportional to their values, stacked in order, titled for screen readers."""

from __future__ import annotations

import pytest

from parley.web.charts import HEIGHT, Series, bar_chart, nice_top


def test_axis_top_is_a_round_number_at_least_the_peak() -> None:
    assert [nice_top(v) for v in (0, 0.4, 1, 3, 7, 12, 480, 1000, 1001)] == [1, 1, 1, 5, 10, 20, 500, 1000, 2000]


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
