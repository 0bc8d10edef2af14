"""`parley rights export|erase`: an operator answers a person's request for their data, or for erasure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from parley.cli.common import with_container
from parley.container import Container
from parley.kit.errors import InvalidInputError
from parley.rights import ErasureSummary, ExportSummary

rights_app = typer.Typer(help="People's rights: export their data, erase their account.", no_args_is_help=True)
console = Console(stderr=True)  # progress and notes on stderr: stdout stays for `--json`

PhoneOption = Annotated[str | None, typer.Option("--phone", help="The person's number, e.g. +14155550100.")]
UserIdOption = Annotated[
    int | None, typer.Option("--user-id", help="The account id (an erased account has no number any more).")
]


async def _user_id(c: Container, phone: str | None, user_id: int | None) -> int:
    if (phone is None) == (user_id is None):
        raise InvalidInputError("give exactly one of --phone and --user-id")
    return user_id if user_id is not None else (await c.accounts.find_by_phone(phone or "")).id


@rights_app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", help="Where to write the zip archive.")],
    phone: PhoneOption = None,
    user_id: UserIdOption = None,
) -> None:
    """Write everything held about a person to one zip archive (JSON files, a README, their media)."""

    async def work(c: Container) -> ExportSummary:
        who = await _user_id(c, phone, user_id)
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            task = progress.add_task("reading", total=None)

            def advanced(what: str, done: int, total: int) -> None:  # from the archive's thread: rich is thread-safe
                progress.update(task, description=f"writing {what}", completed=done, total=total)

            partial = out.with_name(out.name + ".part")
            try:
                with partial.open("wb") as file:
                    summary = await c.rights.export(who, file, advanced)
                partial.replace(out)  # a finished archive or none: never half a zip under the asked name
            finally:
                partial.unlink(missing_ok=True)
        return summary

    summary = with_container(work)
    console.print(f"wrote {out}: {summary.files} JSON files and {summary.media} media files")


@rights_app.command("erase")
def erase(
    phone: PhoneOption = None,
    user_id: UserIdOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask to confirm.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Erase a person's account for good (their ledger history stays, pseudonymised). Safe to run again."""

    async def work(c: Container) -> ErasureSummary:
        who = await _user_id(c, phone, user_id)
        if not yes and not typer.confirm(f"Erase account {who} ({phone or 'by id'}) for good?"):
            raise typer.Abort()
        return await c.rights.erase(who)

    done = with_container(work)
    if as_json:
        typer.echo(
            json.dumps({"user_id": str(done.user_id), **{k: v for k, v in vars(done).items() if k != "user_id"}})
        )
    else:
        console.print(
            f"erased account {done.user_id}: {done.messages_deleted} messages deleted for everyone, "
            f"left {done.groups_left} groups, {done.media_deleted} media files deleted"
        )
