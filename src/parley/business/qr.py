"""QR codes and short links of a business number (Meta's `message_qrdls`), stored as `referral_links` rows.

A QR code opens `/c/{code}` like a click-to-chat ad link: the click is counted and the person's first message
carries its click id, so conversations are counted too. Unlike an ad it brings no `referral` object and no
free-entry-point window (business/bridge.py checks `source_type`).
"""

from __future__ import annotations

import base64
import io
import secrets
from dataclasses import dataclass
from typing import Any

import segno

from parley.business import repository as repo
from parley.business.numbers import BusinessNumbers
from parley.graph import GraphError, GraphScope, object_not_found, parse_fields
from parley.kit.clock import Clock
from parley.kit.errors import InvalidInputError, NotFoundError
from parley.platform.db import Database

SOURCE_TYPE = "qr"
CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # Meta's codes: 14 characters of base32
CODE_LENGTH = 14
MAX_PREFILLED = 140  # Meta's limit on a QR code's prefilled message
MAX_PAGE = 25
IMAGE_KINDS = {"SVG": "svg", "PNG": "png"}
MIME_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
_DEFAULT_FIELDS = ("code", "prefilled_message", "deep_link_url")
_FIELDS = frozenset({*_DEFAULT_FIELDS, "creation_time", "qr_image_url"})
_CREATE_KEYS = frozenset({"prefilled_message", "generate_qr_image", "code", "messaging_product"})


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def deep_link(public_url: str, code: str) -> str:
    return f"{public_url.rstrip('/')}/c/{code}"


