"""The console's Templates area: list, look at, create, edit, pause, resume and delete message templates.

Every route calls the same `TemplateService` as the Cloud API's `/{waba-id}/message_templates`, so a template
made here passes the same checks and the same asynchronous review. The service speaks Graph errors; here they
become the inbox API's `{"error": {"code", "message"}}` in the same words. Prices come from the business's rate
card (`BillingService.rate_sheet`): one delivered message of the template's category in a market.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query

from parley.billing import RateSheet
from parley.console.access import ConsoleDep
from parley.graph import GraphError, GraphScope
from parley.http import ContainerDep
from parley.inbox.endpoints import BodyDep
from parley.kit.errors import AppError, ConflictError, InvalidInputError, NotFoundError
from parley.kit.ids import parse_id
from parley.kit.money import format_amount
from parley.templates import TemplateFilters, TemplateRow, paused_by_business

router = APIRouter(prefix="/inbox/api/console/templates", tags=["business console"])

STATUSES = ("APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED")
DEFAULT_LIMIT = 50
MAX_LIMIT = 100

# The review's reasons (Meta's names) as an owner would say them; the review's own message says which rule.
REASONS_IN_PLAIN_WORDS = {
    "INVALID_FORMAT": "Its layout breaks one of WhatsApp's template rules.",
    "ABUSIVE_CONTENT": "It contains words that could offend or threaten the people who get it.",
    "INCORRECT_CATEGORY": "Its content does not belong in the category it was submitted in.",
    "TAG_CONTENT_MISMATCH": "One of its buttons does not belong in this kind of template.",
    "PROMOTIONAL": "It advertises something, which this category does not allow.",
    "SCAM": "It looks as if it could mislead people.",
}
QUALITY_IN_WORDS = {"GREEN": "High", "YELLOW": "Medium", "RED": "Low", "UNKNOWN": "Not rated yet"}
CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£", "INR": "₹", "BRL": "R$", "JPY": "¥"}


@contextlib.contextmanager
def _in_inbox_words() -> Iterator[None]:
    """The service's Graph refusals as the inbox API's errors, with the same message."""
    try:
        yield
    except GraphError as error:
        raise _as_app_error(error) from error


def _as_app_error(error: GraphError) -> AppError:
    if error.subcode == 33 or error.http_status == 404:
        return NotFoundError("no such template in this business")
    if error.http_status == 503:
        return ConflictError(error.details)
    return InvalidInputError(error.details)


def money_text(micros: int, currency: str) -> str:
    """An amount as people read it: "$0.025", "€0.0509"; other currencies as "0.0509 CHF"."""
    sign = CURRENCY_SIGNS.get(currency)
    amount = format_amount(micros)
    return f"{sign}{amount}" if sign else f"{amount} {currency}"


def _template_id(raw: str) -> int:
    parsed = parse_id(raw)
    if parsed is None:
        raise NotFoundError("no such template in this business")
    return parsed


async def _scope(container: ContainerDep, waba_id: int) -> GraphScope:
    return await container.business.scope_of(waba_id)


async def _rate_sheet(container: ContainerDep, waba_id: int) -> RateSheet:
    info = await container.business.inbox_business(waba_id)
    own_number = info.numbers[0]["display_phone_number"] if info.numbers else None
    return await container.billing.rate_sheet(waba_id, own_number)


def pricing(sheet: RateSheet, market: str | None) -> dict[str, Any]:
    """The prices of one market (the business's own unless another is asked for), with every market to pick."""
    names = [rates.market for rates in sheet.markets]
    chosen = market or sheet.home_market or names[-1]
    found = next((rates for rates in sheet.markets if rates.market == chosen), None)
    if found is None:
        raise InvalidInputError(f"{chosen[:64]!r} is not a market of price list {sheet.price_list}")
    per = "message" if sheet.pricing_model == "PMP" else "conversation"
    return {
        "market": chosen,
        "home_market": sheet.home_market,
        "markets": names,
        "currency": sheet.currency,
        "price_list": sheet.price_list,
        "effective": sheet.effective.isoformat(),
        "per": per,
        "charged": sheet.charged,
        "rates": {
            category.upper(): None if micros is None else {"micros": micros, "text": money_text(micros, sheet.currency)}
            for category, micros in found.micros.items()
        },
    }


def template_view(row: TemplateRow) -> dict[str, Any]:
    """A template as the console shows it: the Graph fields plus the review's words and what can be done."""
    paused_by = None
    if row.status == "PAUSED":
        paused_by = "business" if paused_by_business(row) else "quality"
    review: dict[str, Any] | None = None
    if row.status == "REJECTED":
        review = {
            "reason": row.rejected_reason,
            "in_plain_words": REASONS_IN_PLAIN_WORDS.get(row.rejected_reason, "It breaks a template rule."),
            "details": row.review_message or "",
            "what_to_do": "Change what the review points at and save: the template is reviewed again.",
        }
    elif row.status != "PENDING" and row.review_message:
        review = {"reason": "NONE", "in_plain_words": "", "details": row.review_message, "what_to_do": ""}
    return {
        "id": str(row.id),
        "name": row.name,
        "language": row.language,
        "category": row.category,
        "previous_category": row.previous_category,
        "status": row.status,
        "paused_by": paused_by,
        "paused_until": row.paused_until,
        "quality_score": row.quality_score,
        "quality": QUALITY_IN_WORDS.get(row.quality_score, row.quality_score),
        "parameter_format": row.parameter_format,
        "components": row.components,
        "review": review,
        "can_edit": row.status in ("APPROVED", "REJECTED", "PAUSED"),
        "can_pause": row.status == "APPROVED",
        "can_resume": row.status == "PAUSED",
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


async def template_list(
    container: ContainerDep,
    waba_id: int,
    *,
    status: str | None = None,
    q: str | None = None,
    market: str | None = None,
    after: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """One page of the business's templates, newest first, each with its price in the chosen market."""
    statuses: tuple[str, ...] = ()
    if status:
        if status.upper() not in STATUSES:
            raise InvalidInputError(f"status must be one of {', '.join(STATUSES)}")
        statuses = (status.upper(),)
    cursor = None
    if after:
        cursor = parse_id(after)
        if cursor is None:
            raise InvalidInputError("after must be the id of the last template of the previous page")
    prices = pricing(await _rate_sheet(container, waba_id), market)
    scope = await _scope(container, waba_id)
    filters = TemplateFilters(name=(q or "").strip() or None, statuses=statuses)
    rows, more = await container.templates.rows(scope, filters, limit, cursor)
    return {
        "data": [template_view(row) for row in rows],
        "paging": {"after": str(rows[-1].id) if more and rows else None},
        "pricing": prices,
    }


@router.get("")
async def list_templates(
    ctx: ConsoleDep,
    container: ContainerDep,
    status: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=512)] = None,
    market: Annotated[str | None, Query(max_length=128)] = None,
    after: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """The business's templates: `status` (one of STATUSES) and `q` (part of the name) filter them."""
    return await template_list(container, ctx.waba_id, status=status, q=q, market=market, after=after, limit=limit)


@router.get("/prices")
async def prices(
    ctx: ConsoleDep, container: ContainerDep, market: Annotated[str | None, Query(max_length=128)] = None
) -> dict[str, Any]:
    """What one delivered template of each category costs in a market (default: the business's own)."""
    return pricing(await _rate_sheet(container, ctx.waba_id), market)


@router.get("/{template_id}")
async def get_template(ctx: ConsoleDep, container: ContainerDep, template_id: str) -> dict[str, Any]:
    scope = await _scope(container, ctx.waba_id)
    with _in_inbox_words():
        return template_view(await container.templates.row(scope, _template_id(template_id)))


@router.post("", status_code=201)
async def create_template(ctx: ConsoleDep, container: ContainerDep, body: BodyDep) -> dict[str, Any]:
    """The Cloud API's create body (name, language, category, parameter_format, components): PENDING on success."""
    scope = await _scope(container, ctx.waba_id)
    with _in_inbox_words():
        created = await container.templates.create(scope, body)
        return template_view(await container.templates.row(scope, int(created["id"])))


@router.patch("/{template_id}")
async def edit_template(ctx: ConsoleDep, container: ContainerDep, template_id: str, body: BodyDep) -> dict[str, Any]:
    """Meta's edit (components, category, parameter_format): the template goes back to review."""
    scope = await _scope(container, ctx.waba_id)
    parsed = _template_id(template_id)
    with _in_inbox_words():
        await container.templates.edit(scope, parsed, body)
        return template_view(await container.templates.row(scope, parsed))


@router.post("/{template_id}/pause")
async def pause_template(ctx: ConsoleDep, container: ContainerDep, template_id: str) -> dict[str, Any]:
    scope = await _scope(container, ctx.waba_id)
    parsed = _template_id(template_id)
    with _in_inbox_words():
        await container.templates.pause(scope, parsed)
        return template_view(await container.templates.row(scope, parsed))


@router.post("/{template_id}/resume")
async def resume_template(ctx: ConsoleDep, container: ContainerDep, template_id: str) -> dict[str, Any]:
    """The Cloud API's unpause: at once for the business's own pause, 5 minutes after a quality pause."""
    scope = await _scope(container, ctx.waba_id)
    parsed = _template_id(template_id)
    with _in_inbox_words():
        answer = await container.templates.unpause(scope, parsed)
        if not answer.get("success"):
            raise ConflictError(str(answer.get("reason") or "the template could not be resumed"))
        return template_view(await container.templates.row(scope, parsed))


@router.delete("/{template_id}")
async def delete_template(ctx: ConsoleDep, container: ContainerDep, template_id: str) -> dict[str, Any]:
    """Deletes the template's name in every language, as `DELETE /{waba-id}/message_templates?name=` does."""
    scope = await _scope(container, ctx.waba_id)
    with _in_inbox_words():
        row = await container.templates.row(scope, _template_id(template_id))
        await container.templates.delete(scope, row.name)
    return {"success": True, "name": row.name}
