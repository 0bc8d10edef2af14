"""Checking what agents send: text fields, ids, cursors, passwords, labels, quick replies, automatic messages;
and filling a message's variables. Pure functions: every refusal is a 4xx with a message a person can act on."""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING, Any

import phonenumbers

from parley.kit.errors import ForbiddenError, InvalidInputError, NotFoundError
from parley.kit.ids import parse_id
from parley.kit.phone import InvalidPhoneNumberError, normalize_phone

if TYPE_CHECKING:
    from parley.inbox.repository import ContactRow
    from parley.inbox.service import AgentContext

COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_SHORTCUT = re.compile(r"^[a-z0-9_-]{1,32}$")
_VARIABLE = re.compile(r"\{\{\s*(name|phone|agent|business)\s*\}\}")


def require_admin(ctx: AgentContext) -> None:
    if not ctx.is_admin:
        raise ForbiddenError("only the business's owners and admins can change this")


def id_or_404(raw: str | int, what: str) -> int:
    value = raw if isinstance(raw, int) else parse_id(raw)
    if value is None:
        raise NotFoundError(f"no such {what}")
    return value


def optional_id(raw: str | None, what: str) -> int | None:
    """A filter's id: absent or empty means no filter; anything else must be an id (400 otherwise)."""
    if raw in (None, ""):
        return None
    value = parse_id(str(raw))
    if value is None:
        raise InvalidInputError(f"{what} must be an id")
    return value


def text_field(body: dict[str, Any], name: str, limit: int, *, required: bool = True) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be a string")
    value = value.strip()
    if required and not value:
        raise InvalidInputError(f"{name} is required")
    if len(value) > limit:
        raise InvalidInputError(f"{name} is limited to {limit} characters")
    return value


def parse_cursor(raw: str | None) -> tuple[int, int] | None:
    if not raw:
        return None
    try:
        at, ident = raw.split("_", 1)
        return int(at), int(ident)
    except ValueError as exc:
        raise InvalidInputError("cursor is not one this API gave out") from exc


def check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < 8 or len(password) > 256:
        raise InvalidInputError("a password has 8 to 256 characters")


def fill_variables(text: str, contact: ContactRow | None, agent_name: str, business_name: str) -> str:
    values = {
        "name": "" if contact is None else (contact.name or contact.profile_name or contact.phone),
        "phone": "" if contact is None else contact.phone,
        "agent": agent_name,
        "business": business_name,
    }
    return _VARIABLE.sub(lambda m: values[m.group(1)], text)


def label_fields(body: object) -> tuple[str, str]:
    if not isinstance(body, dict):
        raise InvalidInputError("the request body must be a JSON object")
    name = text_field(body, "name", 48)
    colour = body.get("colour", "#607d8b")
    if not isinstance(colour, str) or not COLOUR.match(colour):
        raise InvalidInputError("colour must be #rrggbb")
    return name, colour.lower()


def quick_reply_fields(body: object) -> tuple[str, str]:
    if not isinstance(body, dict):
        raise InvalidInputError("the request body must be a JSON object")
    shortcut = text_field(body, "shortcut", 33).lstrip("/").lower()
    if not _SHORTCUT.match(shortcut):
        raise InvalidInputError("a shortcut is 1 to 32 of a-z, 0-9, '-' and '_' (typed after '/')")
    return shortcut, text_field(body, "body", 4096)


def automation_fields(raw: object, what: str) -> tuple[bool, str]:
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{what} must be an object with enabled and text")
    enabled = raw.get("enabled", False)
    if not isinstance(enabled, bool):
        raise InvalidInputError(f"{what}.enabled must be true or false")
    text = text_field(raw, "text", 4096, required=enabled)
    return enabled, text


def placeholder_components(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Sample parameters (the template's own examples) so a price can be quoted before the variables are filled."""
    names = list(template.get("variable_names") or [])
    if not names:
        return []
    examples = list(template.get("examples") or [])
    named = template.get("parameter_format") == "NAMED"
    parameters = []
    for i, name in enumerate(names):
        sample = str(examples[i]) if i < len(examples) and str(examples[i]).strip() else "x"
        parameters.append({"type": "text", "text": sample, **({"parameter_name": name} if named else {})})
    return [{"type": "body", "parameters": parameters}]


def template_request(template: object) -> dict[str, Any]:
    """The Cloud API `template` object of an agent's send: name, language (a code or {code}), components."""
    if not isinstance(template, dict):
        raise InvalidInputError("template must be an object with name, language and components")
    language = template.get("language")
    if isinstance(language, str):
        language = {"code": language}
    return {"name": template.get("name"), "language": language, "components": template.get("components") or []}


def recipient_phone(raw: object, sender_phone: str) -> str:
    """A number an agent typed, in E.164: with its country code (+49 …, or 0049 …), or else as a national number
    of the sending number's country, as people write numbers of their own country."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInputError("to is required: the phone number to write to")
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    region = None if text.startswith("+") else _region_of(sender_phone)
    try:
        return normalize_phone(text, region)
    except InvalidPhoneNumberError:
        if region is not None:  # digits with a country code but no '+', as the Cloud API writes them
            with contextlib.suppress(InvalidPhoneNumberError):
                return normalize_phone(text)
        raise InvalidPhoneNumberError(
            f"'{raw.strip()}' is not a valid phone number: type it with its country code, like +14155550123"
        ) from None


def _region_of(phone: str) -> str | None:
    try:
        parsed = phonenumbers.parse(phone if phone.startswith("+") else "+" + phone)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(parsed)
    return region if region and region not in ("ZZ", "001") else None
