"""Graph field selection: `fields=name,status,pricing_analytics.start(1).end(2).granularity(DAILY)`."""

from __future__ import annotations

from dataclasses import dataclass, field

from parley.graph.errors import GraphError


@dataclass(frozen=True)
class FieldSpec:
    name: str
    # `.start(1).end(2)` -> {"start": "1", "end": "2"}; a list argument `[a,b]` stays a raw string.
    params: dict[str, str] = field(default_factory=dict)
    # `components{type,text}` -> the nested selection
    subfields: tuple[FieldSpec, ...] = ()


def parse_fields(raw: str | None) -> list[FieldSpec]:
    if not raw:
        return []
    specs, rest = _parse_list(raw.strip(), 0, top=True)
    if rest != len(raw.strip()):
        raise GraphError(100, f"could not parse fields={raw!r}")
    return specs


def _parse_list(text: str, pos: int, top: bool) -> tuple[list[FieldSpec], int]:
    specs: list[FieldSpec] = []
    while pos < len(text):
        spec, pos = _parse_one(text, pos)
        specs.append(spec)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        if pos < len(text) and text[pos] == "}" and not top:
            break
        if pos < len(text):
            raise GraphError(100, f"unexpected {text[pos]!r} in fields at {pos}")
    return specs, pos


def _parse_one(text: str, pos: int) -> tuple[FieldSpec, int]:
    start = pos
    while pos < len(text) and (text[pos].isalnum() or text[pos] == "_"):
        pos += 1
    name = text[start:pos]
    if not name:
        raise GraphError(100, f"expected a field name in fields at {pos}")
    params: dict[str, str] = {}
    subfields: tuple[FieldSpec, ...] = ()
    while pos < len(text) and text[pos] == ".":
        key_start = pos = pos + 1
        while pos < len(text) and (text[pos].isalnum() or text[pos] == "_"):
            pos += 1
        key = text[key_start:pos]
        if not key or pos >= len(text) or text[pos] != "(":
            raise GraphError(100, f"expected .{key or 'name'}(value) in fields at {pos}")
        depth, value_start = 0, pos + 1
        while pos < len(text):
            if text[pos] == "(":
                depth += 1
            elif text[pos] == ")":
                depth -= 1
                if depth == 0:
                    break
            pos += 1
        if pos >= len(text):
            raise GraphError(100, "unclosed ( in fields")
        params[key] = text[value_start:pos]
        pos += 1
    if pos < len(text) and text[pos] == "{":
        inner, pos = _parse_list(text, pos + 1, top=False)
        if pos >= len(text) or text[pos] != "}":
            raise GraphError(100, "unclosed { in fields")
        subfields = tuple(inner)
        pos += 1
    return FieldSpec(name, params, subfields), pos
