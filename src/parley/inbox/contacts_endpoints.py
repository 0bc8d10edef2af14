"""The business's contacts as a CSV download (`GET /inbox/api/contacts.csv`), streamed page by page."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from parley.http import ContainerDep
from parley.inbox.endpoints import AgentDep
from parley.kit.spreadsheet import safe_cell

router = APIRouter(prefix="/inbox/api", tags=["team inbox"])

PAGE_SIZE = 1000
HEADER = ("name", "profile_name", "phone", "labels", "notes", "first_contact", "last_contact", "conversations")


def iso_utc(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def csv_row(contact: dict[str, Any]) -> list[str]:
    cells = [
        contact["name"],
        contact["profile_name"],
        contact["phone"],
        "; ".join(label["name"] for label in contact["labels"]),
        contact["notes"],
        iso_utc(contact["first_contact_at"]),
        iso_utc(contact["last_contact_at"]),
        str(len(contact["conversations"])),
    ]
    return [safe_cell(str(cell)) for cell in cells]


async def csv_lines(container: ContainerDep, waba_id: int) -> AsyncIterator[str]:
    """One chunk per page of contacts, so memory stays flat however many contacts there are."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    cursor: str | None = None
    while True:
        page, cursor = await container.inbox.contacts_of_waba(waba_id, None, None, cursor, PAGE_SIZE)
        writer.writerows(csv_row(contact) for contact in page)
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        if cursor is None:
            return


@router.get("/contacts.csv")
async def contacts_csv(ctx: AgentDep, container: ContainerDep) -> StreamingResponse:
    return StreamingResponse(
        csv_lines(container, ctx.waba_id),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="contacts.csv"', "Cache-Control": "no-store"},
    )
