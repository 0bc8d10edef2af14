"""The operator CLI (Typer): serve, db upgrade, user create, demo."""

from parley.cli.main import app, main

__all__ = ["app", "main"]
