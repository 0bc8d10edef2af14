"""Client API routes of the key directory and the to-device relay (docs/e2ee.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from parley.http import ERROR_RESPONSES, ContainerDep, PrincipalDep

router = APIRouter(prefix="/client/v1", tags=["end-to-end encryption"], responses=ERROR_RESPONSES)

MatrixBody = Annotated[dict[str, Any], Body(description="Matrix's request shape (docs/e2ee.md)")]


@router.post("/keys/upload", summary="Publish this device's identity keys, one-time keys and fallback key")
async def upload_keys(container: ContainerDep, principal: PrincipalDep, body: MatrixBody) -> dict[str, Any]:
    return await container.e2ee.upload_keys(principal, body)


@router.post("/keys/query", summary="The devices and identity keys of some people")
async def query_keys(container: ContainerDep, principal: PrincipalDep, body: MatrixBody) -> dict[str, Any]:
    return await container.e2ee.query_keys(principal, body)


@router.post("/keys/claim", summary="Claim one one-time key per device, to start Olm sessions with them")
async def claim_keys(container: ContainerDep, principal: PrincipalDep, body: MatrixBody) -> dict[str, Any]:
    return await container.e2ee.claim_keys(principal, body)


@router.put("/sendToDevice/{event_type}/{txn_id}", summary="Relay ciphertext to other devices")
async def send_to_device(
    container: ContainerDep, principal: PrincipalDep, event_type: str, txn_id: str, body: MatrixBody
) -> dict[str, Any]:
    await container.e2ee.send_to_device(principal, event_type, txn_id, body)
    return {}


@router.get("/keys/sync", summary="This device's to-device messages, peers' device changes, key counts")
async def sync(
    container: ContainerDep,
    principal: PrincipalDep,
    since: Annotated[str | None, Query(max_length=64, description="next_batch of the previous sync")] = None,
) -> dict[str, Any]:
    return await container.e2ee.sync(principal, since)
