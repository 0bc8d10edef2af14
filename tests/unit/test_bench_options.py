"""The bench scripts' options: --quick fills in small sizes, an option given on the command line still wins."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


def bench_module(name: str) -> ModuleType:
    """A bench script imported as a module (they import each other by plain name from bench/)."""
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    return importlib.import_module(name)


def parse(script: str, argv: list[str]) -> argparse.Namespace:
    """The script's own argument parsing (each bench script with --quick has a `parse_args(argv)`)."""
    parse_args: Callable[[list[str]], argparse.Namespace] = bench_module(script).parse_args
    return parse_args(argv)


# Per script: options given explicitly with --quick, and the values they must keep.
EXPLICIT: dict[str, tuple[list[str], dict[str, object]]] = {
    "run": (
        ["--duration", "7", "--pairs", "50", "--recipients", "9", "--sockets", "123", "--delivery-rates", "40"],
        {"duration": 7.0, "pairs": 50, "recipients": 9, "sockets": 123, "delivery_rates": ["40"]},
    ),
    "cloud_api": (
        ["--online", "0", "--people", "30", "--businesses", "3", "--backlog", "5000", "--duration", "2"],
        {"online": 0, "people": 30, "businesses": 3, "backlog": 5000, "duration": 2.0},
    ),
    "billing_overhead": (
        ["--online", "0", "--contacts", "1", "--drain-timeout", "45"],
        {"online": 0, "contacts": 1, "drain_timeout": 45.0},
    ),
    "scale_out": (
        ["--rate", "77", "--duration", "9", "--users", "40"],
        {"rate": 77.0, "duration": 9.0, "users": 40},
    ),
    "e2ee_send": (
        ["--pairs", "7", "--duration", "3", "--rounds", "2"],
        {"pairs": 7, "duration": 3.0, "rounds": 2},
    ),  # e2ee
}


@pytest.mark.parametrize("script", sorted(EXPLICIT))
def test_explicit_options_survive_quick(script: str) -> None:
    argv, expected = EXPLICIT[script]
    for args in (parse(script, [*argv, "--quick"]), parse(script, ["--quick", *argv])):
        assert {k: getattr(args, k) for k in expected} == expected


@pytest.mark.parametrize("script", sorted(EXPLICIT))
def test_quick_still_shrinks_what_was_not_given(script: str) -> None:
    full, quick = parse(script, []), parse(script, ["--quick"])
    assert quick.duration < full.duration


def test_cloud_api_quick_sizes() -> None:
    args = parse("cloud_api", ["--quick"])
    assert (args.businesses, args.people, args.online, args.backlog) == (5, 200, 50, 1000)


def test_cloud_api_online_is_bounded_by_people() -> None:
    assert parse("cloud_api", ["--quick", "--people", "20"]).online == 20


def test_billing_overhead_keeps_its_own_defaults_under_quick() -> None:
    """billing_overhead lowers cloud_api's backlog to 0: --quick's min(backlog, 1000) must not raise it."""
    args = parse("billing_overhead", ["--quick"])
    assert (args.backlog, args.template_category, args.overload) == (0, "MARKETING", 0)