def render(url: str, kind: str) -> bytes:
    """The QR code of `url` as an SVG or PNG file (error correction M survives a smudge or a small logo)."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind=kind, scale=8 if kind == "png" else 4, border=4)
    return buffer.getvalue()


def prefilled_problem(value: object) -> str | None:
    """Why `value` cannot be a prefilled message, or None."""
    if not isinstance(value, str):
        return "prefilled_message must be a string"
    if len(value) > MAX_PREFILLED:
        return f"prefilled_message must be at most {MAX_PREFILLED} characters (got {len(value)})"
    return None


def _image_kind(raw: object) -> str:
    kind = IMAGE_KINDS.get(raw.upper()) if isinstance(raw, str) else None
    if kind is None:
        raise GraphError(100, f"generate_qr_image must be SVG or PNG (got {str(raw)[:16]!r})")
    return kind


# --- the Cloud API -------------------------------------------------------------------------------------------


def _image_url(public_url: str, version: int, code: str, kind: str) -> str:
    # Public, like Meta's CDN image URLs: a printer or a design tool fetches it without a token.
    return f"{public_url.rstrip('/')}/v{version}.0/message_qrdls/{code}.{kind}"


def _graph_view(
    public_url: str, version: int, link: repo.ReferralLinkRow, wanted: list[str], kind: str | None
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "code": link.code,
        "prefilled_message": link.prefilled_text,
        "deep_link_url": deep_link(public_url, link.code),
        "creation_time": link.created_at // 1000,
    }
    if kind is not None:
        values["qr_image_url"] = _image_url(public_url, version, link.code, kind)
    return {name: values[name] for name in wanted if name in values}


def _wanted_fields(fields: str | None) -> tuple[list[str], str | None]:
    """The fields asked for and the image format of `qr_image_url.format(SVG|PNG)`, if asked."""
    specs = parse_fields(fields)
    if not specs:
        return list(_DEFAULT_FIELDS), None
    wanted, kind = [], None
    for spec in specs:
        if spec.name not in _FIELDS:
            raise GraphError(100, f"Tried accessing nonexisting field ({spec.name}) on node type (MessageQrdl)")
        if spec.name == "qr_image_url":
            kind = _image_kind(spec.params.get("format", "PNG"))
        wanted.append(spec.name)
    return ["code", *[name for name in wanted if name != "code"]], kind


def _decode_after(raw: str | None) -> tuple[int, str] | None:
    if not raw:
        return None
    try:
        created_at, _, code = base64.urlsafe_b64decode(raw.encode() + b"==").decode().partition(".")
        return int(created_at), code
    except ValueError:
        raise GraphError(100, "after is not a cursor this server issued") from None


def _encode_cursor(link: repo.ReferralLinkRow) -> str:
    return base64.urlsafe_b64encode(f"{link.created_at}.{link.code}".encode()).decode().rstrip("=")


@dataclass(frozen=True)
class InboxLink:
    code: str
    url: str
    prefilled_message: str
    number_id: int
    clicks: int
    conversations: int
    created_at: int


def _inbox_link(public_url: str, link: repo.ReferralLinkRow, clicks: int, conversations: int) -> InboxLink:
    return InboxLink(
        code=link.code,
        url=deep_link(public_url, link.code),
        prefilled_message=link.prefilled_text,
        number_id=link.phone_number_id,
        clicks=clicks,
        conversations=conversations,
        created_at=link.created_at,
    )


class QrCodes:
    """A business's QR codes: through the Cloud API (Meta's errors) and through the team inbox (the inbox's)."""

    def __init__(self, db: Database, clock: Clock, numbers: BusinessNumbers, public_url: str) -> None:
        self._db, self._clock = db, clock
        self._numbers = numbers
        self._public_url = public_url

    async def _code_of_number(self, number_id: int, code: str) -> repo.ReferralLinkRow:
        link = await self._db.read(lambda c: repo.get_referral_link(c, code))
        if link is None or link.phone_number_id != number_id or link.source_type != SOURCE_TYPE:
            raise object_not_found(code)
        return link

    async def create_or_update(
        self, scope: GraphScope, raw_number_id: str, body: object, version: int
    ) -> dict[str, Any]:
        """`POST /{phone_number_id}/message_qrdls`: a new code, or with `code` a new message for an existing one."""
        number = await self._numbers.in_scope(scope, raw_number_id)
        if not isinstance(body, dict):
            raise GraphError(100, "the request body must be a JSON object")
        unknown = sorted(set(body) - _CREATE_KEYS)
        if unknown:
            raise GraphError(100, f"Param {unknown[0]} is not a valid parameter of message_qrdls")
        if "prefilled_message" not in body:
            raise GraphError(100, "The parameter prefilled_message is required.")
        problem = prefilled_problem(body["prefilled_message"])
        if problem is not None:
            raise GraphError(100, problem)
        text = str(body["prefilled_message"])
        kind = None if body.get("generate_qr_image") is None else _image_kind(body["generate_qr_image"])
        public = self._public_url
        raw_code = body.get("code")
        if raw_code is not None:
            if not isinstance(raw_code, str):
                raise GraphError(100, "code must be the string a previous call returned")
            link = await self._code_of_number(number.id, raw_code)
            await self._db.write(
                "business.create_or_update", lambda c: repo.set_link_prefilled_text(c, link.code, text)
            )
            link = repo.ReferralLinkRow(**{**link.__dict__, "prefilled_text": text})
        else:
            link = await self._insert(number.id, text)
        wanted = [*_DEFAULT_FIELDS, "qr_image_url"]
        return _graph_view(public, version, link, wanted, kind)

    async def _insert(self, number_id: int, text: str) -> repo.ReferralLinkRow:
        code = new_code()
        link = repo.ReferralLinkRow(
            code=code,
            phone_number_id=number_id,
            source_type=SOURCE_TYPE,
            source_id=code,
            source_url=deep_link(self._public_url, code),
            headline="",
            body="",
            prefilled_text=text,
            created_at=self._clock.now_ms(),
        )
        await self._db.write("business.insert", lambda c: repo.insert_referral_link(c, link))
        return link

    async def list_codes(
        self,
        scope: GraphScope,
        raw_number_id: str,
        version: int,
        fields: str | None,
        code: str | None,
        limit: int,
        after: str | None,
    ) -> dict[str, Any]:
        """`GET /{phone_number_id}/message_qrdls`: newest first, Graph cursor paging."""
        number = await self._numbers.in_scope(scope, raw_number_id)
        wanted, kind = _wanted_fields(fields)
        if not 1 <= limit <= MAX_PAGE:
            raise GraphError(100, f"limit must be between 1 and {MAX_PAGE}")
        public = self._public_url
        if code is not None:
            link = await self._db.read(lambda c: repo.get_referral_link(c, code))
            found = link is not None and link.phone_number_id == number.id and link.source_type == SOURCE_TYPE
            return {"data": [_graph_view(public, version, link, wanted, kind)] if found and link else []}
        cursor = _decode_after(after)
        rows = await self._db.read(lambda c: repo.links_of_number(c, number.id, SOURCE_TYPE, limit + 1, cursor))
        page = rows[:limit]
        answer: dict[str, Any] = {"data": [_graph_view(public, version, link, wanted, kind) for link in page]}
        if page:
            paging: dict[str, Any] = {"cursors": {"before": _encode_cursor(page[0]), "after": _encode_cursor(page[-1])}}
            if len(rows) > limit:
                base = f"{public.rstrip('/')}/v{version}.0/{number.id}/message_qrdls"
                paging["next"] = f"{base}?limit={limit}&after={_encode_cursor(page[-1])}" + (
                    f"&fields={fields}" if fields else ""
                )
            answer["paging"] = paging
        return answer

    async def get_code(
        self, scope: GraphScope, raw_number_id: str, code: str, version: int, fields: str | None
    ) -> dict[str, Any]:
        """`GET /{phone_number_id}/message_qrdls/{code}`: `{"data": [the code]}`."""
        number = await self._numbers.in_scope(scope, raw_number_id)
        wanted, kind = _wanted_fields(fields)
        link = await self._code_of_number(number.id, code)
        return {"data": [_graph_view(self._public_url, version, link, wanted, kind)]}

    async def delete_code(self, scope: GraphScope, raw_number_id: str, code: str) -> dict[str, bool]:
        number = await self._numbers.in_scope(scope, raw_number_id)
        link = await self._code_of_number(number.id, code)
        await self._db.write("business.delete_code", lambda c: repo.delete_referral_link(c, link.code))
        return {"success": True}

    async def public_image(self, code: str, kind: str) -> bytes:
        """The image behind a `qr_image_url`: anyone holding the link may scan it, so anyone may fetch it."""
        link = None if kind not in MIME_TYPES else await self._db.read(lambda c: repo.get_referral_link(c, code))
        if link is None or link.source_type != SOURCE_TYPE:
            gone = f"no QR code {code[:32]!r}: it never existed or was deleted"
            raise GraphError(100, gone, http_status=404, subcode=33)
        return render(deep_link(self._public_url, link.code), kind)

    # --- the team inbox (errors in the inbox's terms) ------------------------------------------------------------

    async def inbox_links(self, waba_id: int) -> list[InboxLink]:
        numbers = await self._numbers.ids_of_waba(waba_id)
        rows = await self._db.read(lambda c: repo.link_stats_of_numbers(c, numbers, SOURCE_TYPE))
        public = self._public_url
        return [_inbox_link(public, s.link, s.clicks, s.conversations) for s in rows]

    async def inbox_create(self, waba_id: int, body: object) -> InboxLink:
        if not isinstance(body, dict):
            raise InvalidInputError("the request body must be a JSON object")
        unknown = sorted(set(body) - {"number_id", "prefilled_message"})
        if unknown:
            raise InvalidInputError(f"unknown field {unknown[0]}: send number_id and prefilled_message")
        text = body.get("prefilled_message", "")
        problem = prefilled_problem(text)
        if problem is not None:
            raise InvalidInputError(problem)
        number_id = await self._numbers.inbox_number(waba_id, body.get("number_id"))
        link = await self._insert(number_id, str(text))
        return _inbox_link(self._public_url, link, 0, 0)

    async def _inbox_code(self, waba_id: int, code: str) -> repo.ReferralLinkRow:
        numbers = await self._numbers.ids_of_waba(waba_id)
        link = await self._db.read(lambda c: repo.get_referral_link(c, code))
        if link is None or link.phone_number_id not in numbers or link.source_type != SOURCE_TYPE:
            raise NotFoundError("this business has no such link")
        return link

    async def inbox_delete(self, waba_id: int, code: str) -> None:
        link = await self._inbox_code(waba_id, code)
        await self._db.write("business.inbox_delete", lambda c: repo.delete_referral_link(c, link.code))

    async def inbox_image(self, waba_id: int, code: str, kind: str) -> bytes:
        link = await self._inbox_code(waba_id, code)
        return render(deep_link(self._public_url, link.code), kind)
