"""Cloud API media: a number's uploads, media objects (`GET`/`DELETE /{media-id}`), their short-lived download
URLs, media sent by `link` (fetched and stored here) and media sent by id.

A business account (WABA) reaches media uploaded by any of its numbers and media shared in a chat one of its
numbers belongs to (what people sent it). Media is stored once, in the media domain, owned by the number's
Parley account (`phone_numbers.user_id`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import mimetypes
import os
from collections.abc import AsyncIterator, Collection
from email.message import Message
from typing import Any
from urllib.parse import unquote

import httpx
from sqlalchemy import Connection, select

from parley import media, messaging
from parley.business.models import business_profiles, phone_numbers
from parley.business.numbers import BusinessNumbers
from parley.business.outbound import ResolvedMedia
from parley.config import MediaFetchSettings
from parley.graph import GraphError, GraphScope, object_not_found
from parley.kit.clock import Clock
from parley.kit.errors import AppError, PayloadTooLargeError, UnsupportedMediaTypeError
from parley.platform.db import Database
from parley.platform.egress import AddressPolicy, ForbiddenAddressError, Resolver, checked_client, system_resolver

URL_TTL_S = 5 * 60  # Meta: a media URL is valid for 5 minutes
MAX_REDIRECTS = 3
DEFAULT_URL_VERSION = 23
_DOWNLOAD_PATH = "media_download"

__all__ = [
    "GraphMedia",
    "MediaUrls",
    "ResolvedMedia",
    "fetch_media_link_with",
    "reachable_media",
    "resolve_media_id",
]


# --- signed download URLs ----------------------------------------------------------------------------------


class MediaUrls:
    """Download URLs on Parley, valid URL_TTL_S: the expiry travels in the query, signed with a server key."""

    def __init__(self, key: bytes, public_url: str) -> None:
        self._key = key
        self._base = public_url.rstrip("/")

    def _sign(self, media_id: int, expires_s: int) -> str:
        return hmac.new(self._key, f"{media_id}.{expires_s}".encode(), hashlib.sha256).hexdigest()[:32]

    def url(self, media_id: int, expires_s: int, version: int = DEFAULT_URL_VERSION) -> str:
        signature = self._sign(media_id, expires_s)
        return f"{self._base}/v{version}.0/{_DOWNLOAD_PATH}/{media_id}?expires={expires_s}&signature={signature}"

    def valid(self, media_id: int, expires_s: int, signature: str, now_s: int) -> bool:
        return now_s <= expires_s and hmac.compare_digest(self._sign(media_id, expires_s), signature)


# --- reach ---------------------------------------------------------------------------------------------------


def _numbers_of_waba(conn: Connection, waba_id: int) -> dict[int, int]:
    """The WABA's numbers as {Parley user id: phone_number_id}."""
    query = select(phone_numbers.c.user_id, phone_numbers.c.id).where(phone_numbers.c.waba_id == waba_id)
    return {r.user_id: r.id for r in conn.execute(query)}


def _reaches(conn: Connection, item: media.MediaRow, user_ids: Collection[int]) -> bool:
    """Whether one of these accounts uploaded the media or is in a chat it was shared in."""
    if not user_ids:
        return False
    if item.owner_id in user_ids:
        return True
    chats = media.chats_sharing(conn, item.id)
    return bool(chats) and bool(messaging.chat_members_among(conn, chats, set(user_ids)))


def reachable_media(conn: Connection, user_ids: Collection[int], media_id: int) -> media.MediaRow | None:
    """The media if one of these accounts (a WABA's numbers) can use it, else None."""
    item = media.get_media(conn, media_id)
    return item if item is not None and _reaches(conn, item, user_ids) else None


def _users_for(numbers: dict[int, int], phone_number_id: int | None) -> dict[int, int]:
    if phone_number_id is None:
        return numbers
    return {user_id: number_id for user_id, number_id in numbers.items() if number_id == phone_number_id}


