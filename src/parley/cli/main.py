"""Thin Typer commands; the work is done by the services, through the same Container as the server."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy.engine import make_url

from parley.cli.affiliates import affiliates_app  # affiliates
from parley.cli.agents import agent_app
from parley.cli.billing import billing_app
from parley.cli.business import business_app
from parley.cli.channels import channels_app  # channels
from parley.cli.common import with_container
from parley.cli.demo_ads import ATELIER_OWNER, ATELIER_PASSWORD, DemoAdvertiser, seed_demo_advertiser
from parley.cli.demo_affiliates import seed_demo_affiliates  # affiliates
from parley.cli.demo_business import (
    DEMO_INBOX_AGENT,
    DEMO_INBOX_OWNER,
    DEMO_INBOX_PASSWORD,
    DemoBusiness,
    seed_demo_business,
)
from parley.cli.demo_channels import seed_demo_channels  # channels
from parley.cli.demo_subscriptions import DemoPaidGroup, seed_demo_paid_group  # subscriptions
from parley.cli.ledger import ledger_app
from parley.cli.payments import payments_app
from parley.cli.rights import rights_app  # rights
from parley.cli.subscriptions import subscriptions_app  # subscriptions
from parley.cli.webhooks import webhooks_app
from parley.cli.worker import worker
from parley.config import Settings
from parley.container import Container
from parley.kit.errors import AppError
from parley.kit.money import format_amount

app = typer.Typer(help="Parley: self-hosted business messaging.", no_args_is_help=True)
db_app = typer.Typer(help="Database operations.", no_args_is_help=True)
user_app = typer.Typer(help="People's accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(business_app, name="business")
app.add_typer(billing_app, name="billing")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(ledger_app, name="ledger")
app.add_typer(payments_app, name="payments")
app.add_typer(agent_app, name="agent")
app.add_typer(subscriptions_app, name="subscriptions")  # subscriptions
app.add_typer(affiliates_app, name="affiliates")  # affiliates
app.add_typer(channels_app, name="channels")  # channels
app.add_typer(rights_app, name="rights")  # rights
app.command()(worker)
console = Console()
T = TypeVar("T")

DEMO_PEOPLE = [("+14155550101", "Alice"), ("+14155550102", "Bob"), ("+14155550103", "Carol")]


def main() -> None:
    app()


_with_container = with_container


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.", envvar="PARLEY_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", envvar="PARLEY_PORT")] = 8080,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker",
            help="Leave webhook delivery and the periodic sweeps to `parley worker` (PostgreSQL; the same as "
            "PARLEY_WORKER__IN_SERVER=false).",
        ),
    ] = False,
) -> None:
    """Serve the API, the realtime stream and the web client."""
    import uvicorn

    if no_worker:
        os.environ["PARLEY_WORKER__IN_SERVER"] = "false"  # read by the app factory's Settings() too
    settings = Settings()
    refusal = dev_codes_refusal(settings, host)
    if refusal is not None:
        console.print(f"[bold red]Refusing to start:[/bold red] {refusal}")
        raise typer.Exit(2)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not settings.worker.in_server:
        if make_url(settings.resolved_database_url).get_backend_name() == "sqlite":
            console.print(
                "[yellow]--no-worker / PARLEY_WORKER__IN_SERVER=false is ignored on SQLite[/yellow]: "
                "this process delivers webhooks and runs the sweeps."
            )
        else:
            console.print("Webhook delivery and the periodic sweeps are left to `parley worker`.")
    if settings.dev_show_codes:
        where = "to anyone who can reach this server" if settings.dev_allow_remote_codes else "on this machine only"
        console.print(
            f"[bold yellow]Development codes are on[/bold yellow]: sign-in codes are logged and shown at "
            f"/client/v1/dev/codes {where} (PARLEY_DEV_SHOW_CODES). Never use this for real accounts."
        )
    elif not settings.sms.url:
        console.print(
            "[yellow]No SMS provider is set (PARLEY_SMS__URL)[/yellow]: nobody can sign in with a code; "
            "accounts and tokens come from `parley user create`."
        )
    # httpx logs every request at INFO: one line per webhook delivery is noise (and ~9 % of its CPU).
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    console.print(f"Parley on [bold]http://{host}:{port}/[/bold]  (API docs: http://{host}:{port}/docs)")
    from parley.serving import protocol_for

    uvicorn.run(
        "parley.app:create_app",
        factory=True,
        host=host,
        port=port,
        http=protocol_for(settings.server),
        log_level="warning",
        access_log=False,
        ws_ping_interval=None,  # idle sockets cost nothing; clients reconnect on their own
        ws_per_message_deflate=False,
    )


def is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def dev_codes_refusal(settings: Settings, host: str) -> str | None:
    """Why the server must not start (None: it may): development codes on an interface beyond loopback."""
    if not settings.dev_show_codes or settings.dev_allow_remote_codes or is_loopback_host(host):
        return None
    return (
        f"development sign-in codes (PARLEY_DEV_SHOW_CODES) would be readable by anyone who can reach {host}, "
        "which lets them sign in as anyone. Serve on 127.0.0.1, or turn development codes off and set an SMS "
        "provider (PARLEY_SMS__URL), or, for a throwaway demo on a trusted network only, set "
        "PARLEY_DEV_ALLOW_REMOTE_CODES=1."
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the latest schema."""
    from parley.migrations import upgrade

    settings = Settings()
    upgrade(settings.resolved_database_url)
    console.print("database is up to date")


