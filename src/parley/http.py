"""HTTP plumbing shared by every domain's endpoints: the container, the caller, the error shape."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Depends, Path, Request
from starlette.requests import HTTPConnection

from parley.accounts import Principal
from parley.container import Container
from parley.graph import GraphError, GraphScope, parse_version

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": description,
        "content": {
            "application/json": {
                "example": {"error": {"code": code, "message": "..."}},
                "schema": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                            "required": ["code", "message"],
                        }
                    },
                },
            }
        },
    }
    for status, code, description in [
        (400, "invalid_request", "Bad input"),
        (401, "invalid_token", "Missing, expired or revoked token"),
        (404, "not_found", "Unknown, or not yours"),
    ]
}


def get_container(connection: HTTPConnection) -> Container:
    container: Container = connection.app.state.container
    return container


def bearer_token(connection: HTTPConnection) -> str | None:
    """The `Authorization: Bearer` token. Never one from the query string: URLs end up in logs and `Referer`s."""
    header = connection.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def stream_token(connection: HTTPConnection) -> str | None:
    """The stream's token: the header, or `?token=` because a browser cannot set headers on a WebSocket."""
    return bearer_token(connection) or connection.query_params.get("token")


def client_address(connection: HTTPConnection) -> str:
    """Who is calling, for per-address limits: the peer's IPv4 address, or its IPv6 /64 (one host's usual share).

    Behind a reverse proxy uvicorn puts the forwarded client here (it trusts the proxy headers of loopback).
    """
    host = connection.client.host if connection.client is not None else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def is_loopback_client(connection: HTTPConnection) -> bool:
    host = connection.client.host if connection.client is not None else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return (mapped or address).is_loopback


async def container_dependency(connection: HTTPConnection) -> Container:
    # async: FastAPI runs a plain `def` dependency in its thread pool, one thread hop per request.
    return get_container(connection)


async def current_principal(
    request: Request, container: Annotated[Container, Depends(container_dependency)]
) -> Principal:
    return await container.accounts.authenticate(bearer_token(request))


ContainerDep = Annotated[Container, Depends(container_dependency)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def current_graph_scope(
    request: Request, container: Annotated[Container, Depends(container_dependency)]
) -> GraphScope:
    """The WABA a Cloud API bearer token is scoped to (Meta's error 190 when missing, unknown or revoked)."""
    return await container.business.authenticate(bearer_token(request))


async def graph_version(version: Annotated[str, Path(description="API version, 17.0 to 25.0")]) -> int:
    return parse_version(version)


def graph_router(tag: str) -> APIRouter:
    """A router for Meta-compatible paths: `/v{major}.0/...`, any version Parley accepts."""
    return APIRouter(prefix="/v{version}", tags=[tag], dependencies=[Depends(graph_version)])


GraphScopeDep = Annotated[GraphScope, Depends(current_graph_scope)]


async def graph_json_body(request: Request) -> Any:
    """A Graph route's JSON body; an empty or malformed one is Meta's error 100."""
    raw = await request.body()
    if not raw:
        raise GraphError(100, "the request body is empty: send a JSON object")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise GraphError(100, f"the request body is not valid JSON: {exc}") from exc


async def graph_params(request: Request, *, keep_token: bool = False) -> dict[str, Any]:
    """A Graph write's parameters as Meta takes them (pywa and the SDKs use all three): the query string plus a
    form or JSON object body. `access_token` is the credential, not a parameter, unless the route reads it
    (`keep_token`: app calls pass the app token that way)."""
    params: dict[str, Any] = dict(request.query_params)
    raw = await request.body()
    content_type = request.headers.get("content-type", "").lower()
    if not raw.strip():
        pass
    elif "multipart/form-data" in content_type:
        form = await request.form()
        params.update({key: value for key, value in form.items() if isinstance(value, str)})
    elif "application/x-www-form-urlencoded" in content_type:
        try:
            params.update(parse_qsl(raw.decode(), keep_blank_values=True))
        except UnicodeDecodeError as error:
            raise GraphError(100, "the request body is not valid UTF-8") from error
    else:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise GraphError(100, f"the request body is not valid JSON: {error}") from error
        if not isinstance(body, dict):
            raise GraphError(100, "the request body must be a JSON object")
        params.update(body)
    if not keep_token:
        params.pop("access_token", None)
    return params


def with_next_page(request: Request, page: dict[str, Any], after: str | None) -> dict[str, Any]:
    """A Graph page with `paging.next`: this request's address with the next cursor."""
    if after is not None and "paging" in page:
        page["paging"]["next"] = str(request.url.include_query_params(after=after))
    return page
