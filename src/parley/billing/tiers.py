"""Monthly volume tiers: graduated bands of charged messages per business, market and category, each with a discount.

Meta tiers utility and authentication messages by the month's count of charged messages per business, market
and category (each band at its own rate; the count resets monthly at 00:00 in the business's time zone);
marketing is one band, 0:MAX. Counting is the caller's job; this module only says which band the nth is in.
"""

from __future__ import annotations

import bisect
import csv
import functools
import io
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

from parley.kit.errors import InvalidInputError
from parley.kit.money import BPS

_REQUIRED_COLUMNS = ("category", "from", "to", "discount_bps")
_TIERED_CATEGORIES = frozenset({"marketing", "utility", "authentication", "authentication_international"})


class VolumeTiersError(InvalidInputError, ValueError):
    """A volume-tier table that cannot be used; `line` points into the CSV."""

    code = "invalid_volume_tiers"

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message, line=line)
        self.line = line


@dataclass(frozen=True)
class Band:
    """Charged messages `lower`..`upper` of a month (1-based, inclusive; upper None = no limit)."""

    lower: int
    upper: int | None
    discount_bps: int

    def __post_init__(self) -> None:
        if self.lower < 1:
            raise VolumeTiersError(f"a band starts at message 1 or later, not {self.lower}")
        if self.upper is not None and self.upper < self.lower:
            raise VolumeTiersError(f"band {self.lower}-{self.upper} ends before it starts")
        if not 0 <= self.discount_bps <= BPS:
            raise VolumeTiersError(f"a discount must be between 0 and {BPS} bps, not {self.discount_bps}")

    @property
    def label(self) -> str:
        """Meta's pricing_analytics `tier` string: messages already counted before the band, then its end."""
        return f"{self.lower - 1}:{'MAX' if self.upper is None else self.upper}"


UNTIERED = Band(1, None, 0)


class VolumeTiers:
    """Bands per category; a category without bands is one undiscounted band (0:MAX)."""

    def __init__(self, bands_by_category: Mapping[str, Sequence[Band]]) -> None:
        self._bands: dict[str, tuple[Band, ...]] = {}
        self._lowers: dict[str, list[int]] = {}
        for category, bands in bands_by_category.items():
            if category not in _TIERED_CATEGORIES:
                raise VolumeTiersError(f"unknown category '{category}' for volume tiers")
            ordered = tuple(sorted(bands, key=lambda band: band.lower))
            _check_contiguous(category, ordered)
            self._bands[category] = ordered
            self._lowers[category] = [band.lower for band in ordered]

    @property
    def bands_by_category(self) -> Mapping[str, tuple[Band, ...]]:
        return MappingProxyType(self._bands)

    def band_for(self, category: str, nth: int) -> Band:
        """The band of the month's `nth` charged message (1-based) of this category."""
        if nth < 1:
            raise ValueError(f"message counts start at 1, not {nth}")
        bands = self._bands.get(category)
        if bands is None:
            return UNTIERED
        return bands[bisect.bisect_right(self._lowers[category], nth) - 1]


def _check_contiguous(category: str, bands: tuple[Band, ...]) -> None:
    if not bands:
        raise VolumeTiersError(f"category '{category}' has no bands")
    if bands[0].lower != 1:
        raise VolumeTiersError(f"the first {category} band must start at message 1, not {bands[0].lower}")
    for earlier, later in itertools.pairwise(bands):
        if earlier.upper is None or later.lower <= earlier.upper:
            raise VolumeTiersError(f"{category} bands {earlier.label} and {later.label} overlap")
        if later.lower != earlier.upper + 1:
            raise VolumeTiersError(f"{category} bands leave a gap between {earlier.upper} and {later.lower}")
    if bands[-1].upper is not None:
        raise VolumeTiersError(f"the last {category} band must have no upper limit, not {bands[-1].upper}")


def parse_volume_tiers_csv(text: str) -> VolumeTiers:
    """Read `category,from,to,discount_bps[,note]` rows (`to` empty = no upper limit)."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header: list[str] | None = None
    bands: dict[str, list[Band]] = {}
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in cells]
                missing = [name for name in _REQUIRED_COLUMNS if name not in header]
                if missing:
                    raise VolumeTiersError(f"missing columns: {', '.join(missing)}", line=line)
                continue
            if len(cells) != len(header):
                raise VolumeTiersError(f"expected {len(header)} fields, found {len(cells)}", line=line)
            row = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
            category = row["category"].lower()
            if category not in _TIERED_CATEGORIES:
                raise VolumeTiersError(f"unknown category '{row['category']}'", line=line)
            lower = _whole_number(row["from"], "from", line)
            upper = _whole_number(row["to"], "to", line) if row["to"] else None
            discount_bps = _whole_number(row["discount_bps"], "discount_bps", line)
            try:
                band = Band(lower, upper, discount_bps)
            except VolumeTiersError as exc:
                raise VolumeTiersError(exc.message, line=line) from exc
            bands.setdefault(category, []).append(band)
    except csv.Error as exc:
        raise VolumeTiersError(f"not valid CSV: {exc}", line=reader.line_num) from exc
    if header is None:
        raise VolumeTiersError("the volume-tier table is empty (expected a header row)", line=1)
    return VolumeTiers(bands)


def _whole_number(cell: str, column: str, line: int) -> int:
    if not cell.isascii() or not cell.isdigit() or len(cell) > 18:
        raise VolumeTiersError(f"{column} '{cell}' is not a whole number", line=line)
    return int(cell)


@functools.cache
def default_volume_tiers() -> VolumeTiers:
    """Parley's own default table (data/volume-tiers.csv), not Meta's per-market one."""
    text = resources.files("parley.billing").joinpath("data/volume-tiers.csv").read_text(encoding="utf-8")
    return parse_volume_tiers_csv(text)
