"""Media uploads: type and size checked per kind, streamed to disk, hashed, recorded."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from sqlalchemy import Connection, select

from parley import accounts
from parley.config import MediaSettings
from parley.kit.clock import Clock
from parley.kit.errors import (
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    UnsupportedMediaTypeError,
)
from parley.kit.ids import IdGenerator, parse_id
from parley.kit.periodic import PeriodicTask
from parley.media import repository as repo
from parley.platform.db import Database
from parley.platform.ratelimit import RateLimiter

KB = 1024
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
    "application/octet-stream": ("encrypted", 16 * MB),  # e2ee: an encrypted attachment's ciphertext
}
ENCRYPTED_MEDIA = "encrypted"  # e2ee: the kind of a ciphertext blob (docs/e2ee.md); no plaintext send can use it

# Images are sniffed: a file that says image/png must start like a PNG.
_MAGIC = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF",),
}


# The Cloud API's own table (Meta's supported media types and per-kind limits): mime -> (kind, size limit).
# Business uploads and media fetched from a business's link are held to it, with every type sniffed.
META_TYPES: dict[str, tuple[str, int]] = {
    "image/jpeg": ("image", 5 * MB),
    "image/png": ("image", 5 * MB),
    "audio/aac": ("audio", 16 * MB),
    "audio/amr": ("audio", 16 * MB),
    "audio/mpeg": ("audio", 16 * MB),
    "audio/mp4": ("audio", 16 * MB),
    "audio/ogg": ("audio", 16 * MB),
    "video/mp4": ("video", 16 * MB),
    "video/3gpp": ("video", 16 * MB),
    "text/plain": ("document", 100 * MB),
    "application/pdf": ("document", 100 * MB),
    "application/msword": ("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("document", 100 * MB),
    "application/vnd.ms-excel": ("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("document", 100 * MB),
    "application/vnd.ms-powerpoint": ("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ("document", 100 * MB),
    "image/webp": ("sticker", 500 * KB),  # animated; a static sticker is held to STICKER_STATIC_LIMIT
}
STICKER_STATIC_LIMIT = 100 * KB
HEAD_BYTES = 64  # enough of a file's start to recognise every type above

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the legacy Office container (doc, xls, ppt)
_ZIP = b"PK\x03\x04"  # the Office Open XML container (docx, xlsx, pptx)


def content_matches(mime: str, head: bytes) -> bool:
    """Whether a file starting with `head` really is `mime` (strict: every type in META_TYPES has a test)."""
    is_mp3_frame = len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06 != 0
    is_adts = len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0
    is_iso_media = head[4:8] == b"ftyp"  # MP4, M4A and 3GP are all ISO base media files
    checks = {
        "image/jpeg": head.startswith(b"\xff\xd8\xff"),
        "image/png": head.startswith(b"\x89PNG\r\n\x1a\n"),
        "image/webp": head.startswith(b"RIFF") and head[8:12] == b"WEBP",
        # Meta takes OGG with the OPUS codec only: the first page carries the OpusHead packet.
        "audio/ogg": head.startswith(b"OggS") and b"OpusHead" in head,
        "audio/mpeg": head.startswith(b"ID3") or is_mp3_frame,
        "audio/aac": head.startswith((b"ADIF", b"ID3")) or is_adts,
        "audio/amr": head.startswith(b"#!AMR"),
        "audio/mp4": is_iso_media,
        "video/mp4": is_iso_media,
        "video/3gpp": is_iso_media,
        "application/pdf": head.startswith(b"%PDF-"),
        "application/msword": head.startswith(_OLE2),
        "application/vnd.ms-excel": head.startswith(_OLE2),
        "application/vnd.ms-powerpoint": head.startswith(_OLE2),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": head.startswith(_ZIP),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": head.startswith(_ZIP),
        "application/vnd.openxmlformats-officedocument.presentationml.presentation": head.startswith(_ZIP),
        # Text has no signature; a NUL byte is what marks a binary file.
        "text/plain": b"\x00" not in head,
    }
    return checks.get(mime, False)


def is_animated_webp(head: bytes) -> bool:
    """An extended WebP (VP8X chunk) whose flags byte has the animation bit."""
    return head[12:16] == b"VP8X" and len(head) > 20 and bool(head[20] & 0x02)


class MediaQuotaExceededError(PayloadTooLargeError):
    """The upload would take its owner's unsent media over the quota (413: a smaller file may still fit)."""

    code = "media_quota_exceeded"


