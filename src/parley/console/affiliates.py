"""The console's Affiliates data: the merchant's program set from the form (the rate typed as a percentage, "5" or
"2.5", becomes basis points here), through the same checks as the Business API. Owners and admins only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, StrictStr

from parley.affiliates import MAX_RATE_BP
from parley.console.access import ConsoleDep
from parley.http import ContainerDep
from parley.kit.errors import InvalidInputError
from parley.kit.money import parse_amount

router = APIRouter(prefix="/inbox/api/console/affiliates", tags=["business console"])


class ProgramIn(BaseModel):
    """The console's program form."""

    model_config = ConfigDict(extra="forbid")
    rate_percent: StrictStr  # "5", "2.5": at most two decimals (a basis point)
    window_days: StrictInt = 7
    hold_days: StrictInt = 14
    terms: StrictStr = ""
    active: StrictBool = True


def _basis_points(text: str) -> int:
    try:
        micros = parse_amount(text.strip().rstrip("%").strip())
    except ValueError as exc:
        raise InvalidInputError(f"rate_percent: {exc}") from exc
    if micros % 10_000:
        raise InvalidInputError("rate_percent: at most two decimal places (0.01 % is one basis point)")
    if not 1 <= micros // 10_000 <= MAX_RATE_BP:
        raise InvalidInputError(f"rate_percent: the commission is 0.01 % to {MAX_RATE_BP // 100} % of the order")
    return micros // 10_000


@router.post("/program", summary="Create or change the business's affiliate program")
async def set_program(body: ProgramIn, ctx: ConsoleDep, container: ContainerDep) -> dict[str, Any]:
    params = {**body.model_dump(exclude={"rate_percent"}), "rate_bp": _basis_points(body.rate_percent)}
    return await container.affiliates.set_program(ctx.waba_id, params)
