"""What every command shares: settings, a started container, errors printed instead of tracebacks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console

from parley.config import Settings
from parley.container import Container, build_container
from parley.graph import GraphError
from parley.kit.errors import AppError

T = TypeVar("T")
console = Console(stderr=True)


def with_container(work: Callable[[Container], Awaitable[T]]) -> T:
    async def run() -> T:
        container = build_container(Settings())
        await container.start()
        try:
            return await work(container)
        finally:
            await container.close()

    try:
        return asyncio.run(run())
    except AppError as error:
        console.print(f"[red]error:[/red] {error.message}")
        raise typer.Exit(code=2) from error
    except GraphError as error:
        console.print(f"[red]error:[/red] {error.details}")
        raise typer.Exit(code=2) from error
