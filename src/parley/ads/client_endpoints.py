"""Client API routes of ads: a person's ad preferences (opt-in interests)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from parley.http import ERROR_RESPONSES, ContainerDep, PrincipalDep

router = APIRouter(prefix="/client/v1/ads", tags=["ads"], responses=ERROR_RESPONSES)


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    consented: StrictBool
    interests: list[StrictStr] = Field(default_factory=list, max_length=50)


@router.get("/preferences", summary="The interests you chose to see ads about (opt-in)")
async def get_preferences(container: ContainerDep, principal: PrincipalDep) -> dict[str, Any]:
    return await container.ad_preferences.of_person(principal.user_id)


@router.put("/preferences", summary="Choose interests for ads, or withdraw consent (clears them)")
async def put_preferences(body: PreferencesIn, container: ContainerDep, principal: PrincipalDep) -> dict[str, Any]:
    return await container.ad_preferences.set_for_person(principal.user_id, body.model_dump())
