"""Media uploads: type and size checked per kind, streamed to disk, hashed, recorded."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from parley.kit.clock import Clock
from parley.kit.errors import InvalidInputError, PayloadTooLargeError, UnsupportedMediaTypeError
from parley.kit.ids import IdGenerator
from parley.media import repository as repo
from parley.platform.db import Database

MB = 1024 * 1024

# mime type -> (kind, size limit); the limits are WhatsApp's.
ALLOWED_TYPES: dict[str, tuple[str, int]] = {
    "image/jpeg": ("image", 5 * MB),
    "image/png": ("image", 5 * MB),
    "image/webp": ("image", 5 * MB),
    "audio/aac": ("audio", 16 * MB),
    "audio/mpeg": ("audio", 16 * MB),
    "audio/ogg": ("audio", 16 * MB),
    "audio/amr": ("audio", 16 * MB),
    "audio/mp4": ("audio", 16 * MB),
    "video/mp4": ("video", 16 * MB),
    "video/3gpp": ("video", 16 * MB),
    "application/pdf": ("document", 16 * MB),
    "text/plain": ("document", 16 * MB),
    "application/zip": ("document", 16 * MB),
    "application/msword": ("document", 16 * MB),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("document", 16 * MB),
    "application/vnd.ms-excel": ("document", 16 * MB),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("document", 16 * MB),
    "application/vnd.ms-powerpoint": ("document", 16 * MB),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ("document", 16 * MB),
}

# Images are sniffed: a file that says image/png must start like a PNG.
_MAGIC = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF",),
}


class MediaService:
    def __init__(self, db: Database, clock: Clock, ids: IdGenerator, media_dir: Path, max_bytes: int) -> None:
        self._db, self._clock, self._ids = db, clock, ids
        self._dir = media_dir
        self._max_bytes = max_bytes

    async def upload(
        self, owner_id: int, filename: str | None, content_type: str | None, chunks: AsyncIterator[bytes]
    ) -> repo.MediaRow:
        mime = (content_type or "").split(";")[0].strip().lower()
        if mime not in ALLOWED_TYPES:
            raise UnsupportedMediaTypeError(f"media type '{mime or 'unknown'}' is not accepted")
        kind, kind_limit = ALLOWED_TYPES[mime]
        limit = min(kind_limit, self._max_bytes)
        self._dir.mkdir(parents=True, exist_ok=True)
        media_id = self._ids.next_id()
        final_path = self._dir / str(media_id)
        temp_path = self._dir / f".upload-{secrets.token_hex(8)}"
        digest = hashlib.sha256()
        size = 0
        head = b""
        try:
            with temp_path.open("wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise PayloadTooLargeError(f"{kind} files are limited to {limit // MB} MB")
                    if len(head) < 16:
                        head += chunk[:16]
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if size == 0:
                raise InvalidInputError("the file is empty")
            # WebP is a RIFF container like WAV and AVI: only "WEBP" at offset 8 makes it an image.
            is_riff_not_webp = mime == "image/webp" and head[8:12] != b"WEBP"
            if (mime in _MAGIC and not head.startswith(_MAGIC[mime])) or is_riff_not_webp:
                raise UnsupportedMediaTypeError(f"the file's content is not {mime}")
            temp_path.replace(final_path)
        finally:
            temp_path.unlink(missing_ok=True)
        row = repo.MediaRow(media_id, owner_id, kind, mime, size, digest.hexdigest(), _clean(filename), str(final_path))
        now = self._clock.now_ms()
        await self._db.write(lambda c: repo.insert_media(c, row, now))
        return row


def _clean(filename: str | None) -> str | None:
    if not filename:
        return None
    return os.path.basename(filename.replace("\\", "/"))[:255] or None