class MediaService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        ids: IdGenerator,
        rate_limiter: RateLimiter,
        media_dir: Path,
        max_bytes: int,
        settings: MediaSettings,
    ) -> None:
        self._db, self._clock, self._ids, self._limiter = db, clock, ids, rate_limiter
        self._dir = media_dir
        self._max_bytes = max_bytes
        self._settings = settings
        self._sweeper = PeriodicTask("media-expiry", settings.sweep_interval_s, self.expire_unsent_now)

    async def start(self) -> None:
        self._sweeper.start()

    async def close(self) -> None:
        await self._sweeper.close()

    async def check_upload_rate(self, address: str) -> None:
        """Count an upload from this client address (before its body is read); 429 over the limit."""
        window = self._settings.upload_window_s
        retry = await self._limiter.hit(f"media-upload:{address}", self._settings.uploads_per_address, window)
        if retry is not None:
            raise RateLimitedError(
                f"too many uploads from this address: at most {self._settings.uploads_per_address} "
                f"every {window} s; try again in {retry} s",
                retry,
            )

    async def upload(
        self,
        owner_id: int,
        filename: str | None,
        content_type: str | None,
        chunks: AsyncIterator[bytes],
        *,
        types: Mapping[str, tuple[str, int]] | None = None,
    ) -> repo.MediaRow:
        """Store a file. `types` (e.g. META_TYPES) replaces the people's table: its limits apply as they
        are (not capped by `limits.max_media_bytes`) and every file must pass `content_matches`.

        An upload counts against its owner's quota of unsent media until it is sent; over it, nothing is kept
        (`MediaQuotaExceededError`)."""
        mime = (content_type or "").split(";")[0].strip().lower()
        strict = types is not None
        allowed = ALLOWED_TYPES if types is None else types
        if mime not in allowed:
            raise UnsupportedMediaTypeError(f"media type '{mime or 'unknown'}' is not accepted")
        kind, kind_limit = allowed[mime]
        limit = kind_limit if strict else min(kind_limit, self._max_bytes)
        room = self._settings.unsent_quota_bytes - await self._db.read(lambda c: repo.unsent_bytes(c, owner_id))
        if room <= 0:
            raise self._quota_error()
        self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
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
                        raise PayloadTooLargeError(f"{kind} files are limited to {_size_text(limit)}")
                    if size > room:  # stop reading at once: the file cannot be kept
                        raise self._quota_error()
                    if len(head) < HEAD_BYTES:
                        head += chunk[: HEAD_BYTES - len(head)]
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
            if strict and not content_matches(mime, head):
                raise UnsupportedMediaTypeError(f"the file's content is not {mime}")
            if strict and kind == "sticker" and size > STICKER_STATIC_LIMIT and not is_animated_webp(head):
                raise PayloadTooLargeError(f"static stickers are limited to {_size_text(STICKER_STATIC_LIMIT)}")
            temp_path.replace(final_path)
        finally:
            temp_path.unlink(missing_ok=True)
        row = repo.MediaRow(media_id, owner_id, kind, mime, size, digest.hexdigest(), _clean(filename), str(final_path))
        now = self._clock.now_ms()
        quota = self._settings.unsent_quota_bytes

        def unit(conn: Connection) -> None:
            # Checked again where it counts: uploads running side by side must not pass the quota together.
            users = accounts.users_table
            conn.execute(select(users.c.id).where(users.c.id == owner_id).with_for_update())
            if repo.unsent_bytes(conn, owner_id) + size > quota:
                raise self._quota_error()
            repo.insert_media(conn, row, now)

        try:
            await self._db.write("media.upload", unit)
        except BaseException:
            final_path.unlink(missing_ok=True)  # a file without its row would never be reached nor deleted
            raise
        return row

    def _quota_error(self) -> MediaQuotaExceededError:
        return MediaQuotaExceededError(
            f"this account's unsent media is limited to {_size_text(self._settings.unsent_quota_bytes)}: send or "
            f"delete uploads first (unsent uploads are deleted {self._settings.unsent_ttl_days} days after upload)"
        )

    async def expire_unsent_now(self) -> int:
        """Delete uploads never sent within `unsent_ttl_days` of their upload, files too; how many went."""
        cutoff = self._clock.now_ms() - self._settings.unsent_ttl_days * 24 * 3600 * 1000
        expired = 0
        while True:
            batch = await self._db.write("media.expire_unsent_now", lambda c: repo.delete_unsent_before(c, cutoff, 500))
            for row in batch:  # after the commit: a file goes only once nothing can refer to it
                self.remove_file(row)
            expired += len(batch)
            if len(batch) < 500:
                return expired

    # --- profile photos ----------------------------------------------------------------------

    async def set_profile_photo(self, user_id: int, raw_media_id: str | None) -> int | None:
        """Make one of the person's own image uploads their profile photo (None removes it); the photo's id."""
        media_id = None if raw_media_id is None else parse_id(raw_media_id)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> None:
            if raw_media_id is not None:
                item = None if media_id is None else repo.get_media(conn, media_id)
                # Someone else's upload looks like no upload at all: ids reveal nothing.
                if item is None or item.owner_id != user_id:
                    raise NotFoundError("no such media: upload the photo first (POST /media)")
                if item.kind != "image":
                    raise InvalidInputError("a profile photo is an image (jpeg, png or webp)")
            repo.set_profile_photo(conn, user_id, media_id, now)

        await self._db.write("media.set_profile_photo", unit)
        return media_id

    async def profile_photo(self, user_id: int) -> int | None:
        return (await self._db.read(lambda c: repo.profile_photos_of(c, [user_id]))).get(user_id)

    def file_of(self, row: repo.MediaRow) -> Path | None:  # rights
        """Where an upload's file is, when it is there (only ever inside the media directory)."""
        path = Path(row.path)
        inside = path.parent.resolve() == self._dir.resolve()
        return path if inside and path.is_file() else None

    def remove_file(self, row: repo.MediaRow) -> None:
        """Delete a stored file whose row is gone (only ever inside the media directory)."""
        path = Path(row.path)
        if path.parent.resolve() == self._dir.resolve():
            path.unlink(missing_ok=True)


def _size_text(limit: int) -> str:
    return f"{limit // MB} MB" if limit >= MB else f"{limit // KB} KB"


def _clean(filename: str | None) -> str | None:
    if not filename:
        return None
    return os.path.basename(filename.replace("\\", "/"))[:255] or None
