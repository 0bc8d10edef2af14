"""Contacts for a CRM (a Parley extension on the Graph routes, scoped by the Cloud API token)."""

from __future__ import annotations

from parley.http import graph_router

router = graph_router("contacts")