def _is_profile_picture(conn: Connection, media_id: int) -> bool:
    query = select(business_profiles.c.phone_number_id).where(business_profiles.c.profile_picture_media_id == media_id)
    return conn.execute(query.limit(1)).first() is not None


def _parse_int(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 19 else None


# --- media by id and by link, for sends ---------------------------------------------------------------------


def _kind_problem(item: media.MediaRow, kind: str) -> str | None:
    entry = media.META_TYPES.get(item.mime_type)
    accepted = ", ".join(m for m, (k, _) in media.META_TYPES.items() if k == kind)
    if entry is None or entry[0] != kind:
        return f"media {item.id} is {item.mime_type}, which cannot be sent as {kind} (accepted: {accepted})"
    if item.size > entry[1]:
        return f"media {item.id} is {item.size} bytes, over the {entry[1]} byte limit for {kind}"
    return None


def resolve_media_id(conn: Connection, owner_user_ids: set[int], media_id: int, kind: str) -> ResolvedMedia:
    """Media by id for a send (inside the send's unit): reachable by these accounts and fit to be a `kind`."""
    item = media.get_media(conn, media_id)
    if item is None or not _reaches(conn, item, owner_user_ids):
        raise GraphError(100, f"media id {media_id} does not exist or this business cannot use it", subcode=33)
    problem = _kind_problem(item, kind)
    if problem is not None:
        raise GraphError(131053, f"Media upload error: {problem}")
    return ResolvedMedia(media_id=item.id, mime_type=item.mime_type, size=item.size, filename=item.filename)


async def fetch_media_link_with(
    media_service: media.MediaService,
    settings: MediaFetchSettings,
    owner_user_id: int,
    kind: str,
    url: str,
    *,
    resolver: Resolver | None = None,
) -> ResolvedMedia:
    """Download a `link` (http/https, ≤3 redirects, size capped per kind), sniff it and store it as media of
    the business account `owner_user_id`. Failures are Meta's 131052 (131053 when the file is not a `kind`);
    `resolver` answers host names (the system's by default)."""
    types = {mime: entry for mime, entry in media.META_TYPES.items() if entry[0] == kind}
    if not types:
        raise GraphError(100, f"a {kind} message cannot carry media")
    limit = max(size for _, size in types.values())
    try:
        target = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise _download_error(url, f"it is not a valid URL ({exc})") from exc
    deadline = asyncio.get_running_loop().time() + settings.total_timeout_s
    timeout = httpx.Timeout(settings.timeout_s)
    # Private addresses are refused when the connection is opened, on the very address dialled.
    policy = AddressPolicy(allow_any=settings.allow_private_networks, resolver=resolver or system_resolver)
    try:
        async with checked_client(policy, timeout=timeout) as client:
            response = await _open(client, target, url, settings)
            try:
                return await _store(media_service, response, url, owner_user_id, kind, types, limit, deadline)
            finally:
                await response.aclose()
    except ForbiddenAddressError as exc:
        raise _download_error(url, str(exc)) from exc
    except (httpx.TimeoutException, TimeoutError) as exc:
        raise _download_error(url, "the server did not answer in time") from exc
    except httpx.HTTPError as exc:
        raise _download_error(url, f"{type(exc).__name__}: {exc}") from exc


def _download_error(url: str, why: str) -> GraphError:
    return GraphError(131052, f"Media download error: could not download {url[:300]}: {why}")


async def _open(client: httpx.AsyncClient, target: httpx.URL, url: str, settings: MediaFetchSettings) -> httpx.Response:
    for hop in range(MAX_REDIRECTS + 1):
        _check_target(target, url)
        request = client.build_request("GET", target, headers={"Accept": "*/*", "User-Agent": "Parley-media/1"})
        response = await asyncio.wait_for(client.send(request, stream=True), settings.timeout_s * 2)
        location = response.headers.get("location")
        if not (response.is_redirect and location):
            return response
        await response.aclose()
        if hop == MAX_REDIRECTS:
            break
        try:
            target = response.url.join(location)
        except httpx.InvalidURL as exc:
            raise _download_error(url, f"a redirect went to an invalid URL ({exc})") from exc
    raise _download_error(url, f"more than {MAX_REDIRECTS} redirects")


def _check_target(target: httpx.URL, url: str) -> None:
    if target.scheme not in ("http", "https"):
        raise _download_error(url, "only http and https links can be fetched")
    if not target.host:
        raise _download_error(url, "the URL has no host")


async def _store(
    media_service: media.MediaService,
    response: httpx.Response,
    url: str,
    owner_user_id: int,
    kind: str,
    types: dict[str, tuple[str, int]],
    limit: int,
    deadline: float,
) -> ResolvedMedia:
    if response.status_code != 200:
        raise _download_error(url, f"the server answered HTTP {response.status_code}")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _download_error(url, f"the file is {declared} bytes, over the {limit} byte limit for {kind}")
    loop = asyncio.get_running_loop()
    body = response.aiter_bytes()
    head = b""
    first: list[bytes] = []
    async for chunk in body:
        first.append(chunk)
        head += chunk[: media.HEAD_BYTES - len(head)]
        if len(head) >= media.HEAD_BYTES:
            break
    header_mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
    mime = _pick_mime(types, header_mime, response.url.path, head)
    if mime is None:
        raise GraphError(
            131053,
            f"Media upload error: the file at {url[:300]} ({header_mime or 'no content type'}) is not a supported "
            f"{kind}; accepted: {', '.join(types)}",
        )

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in first:
            yield chunk
        async for chunk in body:
            if loop.time() > deadline:
                raise _download_error(url, "the download took too long")
            yield chunk

    try:
        row = await media_service.upload(owner_user_id, _filename(response), mime, chunks(), types=types)
    except PayloadTooLargeError as exc:
        raise _download_error(url, exc.message) from exc
    except UnsupportedMediaTypeError as exc:
        raise GraphError(131053, f"Media upload error: {exc.message}") from exc
    except AppError as exc:
        raise _download_error(url, exc.message) from exc
    return ResolvedMedia(media_id=row.id, mime_type=row.mime_type, size=row.size, filename=row.filename)


def _pick_mime(types: dict[str, tuple[str, int]], header_mime: str, path: str, head: bytes) -> str | None:
    """The declared type if the bytes agree, else the extension's, else whatever the bytes are (text only
    when declared: any NUL-free file passes as text)."""
    guessed = mimetypes.guess_type(path)[0] or ""
    candidates = [m for m in (header_mime, guessed) if m in types]
    candidates += [m for m in types if m != "text/plain"]
    return next((m for m in candidates if media.content_matches(m, head)), None)


def _filename(response: httpx.Response) -> str | None:
    disposition = response.headers.get("content-disposition")
    if disposition:
        message = Message()
        message["content-disposition"] = disposition
        name = message.get_filename()
        if name:
            return name
    return os.path.basename(unquote(response.url.path)) or None


class GraphMedia:
    """A business's media through the Cloud API: uploads, media objects, deletes and signed downloads."""

    def __init__(
        self, db: Database, clock: Clock, numbers: BusinessNumbers, media_service: media.MediaService, urls: MediaUrls
    ) -> None:
        self._db, self._clock = db, clock
        self._numbers = numbers
        self._media = media_service
        self._urls = urls

    async def _check_number(self, scope: GraphScope, phone_number_id: int | None) -> None:
        if phone_number_id is not None:
            await self._numbers.in_scope(scope, phone_number_id)

    # --- GET / DELETE /{media-id} and the download --------------------------------------------------------------

    async def media_object(
        self,
        scope: GraphScope,
        media_id: int,
        phone_number_id: int | None,
        *,
        version: int = DEFAULT_URL_VERSION,
    ) -> dict[str, Any] | None:
        """Meta's media object with a download URL valid 5 minutes; None if no media has this id at all."""
        await self._check_number(scope, phone_number_id)

        def unit(conn: Connection) -> tuple[media.MediaRow, bool] | None:
            item = media.get_media(conn, media_id)
            if item is None:
                return None
            users = _users_for(_numbers_of_waba(conn, scope.waba_id), phone_number_id)
            return item, _reaches(conn, item, users)

        found = await self._db.read(unit)
        if found is None:
            return None
        item, reachable = found
        if not reachable:
            raise object_not_found(media_id)
        expires_s = self._clock.now_ms() // 1000 + URL_TTL_S
        return {
            "messaging_product": "whatsapp",
            "url": self._urls.url(item.id, expires_s, version),
            "mime_type": item.mime_type,
            "sha256": item.sha256,
            "file_size": str(item.size),
            "id": str(item.id),
        }

    async def delete_media_object(
        self, scope: GraphScope, media_id: int, phone_number_id: int | None
    ) -> dict[str, Any] | None:
        """`{"success": true}`; None if no media has this id.

        Media the business uploaded and never sent is deleted with its file. Media already in a chat (sent to a
        person, or sent by one) stays for the people in that chat: they fetch it from Parley, not from a device
        copy, and pywa's `with wa.upload_media(...)` deletes right after sending.
        """
        await self._check_number(scope, phone_number_id)

        def unit(conn: Connection) -> tuple[bool, media.MediaRow | None] | None:
            item = media.get_media(conn, media_id)
            if item is None:
                return None
            numbers = _numbers_of_waba(conn, scope.waba_id)
            if not _reaches(conn, item, _users_for(numbers, phone_number_id)):
                return False, None
            if item.owner_id not in numbers or _is_profile_picture(conn, media_id):
                return True, None
            return True, media.delete_unshared_media(conn, media_id)

        outcome = await self._db.write("business.delete_media_object", unit)
        if outcome is None:
            return None
        reachable, deleted = outcome
        if not reachable:
            raise object_not_found(media_id)
        if deleted is not None:
            self._media.remove_file(deleted)
        return {"success": True}

    async def download_target(
        self, scope: GraphScope, raw_media_id: str, expires: str, signature: str
    ) -> media.MediaRow:
        """The stored media behind a download URL, for a token whose WABA reaches it (expired -> 404)."""
        media_id = _parse_int(raw_media_id)
        expires_s = _parse_int(expires)
        now_s = self._clock.now_ms() // 1000
        if media_id is None or expires_s is None or not self._urls.valid(media_id, expires_s, signature, now_s):
            raise GraphError(
                100, "This media URL is invalid or has expired: get a fresh one from GET /{media-id}.", http_status=404
            )

        def unit(conn: Connection) -> tuple[media.MediaRow, bool] | None:
            item = media.get_media(conn, media_id)
            if item is None:
                return None
            return item, _reaches(conn, item, _numbers_of_waba(conn, scope.waba_id))

        found = await self._db.read(unit)
        if found is None or not os.path.exists(found[0].path):
            raise GraphError(100, "This media was deleted.", http_status=404)
        item, reachable = found
        if not reachable:
            raise object_not_found(media_id)
        return item

    # --- POST /{phone-number-id}/media --------------------------------------------------------------------------

    async def upload_number_media(
        self,
        scope: GraphScope,
        raw_phone_number_id: str,
        filename: str | None,
        mime_type: str,
        chunks: AsyncIterator[bytes],
    ) -> dict[str, str]:
        """Store an upload for one of the WABA's numbers, held to Meta's types and limits: `{"id": ...}`."""
        number = await self._numbers.in_scope(scope, raw_phone_number_id)
        mime = mime_type.split(";")[0].strip().lower()
        if mime not in media.META_TYPES:
            raise GraphError(
                100,
                f"Param file must be a file with one of the following types: {', '.join(media.META_TYPES)}. "
                f"Received file of type '{mime or 'unknown'}'.",
            )
        try:
            row = await self._media.upload(number.user_id, filename, mime, chunks, types=media.META_TYPES)
        except AppError as exc:
            raise GraphError(131053, f"Media upload error: {exc.message}") from exc
        return {"id": str(row.id)}
