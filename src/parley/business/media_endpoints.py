"""Cloud API media routes: `POST /{phone-number-id}/media` and the download behind a media object's `url`.

`GET`/`DELETE /{media-id}` go through the object dispatcher in `business.endpoints` (Graph addresses every
object by bare id); it calls `GraphMedia.media_object` / `delete_media_object`.
"""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import FileResponse
from starlette.datastructures import UploadFile

from parley.graph import GraphError
from parley.http import ContainerDep, GraphScopeDep, client_address, graph_router

router = graph_router("media")

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "type": {"type": "string", "example": "image/jpeg"},
                        "messaging_product": {"type": "string", "enum": ["whatsapp"]},
                    },
                    "required": ["file", "messaging_product"],
                }
            }
        },
    }
}


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(256 * 1024):
        yield chunk


@router.post("/{phone_number_id}/media", summary="Upload media for a business number", openapi_extra=_UPLOAD_BODY)
async def upload_media(
    phone_number_id: str, request: Request, container: ContainerDep, scope: GraphScopeDep
) -> dict[str, str]:
    await container.business.number_in_scope(scope, phone_number_id)  # before reading up to 100 MB of body
    await container.media.check_upload_rate(client_address(request))
    try:
        form = await request.form(max_files=1, max_fields=8)
    except Exception as exc:  # a malformed multipart body is the client's fault
        raise GraphError(100, f"expected a multipart/form-data body with a file: {exc}") from exc
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise GraphError(100, "The parameter file is required.")
        product = form.get("messaging_product")
        if product != "whatsapp":
            raise GraphError(100, "The parameter messaging_product is required and must be 'whatsapp'.")
        declared = form.get("type")
        mime = declared if isinstance(declared, str) and declared else upload.content_type
        if not mime:
            raise GraphError(100, "The parameter type is required: the file's MIME type, e.g. image/jpeg.")
        return await container.graph_media.upload_number_media(
            scope, phone_number_id, upload.filename, mime, _chunks(upload)
        )
    finally:
        await form.close()


@router.get(
    "/media_download/{media_id}",
    summary="Download media from the URL of a media object (valid 5 minutes, bearer token required)",
    response_class=FileResponse,
)
async def download_media(
    media_id: str,
    container: ContainerDep,
    scope: GraphScopeDep,
    expires: Annotated[str, Query()] = "",
    signature: Annotated[str, Query()] = "",
) -> FileResponse:
    item = await container.graph_media.download_target(scope, media_id, expires, signature)
    return FileResponse(
        item.path,
        media_type=item.mime_type,
        filename=item.filename or f"{item.id}{_extension(item.mime_type)}",
        headers={"Cache-Control": "private, no-store"},
    )


def _extension(mime: str) -> str:
    return mimetypes.guess_extension(mime) or ""
