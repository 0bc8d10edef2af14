"""Hygiene: data files only the server's user can read, Graph enum values from Meta's v23 spec, and every 405
naming the methods its path takes."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from parley.config import Settings
from parley.container import build_container
from parley.migrations import upgrade
from tests.conftest import LiveServer
from tests.integration.business_helpers import V, create_business
from tests.integration.inbox_helpers import agent

SPEC_NAME = "business-messaging-api_v23.0.yaml"


# --- private data files ----------------------------------------------------------------------------------------


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual umask (022), under which files are created world-readable unless asked otherwise."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("loose_umask")
async def test_the_server_creates_its_database_and_secret_key_for_its_own_user_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "serve" / "var"
    container = build_container(Settings(data_dir=data_dir))
    await container.db.close()
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "parley.db") == 0o600
    assert mode(data_dir / "secret.key") == 0o600


@pytest.mark.usefixtures("loose_umask")
def test_db_upgrade_creates_the_database_for_its_own_user_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "upgrade" / "var"
    upgrade(Settings(data_dir=data_dir).resolved_database_url)
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "parley.db") == 0o600


# --- Meta's enum values ----------------------------------------------------------------------------------------


@cache
def meta_spec() -> dict[str, Any] | None:
    """Meta's OpenAPI file from the shared reference folder beside the checkout, when it is at hand."""
    for folder in Path(__file__).resolve().parents:
        candidate = folder / "shared" / "reference" / SPEC_NAME
        if candidate.exists():
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            return dict(yaml.load(candidate.read_text(), Loader=loader))
    return None


def assert_matches_meta(schema: str, value: Any) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    spec = meta_spec()
    if spec is None:
        pytest.skip(f"{SPEC_NAME} is not at hand")
    target = {"$ref": f"#/components/schemas/{schema}", "components": spec["components"]}
    jsonschema.Draft202012Validator(target).validate(value)


def enum_of(schema: str) -> list[str]:
    spec = meta_spec()
    if spec is None:
        pytest.skip(f"{SPEC_NAME} is not at hand")
    return list(spec["components"]["schemas"][schema]["enum"])


async def test_business_account_and_phone_numbers_carry_the_spec_s_enum_values(server: LiveServer) -> None:
    biz = await create_business(server)
    waba = (await server.http.get(f"{V}/{biz.waba_id}", headers=biz.headers)).json()
    assert waba["business_verification_status"] in enum_of("WhatsAppBusinessAccountVerificationStatus")
    assert_matches_meta("WhatsAppBusinessAccount", waba)

    listed = (await server.http.get(f"{V}/{biz.waba_id}/phone_numbers", headers=biz.headers)).json()
    assert_matches_meta("WhatsAppBusinessAccountPhoneNumbersConnection", listed)
    assert listed["data"][0]["status"] == "LINKED"

    number = (await server.http.get(f"{V}/{biz.phone_number_id}", headers=biz.headers)).json()
    assert_matches_meta("PhoneNumberInfo", number)
    assert number["status"] in enum_of("WhatsAppAccountNumberStatus")


# --- 405 with Allow --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/client/v1/messages", {"POST"}),
        ("DELETE", "/client/v1/media", {"POST"}),
        ("PATCH", "/healthz", {"GET"}),
        ("GET", f"{V}/123/messages", {"POST"}),
        # Graph's `/{object_id}` has one route per method: all of them are allowed, not the first one's.
        ("PUT", f"{V}/123", {"GET", "POST", "DELETE"}),
        ("DELETE", "/inbox/api/conversations", {"GET", "POST"}),
        ("POST", "/static/app.js", {"GET", "HEAD"}),
    ],
)
async def test_every_405_names_the_methods_of_its_path(
    server: LiveServer, method: str, path: str, allowed: set[str]
) -> None:
    response = await server.http.request(method, path)
    assert response.status_code == 405, response.text
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed
    error = response.json()["error"]
    if path.startswith(V):
        assert error["code"] == 100 and error["fbtrace_id"]
    else:
        assert error["code"] == "method_not_allowed"


async def test_a_405_on_a_route_that_needs_a_session_still_says_what_is_allowed(server: LiveServer) -> None:
    biz = await create_business(server)
    ana = await agent(server, biz, "Ana")
    response = await ana.http.put("/inbox/api/conversations")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
