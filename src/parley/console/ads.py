"""The console's Ads data: a new campaign in one go (campaign, ad set and ad, all or nothing, through the same
checks as the Marketing-API routes), an uploaded creative image, and pausing or resuming a campaign. Owners and
admins only; amounts are typed in currency units ("20.00") and become Meta's minor units here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.datastructures import UploadFile

from parley.console.access import ConsoleDep
from parley.graph import GraphError, GraphScope
from parley.http import ContainerDep
from parley.kit.errors import InvalidInputError, NotFoundError
from parley.kit.money import minor_units, parse_amount

router = APIRouter(prefix="/inbox/api/console/ads", tags=["business console"])


class NewCampaignIn(BaseModel):
    """The console's "New campaign" form."""

    model_config = ConfigDict(extra="forbid")
    name: StrictStr
    objective: StrictStr = "OUTCOME_ENGAGEMENT"
    status: StrictStr = "ACTIVE"
    daily_budget: StrictStr  # currency units, "20.00"
    bid_strategy: StrictStr = "LOWEST_COST_WITHOUT_CAP"
    bid_amount: StrictStr | None = None  # currency units per 1,000 impressions
    markets: list[StrictStr] = Field(default_factory=list, max_length=50)
    languages: list[StrictStr] = Field(default_factory=list, max_length=50)
    interests: list[StrictStr] = Field(default_factory=list, max_length=20)
    headline: StrictStr
    body: StrictStr
    image_id: StrictStr | None = None
    prefilled_text: StrictStr = ""
    welcome_message: StrictStr = ""


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: StrictStr


def _minor(field: str, text: str, currency: str) -> int:
    """Currency units typed in the form as Meta's minor units; more decimals than the currency has is refused."""
    try:
        micros = parse_amount(text.strip())
    except ValueError as exc:
        raise InvalidInputError(f"{field}: {exc}") from exc
    factor = int(10 ** (6 - minor_units(currency)))
    if micros % factor:
        raise InvalidInputError(f"{field}: {currency} has {minor_units(currency)} decimal places")
    return micros // factor


def _scope(waba_id: int) -> GraphScope:
    return GraphScope(waba_id=waba_id, token_id=0, app_id=0)


@router.post("/campaigns", status_code=201, summary="Create a campaign with its ad set and ad")
async def new_campaign(body: NewCampaignIn, ctx: ConsoleDep, container: ContainerDep) -> dict[str, Any]:
    await container.ads.open_account(ctx.waba_id)
    account = await container.ads.account_of_waba(ctx.waba_id)
    assert account is not None
    currency = account["currency"]
    numbers = await container.business_numbers.ids_of_waba(ctx.waba_id)
    if not numbers:
        raise InvalidInputError("this business has no phone number for the ad's chat")
    ad_set: dict[str, Any] = {
        "name": body.name,
        "status": body.status,
        "daily_budget": _minor("daily_budget", body.daily_budget, currency),
        "bid_strategy": body.bid_strategy,
        "optimization_goal": "CONVERSATIONS",
        "promoted_object": {"whatsapp_phone_number": str(numbers[0])},
        "targeting": {
            "geo_locations": {"countries": body.markets},
            "languages": body.languages,
            "interests": [{"id": name} for name in body.interests],
        },
    }
    if body.bid_amount:
        ad_set["bid_amount"] = _minor("bid_amount", body.bid_amount, currency)
    creative: dict[str, Any] = {
        "headline": body.headline,
        "body": body.body,
        "prefilled_text": body.prefilled_text,
        "welcome_message": body.welcome_message,
    }
    if body.image_id:
        creative["image_id"] = body.image_id
    campaign = {"name": body.name, "objective": body.objective, "status": body.status}
    ad = {"name": body.name, "status": body.status, "creative": creative}
    try:
        return await container.ads.create_bundle(ctx.waba_id, campaign, ad_set, ad)
    except GraphError as exc:
        raise InvalidInputError(exc.details) from exc


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(256 * 1024):
        yield chunk


@router.post("/media", status_code=201, summary="Upload a creative image (JPEG or PNG) for a new ad")
async def upload_image(request: Request, ctx: ConsoleDep, container: ContainerDep) -> dict[str, str]:
    numbers = await container.business_numbers.ids_of_waba(ctx.waba_id)
    if not numbers:
        raise InvalidInputError("this business has no phone number to upload media for")
    try:
        form = await request.form(max_files=1, max_fields=2)
    except Exception as exc:  # a malformed multipart body is the client's fault
        raise InvalidInputError(f"expected a multipart/form-data body with a file: {exc}") from exc
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.content_type:
            raise InvalidInputError("send the image as the form field 'file'")
        if upload.content_type not in ("image/jpeg", "image/png"):
            raise InvalidInputError("the image must be a JPEG or PNG")
        try:
            return await container.graph_media.upload_number_media(
                _scope(ctx.waba_id), str(numbers[0]), upload.filename, upload.content_type, _chunks(upload)
            )
        except GraphError as exc:
            raise InvalidInputError(exc.details) from exc
    finally:
        await form.close()


@router.post("/campaigns/{campaign_id}/status", summary="Pause or resume a campaign")
async def set_status(campaign_id: str, body: StatusIn, ctx: ConsoleDep, container: ContainerDep) -> dict[str, Any]:
    if body.status not in ("ACTIVE", "PAUSED"):
        raise InvalidInputError("status must be ACTIVE or PAUSED")
    scope = _scope(ctx.waba_id)
    oid = int(campaign_id) if campaign_id.isdigit() and len(campaign_id) <= 19 else 0
    try:
        found = await container.ads.graph_object(scope, oid, None)
        if found is None or "objective" not in found:  # only campaigns have one
            raise NotFoundError("no such campaign")
        done = await container.ads.update_graph_object(scope, oid, {"status": body.status})
    except GraphError as exc:
        raise InvalidInputError(exc.details) from exc
    if done is None:
        raise NotFoundError("no such campaign")
    return {"id": campaign_id, "status": body.status}
