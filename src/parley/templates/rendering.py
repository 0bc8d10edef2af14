"""Send-time rendering: an approved template plus the send request's `components` -> the text a person reads.

Pure functions; refusals are GraphErrors with Meta's send-time codes:
132000 a component gets the wrong number of parameters (or a required one is missing),
132012 a parameter is of the wrong format (named vs positional, wrong header media type, wrong button sub_type),
132005 the rendered text is too long (body 1024, header 60, url 2000 characters),
131008 a parameter lacks its value, 131009 a value is not acceptable, 100 the components are malformed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parley.graph import GraphError
from parley.templates.rules import (
    BODY_MAX,
    COUPON_MAX,
    HEADER_TEXT_MAX,
    MEDIA_HEADER_FORMATS,
    URL_MAX,
    VARIABLE,
    distinct_variables,
)

# Meta's fixed English text of authentication templates.
AUTH_BODY = "{code} is your verification code."
AUTH_SECURITY = "For your security, do not share this code."
AUTH_FOOTER = "This code expires in {minutes} minutes."
COPY_CODE_TEXT = "Copy offer code"

# send `sub_type` -> template button types it may address
_SUB_TYPES = {
    "quick_reply": ("QUICK_REPLY",),
    "url": ("URL", "OTP"),
    "copy_code": ("COPY_CODE",),
    "flow": ("FLOW",),
    "catalog": ("CATALOG",),
    "mpm": ("MPM",),
}
_MEDIA_PARAMS = {"image": "IMAGE", "video": "VIDEO", "document": "DOCUMENT"}


@dataclass(frozen=True)
class StoredTemplate:
    """What rendering needs of a template row."""

    id: int
    name: str
    language: str
    category: str
    parameter_format: str
    components: list[dict[str, Any]]


@dataclass(frozen=True)
class RenderedTemplate:
    """A template as the recipient sees it, fixed at send time."""

    template_id: int
    name: str
    language: str
    category: str
    parameter_format: str
    # {"format": "TEXT", "text": ...} | {"format": "IMAGE"|"VIDEO"|"DOCUMENT", "media": {"id"|"link": ...}}
    # | {"format": "LOCATION", "location": {...}}
    header: dict[str, Any] | None
    body: str
    footer: str | None
    buttons: list[dict[str, Any]] = field(default_factory=list)
    # The template's quality when it was read for this send: a GREEN one needs no re-rating once sent.
    quality_score: str | None = None


@dataclass
class _SendParts:
    header: list[dict[str, Any]] | None = None
    body: list[dict[str, Any]] | None = None
    buttons: dict[int, tuple[str, list[dict[str, Any]]]] = field(default_factory=dict)


def _split_send_components(components: object) -> _SendParts:
    if components is None:
        return _SendParts()
    if not isinstance(components, list):
        raise GraphError(100, "template.components must be a list")
    parts = _SendParts()
    for i, component in enumerate(components):
        where = f"template.components[{i}]"
        if not isinstance(component, dict):
            raise GraphError(100, f"{where} must be an object")
        kind = str(component.get("type") or "").lower()
        parameters = component.get("parameters", [])
        if not isinstance(parameters, list) or not all(isinstance(p, dict) for p in parameters):
            raise GraphError(100, f"{where}.parameters must be a list of objects")
        if kind in ("header", "body"):
            if getattr(parts, kind) is not None:
                raise GraphError(100, f"{where}: more than one {kind} component")
            setattr(parts, kind, parameters)
        elif kind == "button":
            sub_type = str(component.get("sub_type") or "").lower()
            if sub_type not in _SUB_TYPES:
                raise GraphError(100, f"{where}.sub_type must be one of {', '.join(_SUB_TYPES)}")
            raw_index = component.get("index")
            index = _button_index(raw_index)
            if index is None:
                raise GraphError(100, f"{where}.index must be a button position from 0 to 9")
            if index in parts.buttons:
                raise GraphError(100, f"{where}: button index {index} is given twice")
            parts.buttons[index] = (sub_type, parameters)
        else:
            raise GraphError(100, f"{where}.type must be header, body or button")
    return parts


def _button_index(raw: object) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 0 <= raw <= 9 else None
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 2:
        value = int(raw)
        return value if value <= 9 else None
    return None


def _text_value(param: dict[str, Any], where: str) -> str:
    """The text a body/header parameter stands for: text, currency or date_time (their fallback_value)."""
    kind = param.get("type")
    if kind == "text":
        value = param.get("text")
    elif kind in ("currency", "date_time"):
        inner = param.get(kind)
        value = inner.get("fallback_value") if isinstance(inner, dict) else None
    else:
        raise GraphError(132012, f"{where}: a parameter of type {kind!r} cannot fill a text variable")
    if value is None:
        raise GraphError(131008, f"{where}: the {kind} parameter has no value")
    if not isinstance(value, str):
        raise GraphError(131009, f"{where}: the {kind} value must be a string")
    if "\n" in value or "\t" in value or "     " in value:
        raise GraphError(
            131009, f"{where}: parameter text cannot have new-lines, tabs or more than 4 consecutive spaces"
        )
    return value


def _fill(text: str, values: dict[str, str]) -> str:
    return VARIABLE.sub(lambda m: values[m.group(1)], text)


def _values_for(text: str, params: list[dict[str, Any]] | None, parameter_format: str, where: str) -> dict[str, str]:
    names = distinct_variables(text)
    params = params or []
    if len(params) != len(names):
        raise GraphError(
            132000, f"{where}: the template expects {len(names)} parameter(s), the request gives {len(params)}"
        )
    if parameter_format == "NAMED":
        values: dict[str, str] = {}
        for j, param in enumerate(params):
            name = param.get("parameter_name")
            if not isinstance(name, str):
                raise GraphError(132012, f"{where}: parameter {j} needs a parameter_name (the template is NAMED)")
            if name not in names:
                raise GraphError(132000, f"{where}: the template has no parameter named {name!r}")
            if name in values:
                raise GraphError(132000, f"{where}: parameter {name!r} is given twice")
            values[name] = _text_value(param, f"{where} parameter {name!r}")
        return values
    values = {}
    for j, param in enumerate(params):
        if "parameter_name" in param:
            raise GraphError(132012, f"{where}: parameter_name is for NAMED templates; this one is POSITIONAL")
        values[names[j]] = _text_value(param, f"{where} parameter {j + 1}")
    return values


def _render_header(
    component: dict[str, Any] | None, params: list[dict[str, Any]] | None, parameter_format: str
) -> dict[str, Any] | None:
    if component is None:
        if params:
            raise GraphError(132000, "header: the template has no header, the request gives header parameters")
        return None
    header_format = component.get("format", "TEXT")
    if header_format == "TEXT":
        text = str(component.get("text") or "")
        rendered = _fill(text, _values_for(text, params, parameter_format, "header"))
        if len(rendered) > HEADER_TEXT_MAX:
            raise GraphError(132005, f"header: the rendered header is {len(rendered)} characters; at most 60")
        return {"format": "TEXT", "text": rendered}
    if not params:
        raise GraphError(132000, f"header: the template has a {header_format} header: give it as a header parameter")
    if len(params) != 1:
        raise GraphError(132000, f"header: the template expects 1 parameter, the request gives {len(params)}")
    param = params[0]
    kind = param.get("type")
    if header_format in MEDIA_HEADER_FORMATS:
        if _MEDIA_PARAMS.get(str(kind)) != header_format:
            raise GraphError(132012, f"header: the template has a {header_format} header, the request gives {kind!r}")
        media = param.get(str(kind))
        if not isinstance(media, dict) or not (
            isinstance(media.get("id"), str | int) or isinstance(media.get("link"), str)
        ):
            raise GraphError(131008, f"header: the {kind} parameter needs an id or a link")
        if "id" in media and "link" in media:
            raise GraphError(131009, f"header: the {kind} parameter takes an id or a link, not both")
        kept = {k: media[k] for k in ("id", "link", "caption", "filename") if k in media}
        if "id" in kept:
            kept["id"] = str(kept["id"])
        return {"format": header_format, "media": kept}
    # LOCATION
    if kind != "location":
        raise GraphError(132012, f"header: the template has a LOCATION header, the request gives {kind!r}")
    location = param.get("location")
    if not isinstance(location, dict) or not all(k in location for k in ("latitude", "longitude")):
        raise GraphError(131008, "header: the location parameter needs latitude and longitude")
    try:
        latitude, longitude = float(location["latitude"]), float(location["longitude"])
    except (TypeError, ValueError) as error:
        raise GraphError(131009, "header: latitude and longitude must be numbers") from error
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise GraphError(131009, "header: latitude must be within ±90 and longitude within ±180")
    rendered_location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    for key in ("name", "address"):
        if isinstance(location.get(key), str):
            rendered_location[key] = location[key]
    return {"format": "LOCATION", "location": rendered_location}


def _single_param(params: list[dict[str, Any]], where: str, kind: str) -> dict[str, Any]:
    if len(params) != 1:
        raise GraphError(132000, f"{where}: expects 1 parameter, the request gives {len(params)}")
    param = params[0]
    if param.get("type") != kind:
        raise GraphError(132012, f"{where}: expects a {kind} parameter, the request gives {param.get('type')!r}")
    return param


def _render_button(
    index: int, button: dict[str, Any], given: tuple[str, list[dict[str, Any]]] | None
) -> dict[str, Any]:
    kind = button["type"]
    where = f"button {index} ({kind})"
    if given is not None:
        sub_type, params = given
        if kind not in _SUB_TYPES[sub_type]:
            raise GraphError(132012, f"{where}: the request addresses it as sub_type {sub_type!r}")
    else:
        params = []
    text = button.get("text")
    if kind == "QUICK_REPLY":
        payload = text
        if params:
            payload_param = _single_param(params, where, "payload")
            payload = payload_param.get("payload")
            if not isinstance(payload, str):
                raise GraphError(131008, f"{where}: the payload parameter needs a payload string")
        return {"type": "QUICK_REPLY", "text": text, "payload": payload}
    if kind == "URL":
        url = str(button.get("url") or "")
        if VARIABLE.search(url):
            if given is None:
                raise GraphError(132000, f"{where}: the url has a variable: give it as a url button parameter")
            suffix = _single_param(params, where, "text").get("text")
            if not isinstance(suffix, str):
                raise GraphError(131008, f"{where}: the text parameter needs text")
            url = VARIABLE.sub(lambda _m: suffix, url)
            if len(url) > URL_MAX:
                raise GraphError(132005, f"{where}: the rendered url is {len(url)} characters; at most {URL_MAX}")
        elif params:
            raise GraphError(132000, f"{where}: the url has no variable, the request gives {len(params)} parameter(s)")
        return {"type": "URL", "text": text, "url": url}
    if kind == "COPY_CODE":
        if given is None:
            raise GraphError(132000, f"{where}: give the code as a copy_code button parameter")
        code = _single_param(params, where, "coupon_code").get("coupon_code")
        if not isinstance(code, str) or not 0 < len(code) <= COUPON_MAX:
            raise GraphError(131009, f"{where}: coupon_code must be 1 to {COUPON_MAX} characters")
        return {"type": "COPY_CODE", "text": COPY_CODE_TEXT, "code": code}
    if kind == "OTP":
        code = None
        if params:
            code = _single_param(params, where, "text").get("text")
        return {"type": "OTP", "otp_type": button.get("otp_type"), "text": text or "Copy code", "code": code}
    if kind == "PHONE_NUMBER":
        if given is not None:
            raise GraphError(132000, f"{where}: phone number buttons take no parameters")
        return {"type": "PHONE_NUMBER", "text": text, "phone_number": button.get("phone_number")}
    # FLOW, CATALOG, MPM: an optional action parameter, passed through.
    rendered: dict[str, Any] = {"type": kind, "text": text}
    if kind == "FLOW":
        for key in ("flow_id", "flow_name", "flow_action", "navigate_screen"):
            if button.get(key) is not None:
                rendered[key] = button[key]
    if params:
        action = _single_param(params, where, "action").get("action")
        if not isinstance(action, dict):
            raise GraphError(131008, f"{where}: the action parameter needs an action object")
        rendered["action"] = action
    return rendered


def _render_buttons(buttons: list[dict[str, Any]], given: dict[int, tuple[str, list[dict[str, Any]]]]) -> list[Any]:
    unknown = sorted(i for i in given if i >= len(buttons))
    if unknown:
        raise GraphError(132000, f"the template has {len(buttons)} button(s); there is no button {unknown[0]}")
    return [_render_button(i, button, given.get(i)) for i, button in enumerate(buttons)]


def _render_authentication(template: StoredTemplate, parts: _SendParts) -> RenderedTemplate:
    by_type = {c["type"]: c for c in template.components}
    params = parts.body or []
    if len(params) != 1:
        raise GraphError(132000, f"body: an authentication template expects 1 parameter (the code), got {len(params)}")
    code = _text_value(params[0], "body parameter 1")
    if not 0 < len(code) <= COUPON_MAX:
        raise GraphError(131009, f"body: the code must be 1 to {COUPON_MAX} characters")
    if parts.header:
        raise GraphError(132000, "header: authentication templates have no header")
    body = AUTH_BODY.format(code=code)
    if by_type["BODY"].get("add_security_recommendation"):
        body = f"{body} {AUTH_SECURITY}"
    footer_component = by_type.get("FOOTER")
    footer = (
        AUTH_FOOTER.format(minutes=footer_component["code_expiration_minutes"])
        if footer_component and footer_component.get("code_expiration_minutes")
        else None
    )
    buttons = _render_buttons((by_type.get("BUTTONS") or {}).get("buttons") or [], parts.buttons)
    for button in buttons:
        if button["type"] == "OTP" and button.get("code") is None:
            button["code"] = code
    return RenderedTemplate(
        template.id, template.name, template.language, template.category, template.parameter_format,
        None, body, footer, buttons,
    )  # fmt: skip


def render(template: StoredTemplate, components: object) -> RenderedTemplate:
    """The template filled with the request's parameters, or the GraphError Meta would answer."""
    parts = _split_send_components(components)
    if template.category == "AUTHENTICATION":
        return _render_authentication(template, parts)
    by_type = {c["type"]: c for c in template.components}
    header = _render_header(by_type.get("HEADER"), parts.header, template.parameter_format)
    body_text = str(by_type["BODY"].get("text") or "")
    body = _fill(body_text, _values_for(body_text, parts.body, template.parameter_format, "body"))
    if len(body) > BODY_MAX:
        raise GraphError(132005, f"body: the rendered body is {len(body)} characters; at most {BODY_MAX}")
    footer_component = by_type.get("FOOTER")
    footer = str(footer_component["text"]) if footer_component and footer_component.get("text") else None
    buttons = _render_buttons((by_type.get("BUTTONS") or {}).get("buttons") or [], parts.buttons)
    return RenderedTemplate(
        template.id, template.name, template.language, template.category, template.parameter_format,
        header, body, footer, buttons,
    )  # fmt: skip
