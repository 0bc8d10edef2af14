"""`parley agent ...`: the operator creates a business's first inbox agents, resets passwords, lists them."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from parley.cli.common import with_container
from parley.container import Container
from parley.inbox import AgentContext

agent_app = typer.Typer(help="Team inbox agents: create, reset passwords, list.", no_args_is_help=True)
console = Console()

WabaArg = Annotated[int, typer.Argument(help="The business account (WABA) id.")]
EmailOpt = Annotated[str, typer.Option("--email", help="The agent's sign-in email.")]
PasswordOpt = Annotated[
    str,
    typer.Option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="8 to 256 characters."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


class Role(StrEnum):
    owner = "owner"
    admin = "admin"
    agent = "agent"


def _operator(waba_id: int) -> AgentContext:
    """The operator acting for a business: reads its agents as an owner would, with no session behind it."""
    return AgentContext(agent_id=0, waba_id=waba_id, role="owner", name="operator", csrf_token="", session_hash="")


@agent_app.command()
def create(
    waba_id: WabaArg,
    email: EmailOpt,
    name: Annotated[str, typer.Option("--name", help="The name customers and colleagues see.")],
    password: PasswordOpt,
    role: Annotated[Role, typer.Option("--role", help="owner, admin or agent.")] = Role.agent,
    as_json: JsonOpt = False,
) -> None:
    """Create an agent who signs in at /inbox/login with this email and password."""

    async def work(c: Container) -> dict[str, Any]:
        agent, _ = await c.inbox.create_agent(waba_id, email=email, name=name, role=role.value, password=password)
        return agent

    agent = with_container(work)
    if as_json:
        typer.echo(json.dumps(agent))
        return
    console.print(f"Agent [bold]{agent['name']}[/bold] <{agent['email']}> ({agent['role']}) id {agent['id']}")


@agent_app.command("reset-password")
def reset_password(waba_id: WabaArg, email: EmailOpt, password: PasswordOpt) -> None:
    """Set a new password for an agent; the agent's open sessions end."""

    async def work(c: Container) -> dict[str, Any]:
        return await c.inbox.reset_password(waba_id, email, password)

    agent = with_container(work)
    console.print(f"New password set for {agent['email']}; their sessions were signed out.")


@agent_app.command("list")
def list_agents(waba_id: WabaArg, as_json: JsonOpt = False) -> None:
    """The business's agents with their role and availability."""

    async def work(c: Container) -> list[dict[str, Any]]:
        await c.business.require_waba(waba_id)
        return await c.inbox.list_agents(_operator(waba_id))

    agents = with_container(work)
    if as_json:
        typer.echo(json.dumps(agents))
        return
    table = Table(title=f"Inbox agents of business {waba_id}")
    for column in ("id", "name", "email", "role", "availability", "open", "capacity"):
        table.add_column(column)
    for a in agents:
        availability = "invited" if a["invited"] else a["availability"]
        table.add_row(a["id"], a["name"], a["email"], a["role"], availability, str(a["open_count"]), str(a["capacity"]))
    console.print(table)
