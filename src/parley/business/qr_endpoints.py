"""Meta's QR code API: `POST/GET /{phone_number_id}/message_qrdls`, `DELETE /{phone_number_id}/message_qrdls/{code}`,
and the public QR images their `qr_image_url` points to."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response

from parley.business import qr
from parley.graph import parse_version
from parley.http import ContainerDep, GraphScopeDep, graph_json_body, graph_router

router = graph_router("qr codes")

_CREATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["prefilled_message"],
                    "properties": {
                        "prefilled_message": {"type": "string", "maxLength": qr.MAX_PREFILLED},
                        "generate_qr_image": {"type": "string", "enum": sorted(qr.IMAGE_KINDS)},
                        "code": {"type": "string", "description": "update this code's message instead"},
                    },
                }
            }
        },
    }
}


@router.get("/message_qrdls/{code}.{kind}", summary="A QR code's image (public, like Meta's image URLs)")
async def qr_image(code: str, kind: str, container: ContainerDep) -> Response:
    image = await container.qr_codes.public_image(code, kind)
    return Response(image, media_type=qr.MIME_TYPES[kind], headers={"Cache-Control": "public, max-age=300"})


@router.post(
    "/{phone_number_id}/message_qrdls", summary="Create a QR code, or change its message", openapi_extra=_CREATE_BODY
)
async def create_or_update_qr_code(
    version: str, phone_number_id: str, request: Request, container: ContainerDep, scope: GraphScopeDep
) -> dict[str, Any]:
    body = await graph_json_body(request)
    return await container.qr_codes.create_or_update(scope, phone_number_id, body, parse_version(version))


@router.get("/{phone_number_id}/message_qrdls", summary="A number's QR codes, newest first")
async def list_qr_codes(
    version: str,
    phone_number_id: str,
    container: ContainerDep,
    scope: GraphScopeDep,
    fields: Annotated[str | None, Query()] = None,
    code: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query()] = qr.MAX_PAGE,
    after: Annotated[str | None, Query(max_length=128)] = None,
) -> dict[str, Any]:
    return await container.qr_codes.list_codes(
        scope, phone_number_id, parse_version(version), fields, code, limit, after
    )


@router.get("/{phone_number_id}/message_qrdls/{code}", summary="One QR code")
async def get_qr_code(
    version: str,
    phone_number_id: str,
    code: str,
    container: ContainerDep,
    scope: GraphScopeDep,
    fields: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    return await container.qr_codes.get_code(scope, phone_number_id, code, parse_version(version), fields)


@router.delete("/{phone_number_id}/message_qrdls/{code}", summary="Delete a QR code (its link stops working)")
async def delete_qr_code(
    phone_number_id: str, code: str, container: ContainerDep, scope: GraphScopeDep
) -> dict[str, bool]:
    return await container.qr_codes.delete_code(scope, phone_number_id, code)