@user_app.command("create")
def user_create(
    phone: Annotated[str, typer.Option(help="Phone number, with country code.")],
    name: Annotated[str, typer.Option(help="Profile name.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Create an account (or a new device token for an existing one) without a one-time code."""

    async def work(c: Container) -> dict[str, str]:
        session = await c.accounts.create_user_with_token(phone, name)
        user = await c.accounts.get_user(session.user_id)
        return {"user_id": str(user.id), "phone": user.phone, "token": session.token}

    result = _with_container(work)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        console.print(f"user {result['user_id']} ({result['phone']}) token: {result['token']}")


@app.command()
def demo() -> None:
    """Seed demo people, a group and a few messages (once), then print how to sign in."""

    async def work(c: Container) -> tuple[list[tuple[str, str, str]], DemoBusiness, DemoAdvertiser, DemoPaidGroup]:
        already = False
        try:
            await c.accounts.find_by_phone(DEMO_PEOPLE[0][0])
            already = True
        except AppError:
            pass
        logins = []
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("seeding demo data", total=len(DEMO_PEOPLE) + 6)
            sessions = []
            for phone, name in DEMO_PEOPLE:
                session = await c.accounts.create_user_with_token(phone, name, device_name="demo")
                sessions.append(session)
                logins.append((name, phone, session.token))
                progress.advance(task)
            if not already:
                # People's chats are end-to-end encrypted on their devices, so the demo seeds no person-to-person
                # messages (the server could only write them in clear, and a newly signed-in device reads only
                # what is sent after it): the group is there, the people write in it from their browsers.
                alice = sessions[0]
                await c.messaging.create_group(alice.user_id, "Parley demo", [p for p, _ in DEMO_PEOPLE[1:]])
            progress.advance(task, 4)
            business = await seed_demo_business(c, sessions[0].user_id)
            progress.advance(task)
            advertiser = await seed_demo_advertiser(c)
            progress.advance(task)
            paid_group = await seed_demo_paid_group(c)  # subscriptions
            business.affiliate_link = await seed_demo_affiliates(
                c, int(business.waba_id), sessions[1].user_id
            )  # affiliates
        return logins, business, advertiser, paid_group

    logins, business, advertiser, paid_group = _with_container(work)
    table = Table(title="Demo logins (sign in with the phone; the code shows in the web page's developer panel)")
    table.add_column("name")
    table.add_column("phone")
    table.add_column("API token (Bearer)")
    for name, phone, token in logins:
        table.add_row(name, phone, token)
    console.print(table)
    settings = Settings()
    base = settings.public_url.rstrip("/")
    biz = Table(title="Demo business: Parley Coffee (Cloud API, any version v17.0 to v25.0)")
    biz.add_column("what")
    biz.add_column("value", overflow="fold")
    biz.add_row("phone", business.phone)
    biz.add_row("waba_id", business.waba_id)
    biz.add_row("phone_number_id", business.phone_number_id)
    biz.add_row("access token (Bearer)", business.access_token)
    biz.add_row("app secret (webhook signatures)", business.app_secret)
    if business.link:
        biz.add_row("click-to-chat link", business.link)
    biz.add_row("affiliate link (Bob's, 5 %; see /earn)", business.affiliate_link)  # affiliates
    biz.add_row(
        "team inbox (sign in at /inbox/login)", f"{DEMO_INBOX_OWNER} or {DEMO_INBOX_AGENT} / {DEMO_INBOX_PASSWORD}"
    )
    balance = _with_container(lambda c: c.billing.balance(int(business.waba_id)))
    biz.add_row(
        "prepaid balance",
        f"{format_amount(balance.balance)} {balance.currency} (parley billing topup {business.waba_id} 25)",
    )
    console.print(biz)
    ads = Table(title="Demo advertiser: Atelier Nova (click-to-chat ads)")
    ads.add_column("what")
    ads.add_column("value", overflow="fold")
    ads.add_row("a publisher's page showing its ad", f"{base}/demo/feed")
    ads.add_row("ad account / campaign", f"{advertiser.ad_account} / {advertiser.campaign_id}")
    ads.add_row("console: Ads and insights", f"{ATELIER_OWNER} / {ATELIER_PASSWORD} at {base}/inbox/console/ads")
    console.print(ads)
    console.print(  # subscriptions
        f"Paid group: {paid_group.coach_phone} (Coach Rita) sells 'Morning Run Club'; its invite link "
        f"{paid_group.invite_url} opens the join screen (or paste it in the web client's 'Join with a link')"
    )
    people = [phone for phone, _ in DEMO_PEOPLE]  # channels
    channels_url = _with_container(lambda c: seed_demo_channels(c, people, business.phone_number_id))  # channels
    console.print(f"Channels (Updates tab): {channels_url}, e.g. 'Parley Daily' run by {DEMO_PEOPLE[0][1]}")  # channels
    console.print(
        f"Try: curl -s {base}/v23.0/{business.phone_number_id}/messages -H 'Authorization: Bearer "
        f"{business.access_token}' -H 'Content-Type: application/json' -d '{{\"messaging_product\":\"whatsapp\","
        f'"to":"{DEMO_PEOPLE[0][0]}","type":"text","text":{{"body":"Your latte is ready"}}}}\'',
        soft_wrap=True,
    )
