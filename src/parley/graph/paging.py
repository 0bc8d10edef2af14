"""Graph cursor paging: `{"data": [...], "paging": {"cursors": {"before", "after"}, "next"}}`."""

from __future__ import annotations

from typing import Any

from parley.kit.pagination import encode_cursor


def graph_page(
    data: list[dict[str, Any]], first_id: int | None, last_id: int | None, next_url: str | None
) -> dict[str, Any]:
    page: dict[str, Any] = {"data": data}
    if first_id is not None and last_id is not None:
        paging: dict[str, Any] = {"cursors": {"before": encode_cursor(first_id), "after": encode_cursor(last_id)}}
        if next_url:
            paging["next"] = next_url
        page["paging"] = paging
    return page
