"""Command-line helpers shared by the bench scripts: --quick's sizes as defaults that explicit options override."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any


def parse_with_quick(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    quick: Callable[[argparse.ArgumentParser], dict[str, Any]],
) -> argparse.Namespace:
    """Parse argv; with --quick, `quick(parser)` becomes the defaults first, so an option given on the command
    line still wins over the smoke run's value (`--quick --online 0` runs with nobody online).

    `quick` gets the parser so that it can derive a value from the current default (a script that builds on
    another's parser may have lowered it with set_defaults, e.g. `min(parser.get_default("backlog"), 1000)`).
    """
    known, _ = parser.parse_known_args(argv)
    if getattr(known, "quick", False):
        parser.set_defaults(**quick(parser))
    return parser.parse_args(argv)
