"""`parley agent ...` as the operator runs it: the agents it creates sign in, a reset password replaces the old."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from typer.testing import CliRunner

from parley.cli.main import app
from parley.config import Settings
from parley.container import Container, build_container
from parley.kit.errors import AppError

T = TypeVar("T")


def on_container(settings: Settings, work: Callable[[Container], Awaitable[T]]) -> T:
    async def run() -> T:
        c = build_container(settings)
        await c.start()
        try:
            return await work(c)
        finally:
            await c.close()

    return asyncio.run(run())


@pytest.fixture
def waba_id(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> int:
    created = on_container(settings, lambda c: c.business.create_business("Cli Shop", "+14155559101"))
    for name, value in {
        "PARLEY_DATA_DIR": str(settings.data_dir),
        "PARLEY_DATABASE_URL": settings.resolved_database_url,
        "PARLEY_SECRET_KEY": settings.secret_key,
        "PARLEY_WEBHOOKS__DELIVER": "false",
        "COLUMNS": "200",
    }.items():
        monkeypatch.setenv(name, value)
    return created.waba_id


def run(*args: str) -> Any:
    result = CliRunner().invoke(app, ["agent", *args])
    assert result.exit_code == 0, result.output
    return result


def signs_in(settings: Settings, email: str, password: str) -> bool:
    async def work(c: Container) -> bool:
        try:
            await c.inbox.sign_in(email, password)
        except AppError:
            return False
        return True

    return on_container(settings, work)


def test_create_list_and_reset_password(waba_id: int, settings: Settings) -> None:
    created = json.loads(
        run(
            "create",
            str(waba_id),
            "--email",
            "Owner@Shop.example",
            "--name",
            "Olga Owner",
            "--role",
            "owner",
            "--password",
            "first-password",
            "--json",
        ).stdout
    )
    assert created["email"] == "owner@shop.example" and created["role"] == "owner" and created["invited"] is False
    assert created["id"].isdigit()
    run("create", str(waba_id), "--email", "ben@shop.example", "--name", "Ben", "--password", "bens-password")
    assert signs_in(settings, "owner@shop.example", "first-password")

    listed = json.loads(run("list", str(waba_id), "--json").stdout)
    assert sorted((a["name"], a["role"]) for a in listed) == [("Ben", "agent"), ("Olga Owner", "owner")]
    table = run("list", str(waba_id)).stdout
    assert "Olga Owner" in table and "ben@shop.example" in table and "owner" in table

    session = on_container(settings, lambda c: c.inbox.sign_in("owner@shop.example", "first-password"))
    run("reset-password", str(waba_id), "--email", "owner@shop.example", "--password", "second-password")
    assert not signs_in(settings, "owner@shop.example", "first-password")
    assert signs_in(settings, "owner@shop.example", "second-password")
    with pytest.raises(AppError):  # the sessions opened with the old password are over
        on_container(settings, lambda c: c.inbox.session(session.token))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "999", "--email", "a@b.example", "--name", "A", "--password", "long-enough"], "no business"),
        (["create", "{waba}", "--email", "not-an-email", "--name", "A", "--password", "long-enough"], "email"),
        (["create", "{waba}", "--email", "a@b.example", "--name", "A", "--password", "short"], "password"),
        (["create", "{waba}", "--email", "taken@b.example", "--name", "A", "--password", "long-enough"], "already"),
        (["reset-password", "{waba}", "--email", "nobody@b.example", "--password", "long-enough"], "no agent"),
        (["reset-password", "999", "--email", "taken@b.example", "--password", "long-enough"], "no agent"),
        (["list", "999"], "no business"),
    ],
)
def test_bad_commands_say_why_and_change_nothing(waba_id: int, args: list[str], message: str) -> None:
    run("create", str(waba_id), "--email", "taken@b.example", "--name", "T", "--password", "long-enough")
    result = CliRunner().invoke(app, ["agent", *(a.format(waba=waba_id) for a in args)])
    assert result.exit_code != 0
    assert message in result.output.lower()
    listed = json.loads(run("list", str(waba_id), "--json").stdout)
    assert [a["email"] for a in listed] == ["taken@b.example"]


def test_a_role_outside_the_three_is_refused(waba_id: int) -> None:
    args = ["create", str(waba_id), "--email", "a@b.example", "--name", "A", "--password", "long-enough"]
    result = CliRunner().invoke(app, ["agent", *args, "--role", "boss"])
    assert result.exit_code == 2 and "boss" in result.output
