"""Statements for businesses (a Parley extension on the Graph routes, scoped by the Cloud API token):
`GET /{waba_id}/statements` and `GET /{waba_id}/statements/{period}?format=json|csv|html`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import HTMLResponse, Response

from parley.billing.statements import (
    FINAL,
    Statement,
    StatementBook,
    parse_period,
    render_csv,
    render_html,
    summary,
)
from parley.graph import GraphError, object_not_found
from parley.http import ContainerDep, GraphScopeDep, graph_router
from parley.kit.errors import InvalidInputError
from parley.kit.ids import parse_id

router = graph_router("billing")
FORMATS = ("json", "csv", "html")


async def _business(container: ContainerDep, scope: GraphScopeDep, raw_waba_id: str) -> tuple[int, str]:
    """The WABA (id, name) when the token may read it; Graph's not-found error otherwise."""
    waba_id = parse_id(raw_waba_id)
    if waba_id is None or waba_id != scope.waba_id:
        raise object_not_found(raw_waba_id)
    found = await container.business.waba_object(scope, waba_id)
    if found is None:
        raise object_not_found(raw_waba_id)
    return waba_id, str(found["name"])


def _book(container: ContainerDep) -> StatementBook:
    return StatementBook(container.db, container.billing.journal, container.clock)


@router.get("/{waba_id}/statements", summary="Monthly statements of a business account (Parley extension)")
async def list_statements(waba_id: str, container: ContainerDep, scope: GraphScopeDep) -> dict[str, Any]:
    oid, name = await _business(container, scope, waba_id)
    found = await _book(container).statements(oid, name)
    return {"data": [summary(statement) for statement in reversed(found)]}


@router.get(
    "/{waba_id}/statements/{period}",
    summary="One month's statement as JSON, CSV or a printable HTML page (Parley extension)",
    response_model=None,
    responses={
        200: {
            "description": "The statement in the format asked for",
            "content": {"application/json": {}, "text/csv": {}, "text/html": {}},
        }
    },
)
async def get_statement(
    waba_id: str,
    period: str,
    container: ContainerDep,
    scope: GraphScopeDep,
    format: Annotated[str, Query(description="json, csv or html")] = "json",
) -> Response:
    oid, name = await _business(container, scope, waba_id)
    if format not in FORMATS:
        raise GraphError(100, f"format must be one of {', '.join(FORMATS)}, not {format[:16]!r}")
    try:
        month = parse_period(period)
    except InvalidInputError as error:
        raise GraphError(100, error.message) from error
    statement = await _book(container).statement(oid, month, name)
    if statement is None:
        raise GraphError(
            100,
            f"there is no statement for {month}: statements run from the month the account opened to the current one",
            http_status=404,
            subcode=33,
        )
    return _render(statement, format, oid)


def _render(statement: Statement, format: str, waba_id: int) -> Response:
    # A finalised statement never changes; a draft does until its month is over.
    cache = "private, max-age=86400" if statement.status == FINAL else "private, no-store"
    if format == "csv":
        filename = f"statement-{waba_id}-{statement.period}.csv"
        return Response(
            render_csv(statement.document),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": cache},
        )
    if format == "html":
        return HTMLResponse(render_html(statement.document, statement.invoice_number), headers={"Cache-Control": cache})
    return Response(statement.text, media_type="application/json", headers={"Cache-Control": cache})
