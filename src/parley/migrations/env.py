"""Alembic environment: runs on the async engine of whichever database the URL names."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import parley.accounts.models
import parley.ads.models
import parley.affiliates.models
import parley.billing.models
import parley.business.models
import parley.channels.models
import parley.commerce.cart_models
import parley.commerce.models
import parley.e2ee.models
import parley.inbox.models
import parley.ledger.models
import parley.media.models
import parley.messaging.models
import parley.payments.merchant_models
import parley.payments.models
import parley.payments.payout_models
import parley.payments.wallet_models
import parley.privacy.models
import parley.signals.models
import parley.subscriptions.models
import parley.templates.models
import parley.webhooks.models  # noqa: F401  (registers every table on the metadata)
from parley.kit.db import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    if url.startswith("sqlite"):
        from pathlib import Path

        from sqlalchemy.engine import make_url

        from parley.kit.files import create_private_file

        database = make_url(url).database
        if database and database != ":memory:":
            create_private_file(Path(database))  # 0600 in a 0700 directory, before SQLite creates it 0644
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported")
connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_async())
