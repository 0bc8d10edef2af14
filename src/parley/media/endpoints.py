"""Client API route for uploading media (downloads are checked by messaging: chat membership)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile

from parley.http import ERROR_RESPONSES, ContainerDep, PrincipalDep, client_address
from parley.kit.errors import InvalidInputError

router = APIRouter(prefix="/client/v1", tags=["media"], responses=ERROR_RESPONSES)


class MediaOut(BaseModel):
    id: str
    mime_type: str
    size: int
    sha256: str
    filename: str | None


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(256 * 1024):
        yield chunk


@router.post(
    "/media",
    response_model=MediaOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                }
            },
        }
    },
)
async def upload_media(request: Request, me: PrincipalDep, c: ContainerDep) -> MediaOut:
    await c.media.check_upload_rate(client_address(request))  # before reading up to 16 MB of body
    try:
        form = await request.form(max_files=1, max_fields=4)
    except Exception as error:  # malformed multipart bodies are the client's fault
        raise InvalidInputError(f"expected a multipart/form-data body with a 'file': {error}") from error
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidInputError("expected a multipart/form-data body with a 'file'")
    try:
        row = await c.media.upload(me.user_id, upload.filename, upload.content_type, _chunks(upload))
    finally:
        await upload.close()
    return MediaOut(id=str(row.id), mime_type=row.mime_type, size=row.size, sha256=row.sha256, filename=row.filename)


class ProfilePhotoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    media_id: str = Field(min_length=1, max_length=20, description="An image you uploaded with POST /media")


class ProfilePhotoOut(BaseModel):
    photo_id: str | None = Field(description="The media id of your profile photo; anyone signed in may download it")


@router.put("/me/photo", response_model=ProfilePhotoOut, tags=["accounts"])
async def set_profile_photo(body: ProfilePhotoIn, me: PrincipalDep, c: ContainerDep) -> ProfilePhotoOut:
    photo = await c.media.set_profile_photo(me.user_id, body.media_id)
    return ProfilePhotoOut(photo_id=None if photo is None else str(photo))


@router.delete("/me/photo", status_code=204, tags=["accounts"])
async def remove_profile_photo(me: PrincipalDep, c: ContainerDep) -> Response:
    await c.media.set_profile_photo(me.user_id, None)
    return Response(status_code=204)
