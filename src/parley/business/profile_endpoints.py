"""Business profile routes: the Cloud API's `/{phone-number-id}/whatsapp_business_profile`, and the client
API's view of a business for people (`/client/v1/businesses/{user_id}/profile`)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse

from parley.business import profile as profiles
from parley.graph import GraphError
from parley.http import ERROR_RESPONSES, ContainerDep, GraphScopeDep, PrincipalDep, graph_router
from parley.kit.errors import NotFoundError
from parley.kit.ids import parse_id

router = graph_router("business profile")
client_router = APIRouter(prefix="/client/v1", tags=["businesses"], responses=ERROR_RESPONSES)

_UPDATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["messaging_product"],
                    "properties": {
                        "messaging_product": {"type": "string", "enum": ["whatsapp"]},
                        "about": {"type": "string", "minLength": 1, "maxLength": 139},
                        "address": {"type": "string", "maxLength": 256},
                        "description": {"type": "string", "maxLength": 512},
                        "email": {"type": "string", "format": "email", "maxLength": 128},
                        "websites": {"type": "array", "maxItems": 2, "items": {"type": "string", "maxLength": 256}},
                        "vertical": {"type": "string", "enum": sorted(profiles.VERTICALS)},
                        "profile_picture_handle": {"type": "string"},
                    },
                }
            }
        },
    }
}


@router.get("/{phone_number_id}/whatsapp_business_profile", summary="Get a business number's profile")
async def get_profile(
    phone_number_id: str,
    container: ContainerDep,
    scope: GraphScopeDep,
    fields: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    return await container.profiles.get_business_profile(scope, phone_number_id, fields)


@router.post(
    "/{phone_number_id}/whatsapp_business_profile",
    summary="Update a business number's profile (partial)",
    openapi_extra=_UPDATE_BODY,
)
async def update_profile(
    phone_number_id: str, request: Request, container: ContainerDep, scope: GraphScopeDep
) -> dict[str, bool]:
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError as exc:
        raise GraphError(100, f"the request body is not valid JSON: {exc}") from exc
    return await container.profiles.update_business_profile(scope, phone_number_id, body)


def _business_id(raw: str) -> int:
    user_id = parse_id(raw)
    if user_id is None:
        raise NotFoundError("no such business")
    return user_id


@client_router.get("/businesses/{user_id}/profile", summary="A business's name and profile")
async def business_profile(user_id: str, _me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    found = await c.profiles.public_profile(_business_id(user_id))
    if found is None:
        raise NotFoundError("no such business")
    return found


@client_router.get(
    "/businesses/{user_id}/profile/picture",
    summary="A business's profile picture (public, like its name)",
    response_class=FileResponse,
)
async def business_profile_picture(user_id: str, c: ContainerDep) -> FileResponse:
    item = await c.profiles.profile_picture(_business_id(user_id))
    if item is None:
        raise NotFoundError("this business has no profile picture")
    return FileResponse(item.path, media_type=item.mime_type, headers={"Cache-Control": "public, max-age=300"})
