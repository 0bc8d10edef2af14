"""Business profiles: `GET`/`POST /{phone-number-id}/whatsapp_business_profile` and what people see of them.

A profile belongs to one business number. Updates are partial (fields left out keep their values) and
all-or-nothing: any bad value is Meta's error 100 naming the field, and nothing is applied.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence  # signals
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, insert, select, update

from parley import media
from parley.business.media import reachable_media
from parley.business.models import business_profiles, phone_numbers
from parley.business.numbers import BusinessNumbers
from parley.graph import GraphError, GraphScope, parse_fields
from parley.kit.clock import Clock
from parley.kit.errors import InvalidInputError
from parley.kit.ids import parse_id
from parley.platform.db import Database

# Meta's business verticals (WhatsAppBusinessVertical).
VERTICALS = frozenset(
    {
        "OTHER", "AUTO", "BEAUTY", "APPAREL", "EDU", "ENTERTAIN", "EVENT_PLAN", "FINANCE", "GROCERY", "GOVT",
        "HOTEL", "HEALTH", "NONPROFIT", "PROF_SERVICES", "RETAIL", "TRAVEL", "RESTAURANT", "ALCOHOL",
        "ONLINE_GAMBLING", "PHYSICAL_GAMBLING", "OTC_DRUGS", "MATCHMAKING",
    }
)  # fmt: skip
DEFAULT_VERTICAL = "OTHER"
TEXT_LIMITS = {"about": 139, "address": 256, "description": 512, "email": 128}
MAX_WEBSITES, MAX_WEBSITE_CHARS = 2, 256
READABLE_FIELDS = ("about", "address", "description", "email", "profile_picture_url", "websites", "vertical")
_WRITABLE = frozenset({*TEXT_LIMITS, "websites", "vertical", "profile_picture_handle", "messaging_product"})
_PICTURE_TYPES = frozenset({"image/jpeg", "image/png"})
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


@dataclass(frozen=True)
class Profile:
    phone_number_id: int
    user_id: int
    verified_name: str
    display_phone_number: str
    about: str
    address: str
    description: str
    email: str
    websites: list[str]
    vertical: str
    profile_picture_media_id: int | None


def _load(conn: Connection, number_id: int | None = None, user_id: int | None = None) -> Profile | None:
    query = select(
        phone_numbers.c.id,
        phone_numbers.c.user_id,
        phone_numbers.c.verified_name,
        phone_numbers.c.display_phone_number,
        business_profiles,
    ).select_from(phone_numbers.outerjoin(business_profiles, business_profiles.c.phone_number_id == phone_numbers.c.id))
    query = query.where(phone_numbers.c.id == number_id) if number_id is not None else query
    query = query.where(phone_numbers.c.user_id == user_id) if user_id is not None else query
    r = conn.execute(query).first()
    if r is None:
        return None
    return Profile(
        phone_number_id=r.id,
        user_id=r.user_id,
        verified_name=r.verified_name,
        display_phone_number=r.display_phone_number,
        about=r.about or "",
        address=r.address or "",
        description=r.description or "",
        email=r.email or "",
        websites=list(json.loads(r.websites)) if r.websites else [],
        vertical=r.vertical or DEFAULT_VERTICAL,
        profile_picture_media_id=r.profile_picture_media_id,
    )


def picture_url(public_url: str, profile: Profile) -> str | None:
    if profile.profile_picture_media_id is None:
        return None
    base = public_url.rstrip("/")
    return f"{base}/client/v1/businesses/{profile.user_id}/profile/picture?v={profile.profile_picture_media_id}"


def _values(profile: Profile, public_url: str) -> dict[str, Any]:
    return {
        "about": profile.about,
        "address": profile.address,
        "description": profile.description,
        "email": profile.email,
        "profile_picture_url": picture_url(public_url, profile),
        "websites": profile.websites,
        "vertical": profile.vertical,
    }


def parse_profile_update(body: object) -> dict[str, Any]:
    """The changes a `POST .../whatsapp_business_profile` asks for, checked: {column: value}.

    `profile_picture_handle` comes back as `profile_picture_media_id` (an int, or None to remove the picture),
    still to be checked against the media the business can use.
    """
    if not isinstance(body, dict):
        raise GraphError(100, "the request body must be a JSON object")
    if body.get("messaging_product") != "whatsapp":
        raise GraphError(100, "The parameter messaging_product is required and must be 'whatsapp'.")
    unknown = sorted(set(body) - _WRITABLE)
    if unknown:
        raise GraphError(100, f"Param {unknown[0]} is not a valid business profile field")
    changes: dict[str, Any] = {}
    for name, limit in TEXT_LIMITS.items():
        if name not in body:
            continue
        value = body[name]
        if not isinstance(value, str):
            raise GraphError(100, f"Param {name} must be a string")
        if len(value) > limit:
            raise GraphError(100, f"Param {name} must be at most {limit} characters (got {len(value)})")
        if name == "about" and not value.strip():
            raise GraphError(100, "Param about cannot be empty")
        if name == "email" and value and not _EMAIL.match(value):
            raise GraphError(100, f"Param email must be a valid email address (got {value[:130]!r})")
        changes[name] = value
    if "websites" in body:
        changes["websites"] = json.dumps(_websites(body["websites"]))
    if "vertical" in body:
        vertical = body["vertical"]
        if vertical in ("", None):
            vertical = DEFAULT_VERTICAL
        if vertical not in VERTICALS:
            raise GraphError(100, f"Param vertical must be one of {', '.join(sorted(VERTICALS))} (got {vertical!r})")
        changes["vertical"] = vertical
    if "profile_picture_handle" in body:
        handle = body["profile_picture_handle"]
        if handle in ("", None):
            changes["profile_picture_media_id"] = None
        else:
            media_id = parse_id(handle) if isinstance(handle, str) else None
            if media_id is None:
                raise GraphError(
                    100,
                    "Param profile_picture_handle must be the id of an image uploaded with "
                    "POST /{phone-number-id}/media",
                )
            changes["profile_picture_media_id"] = media_id
    return changes


def _websites(value: object) -> list[str]:
    if value in ("", None):
        return []
    if not isinstance(value, list):
        raise GraphError(100, "Param websites must be a list of URLs")
    if len(value) > MAX_WEBSITES:
        raise GraphError(100, f"Param websites takes at most {MAX_WEBSITES} URLs (got {len(value)})")
    for index, site in enumerate(value):
        if not isinstance(site, str) or not site:
            raise GraphError(100, f"Param websites[{index}] must be a URL")
        if len(site) > MAX_WEBSITE_CHARS:
            raise GraphError(100, f"Param websites[{index}] must be at most {MAX_WEBSITE_CHARS} characters")
        try:
            parts = urlsplit(site)
            valid = parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in site)
        except ValueError:
            valid = False
        if not valid:
            raise GraphError(100, f"Param websites[{index}] must be an http:// or https:// URL (got {site[:260]!r})")
    return list(value)


class BusinessProfiles:
    """The profiles of business numbers: through the Cloud API, the team inbox, and as people see them."""

    def __init__(self, db: Database, clock: Clock, numbers: BusinessNumbers, public_url: str) -> None:
        self._db, self._clock = db, clock
        self._numbers = numbers
        self._public_url = public_url

    @staticmethod
    def verticals_in(conn: Connection, number_ids: Sequence[int]) -> dict[int, str]:  # signals
        """The category (Meta's vertical) of each business number, for the signals store."""  # signals
        if not number_ids:  # signals
            return {}  # signals
        p = business_profiles.c  # signals
        rows = conn.execute(
            select(p.phone_number_id, p.vertical).where(p.phone_number_id.in_(list(number_ids)))
        )  # signals
        found = {int(r[0]): str(r[1] or DEFAULT_VERTICAL) for r in rows}  # signals
        return {n: found.get(n, DEFAULT_VERTICAL) for n in number_ids}  # signals: no profile yet reads as OTHER

    # --- the Cloud API ------------------------------------------------------------

    async def get_business_profile(
        self, scope: GraphScope, raw_phone_number_id: str, fields: str | None
    ) -> dict[str, Any]:
        """`{"data": [{...profile, "messaging_product": "whatsapp"}]}`; unset fields are left out, as Meta does."""
        number = await self._numbers.in_scope(scope, raw_phone_number_id)
        wanted = [spec.name for spec in parse_fields(fields)] or list(READABLE_FIELDS)
        for name in wanted:
            if name not in READABLE_FIELDS and name != "messaging_product":
                raise GraphError(
                    100, f"Tried accessing nonexisting field ({name}) on node type (WhatsAppBusinessProfile)"
                )
        profile = await self._db.read(lambda c: _load(c, number_id=number.id))
        if profile is None:  # the number was checked above; a profile always has one
            raise GraphError(100, "no business profile for this number", subcode=33)
        values = _values(profile, self._public_url)
        item: dict[str, Any] = {name: values[name] for name in wanted if values.get(name)}
        item["messaging_product"] = "whatsapp"
        return {"data": [item]}

    async def update_business_profile(
        self, scope: GraphScope, raw_phone_number_id: str, body: object
    ) -> dict[str, bool]:
        number = await self._numbers.in_scope(scope, raw_phone_number_id)
        await self._update(scope.waba_id, number.id, body)
        return {"success": True}

    async def _update(self, waba_id: int, number_id: int, body: object) -> None:
        changes = parse_profile_update(body)
        now = self._clock.now_ms()
        picture_id = changes.get("profile_picture_media_id")

        def unit(conn: Connection) -> None:
            if picture_id is not None:
                numbers = select(phone_numbers.c.user_id).where(phone_numbers.c.waba_id == waba_id)
                item = reachable_media(conn, {r.user_id for r in conn.execute(numbers)}, picture_id)
                if item is None:
                    raise GraphError(100, f"Param profile_picture_handle: no media {picture_id} this business can use")
                if item.mime_type not in _PICTURE_TYPES:
                    raise GraphError(
                        100, f"Param profile_picture_handle: media {picture_id} is {item.mime_type}, not JPEG or PNG"
                    )
                media.mark_media_used(conn, picture_id, now)  # on the profile: kept, like media sent in a chat
            exists = conn.execute(
                select(business_profiles.c.phone_number_id).where(business_profiles.c.phone_number_id == number_id)
            ).first()
            if exists is None:
                conn.execute(insert(business_profiles).values(phone_number_id=number_id, updated_at=now, **changes))
            else:
                statement = update(business_profiles).where(business_profiles.c.phone_number_id == number_id)
                conn.execute(statement.values(updated_at=now, **changes))

        await self._db.write("business.update", unit)

    # --- the team inbox (errors in the inbox's terms) ----------------------------------------------------------

    async def inbox_profile(self, waba_id: int, raw_number_id: object) -> dict[str, Any]:
        """Every profile field of one of the business's numbers (unset ones empty), and the number's id."""
        number_id = await self._numbers.inbox_number(waba_id, raw_number_id)
        profile = await self._db.read(lambda c: _load(c, number_id=number_id))
        values = {} if profile is None else _values(profile, self._public_url)
        item = {name: value for name, value in values.items() if value}
        empty = {name: "" for name in TEXT_LIMITS}
        return {"number_id": str(number_id), **empty, "websites": [], "profile_picture_url": None, **item}

    async def update_inbox_profile(self, waba_id: int, raw_number_id: object, body: object) -> dict[str, Any]:
        """A partial update with the Cloud API's rules; a bad value is a 400 in the inbox's terms."""
        number_id = await self._numbers.inbox_number(waba_id, raw_number_id)
        if not isinstance(body, dict):
            raise InvalidInputError("the request body must be a JSON object")
        unknown = sorted(set(body) - {*TEXT_LIMITS, "websites", "vertical"})
        if unknown:
            raise InvalidInputError(f"{unknown[0]} is not a profile field you can change here")
        try:
            await self._update(waba_id, number_id, {**body, "messaging_product": "whatsapp"})
        except GraphError as exc:
            raise InvalidInputError(exc.details) from exc
        return await self.inbox_profile(waba_id, str(number_id))

    # --- what people see -----------------------------------------------------------------------------------------

    async def public_profile(self, user_id: int) -> dict[str, Any] | None:
        """A business account's name, number and profile, for people; None if `user_id` is not a business."""
        profile = await self._db.read(lambda c: _load(c, user_id=user_id))
        if profile is None:
            return None
        return {
            "user_id": str(profile.user_id),
            "name": profile.verified_name,
            "phone": profile.display_phone_number,
            **_values(profile, self._public_url),
        }

    async def profile_picture(self, user_id: int) -> media.MediaRow | None:
        """The business's current profile picture (public, like Meta's profile picture URLs)."""

        def unit(conn: Connection) -> media.MediaRow | None:
            profile = _load(conn, user_id=user_id)
            if profile is None or profile.profile_picture_media_id is None:
                return None
            return media.get_media(conn, profile.profile_picture_media_id)

        return await self._db.read(unit)
