"""The statement test: a scripted month of real traffic, priced under both models, checked line by line.

Two businesses receive the same traffic over the Cloud API from the same people in six markets (+91, +55, +49,
+44, +1, +234): one is billed per message (PMP, the shipped card), the other per conversation (CBP, a card loaded
for the month). The script has templates of every category outside the service window, replies and utility
templates inside it, a click-to-chat free entry point, volume tiers crossed under a tiny tier table, a top-up, and
a message still undelivered when the month ends. The expected charges are worked out here, step by step, from the
rate card CSV read with the csv module (never through parley.billing), and compared with the statements: line
items, totals, balances, finalisation, the CSV and HTML renderings, and the analytics a business reads.
"""

from __future__ import annotations

import asyncio
import csv
import datetime
import io
import json
import uuid
import zoneinfo
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from parley.billing.report import revenue_report
from parley.cli.main import app as parley_cli
from parley.config import BillingSettings, Settings
from tests.conftest import LiveServer, User, running_server
from tests.integration.business_helpers import (
    Biz,
    V,
    ack_all,
    approved_auth_template,
    approved_template,
    auth_template_body,
    create_business,
    person_writes,
    send,
    template_body,
    text_to,
)

RATE_CARD = Path(__file__).resolve().parents[2] / "src" / "parley" / "billing" / "data" / "rate-card.csv"
MICRO = Decimal("0.000001")
TRIAL = Decimal("10")
TOPUP = Decimal("5")
# A tiny tier table so a handful of messages crosses bands: utility 1-2 list, 3-4 -25 %, 5+ -50 %;
# authentication 1 list, 2+ -10 %; marketing one band.
TIERS_CSV = """category,from,to,discount_bps,note
utility,1,2,0,list
utility,3,4,2500,-25 %
utility,5,,5000,-50 %
authentication,1,1,0,list
authentication,2,,1000,-10 %
marketing,1,,0,one band
"""
TIER_DISCOUNT = {"0:2": 0, "2:4": 2500, "4:MAX": 5000, "0:1": 0, "1:MAX": 1000, "0:MAX": 0}
BUSINESS_NAME = 'Acme <b>"Bits"</b> & Co'


# --- the rate card, read independently ---------------------------------------------------------------------


def card_rates(on: datetime.date) -> dict[str, dict[str, Decimal]]:
    """Market -> category -> USD list rate of the latest per-message card in effect on a day."""
    with RATE_CARD.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["pricing_model"] == "PMP"]
    effective = max(r["effective"][:10] for r in rows if r["effective"][:10] <= on.isoformat())
    card = {}
    for row in rows:
        if row["effective"][:10] == effective:
            card[row["market"]] = {
                category: Decimal(row[category])
                for category in ("marketing", "utility", "authentication")
                if row[category].strip()
            }
    return card


def market_named(card: dict[str, dict[str, Decimal]], starts: str) -> str:
    [name] = [market for market in card if market.startswith(starts)]
    return name


def cbp_card_csv(on: datetime.date) -> str:
    """The same markets and rates, as a per-conversation card (loaded as CBP for the scripted month)."""
    with RATE_CARD.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = [r for r in reader if r["pricing_model"] == "PMP"]
        columns = reader.fieldnames
    assert columns is not None
    effective = max(r["effective"][:10] for r in rows if r["effective"][:10] <= on.isoformat())
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        if row["effective"][:10] == effective:
            writer.writerow({**row, "pricing_model": "CBP"})
    return out.getvalue()


def discounted(rate: Decimal, bps: int) -> Decimal:
    return (rate * (10_000 - bps) / 10_000).quantize(MICRO, rounding=ROUND_HALF_UP)


# --- what the test expects, built step by step ---------------------------------------------------------------


@dataclass
class Expected:
    """Expected statement lines: (model, market, category, pricing type, tier, unit, unit rate) -> volume."""

    model: str
    lines: Counter[tuple[str, str, str, str, str | None, str, Decimal]] = field(default_factory=Counter)

    def add(
        self,
        market: str,
        category: str,
        pricing_type: str,
        rate: Decimal,
        tier: str | None = None,
        unit: str = "message",
    ) -> None:
        self.lines[(self.model, market, category, pricing_type, tier, unit, rate)] += 1

    @property
    def charged(self) -> Decimal:
        return sum((key[6] * volume for key, volume in self.lines.items()), Decimal(0))

    def as_rows(self) -> list[tuple[Any, ...]]:
        return sorted(((*key, volume, key[6] * volume) for key, volume in self.lines.items()), key=_sortable)


def _sortable(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple("" if value is None else value for value in row)


def statement_rows(document: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            (
                line["pricing_model"],
                line["market"],
                line["category"],
                line["pricing_type"],
                line["tier"],
                line["unit"],
                Decimal(line["unit_rate"]),
                line["volume"],
                Decimal(line["amount"]),
            )
            for line in document["line_items"]
        ),
        key=_sortable,
    )


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --- the scripted month ------------------------------------------------------------------------------------------


@pytest.fixture
async def tiered(settings: Settings, tmp_path: Path) -> AsyncIterator[LiveServer]:
    tiers = tmp_path / "tiers.csv"
    tiers.write_text(TIERS_CSV)
    configured = settings.model_copy(update={"billing": BillingSettings(volume_tiers_csv=tiers)})
    async with running_server(configured) as server:
        yield server


def _next_month_start(ms: int) -> datetime.datetime:
    now = datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)
    return datetime.datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=datetime.UTC)


def advance_to(server: LiveServer, moment: datetime.datetime) -> None:
    ahead = moment.timestamp() * 1000 - server.clock.now_ms()
    assert ahead > 0, f"the clock is already past {moment}"
    server.clock.advance(seconds=ahead / 1000)


async def ok(response: Any) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["messages"][0]["id"])


async def click_to_chat(server: LiveServer, biz: Biz, person: User) -> None:
    """The person follows the business's click-to-chat link and writes: a free entry point."""
    link = await server.http.post(
        f"{V}/{biz.phone_number_id}/referral_links", headers=biz.headers, json={"headline": "Talk to us"}
    )
    assert link.status_code == 200, link.text
    clicked = await server.http.get(f"/c/{link.json()['code']}", follow_redirects=False)
    clid = clicked.headers["location"].split("clid=")[1].split("&")[0]
    await person_writes(server, person, biz, "I saw your ad", referral_clid=clid)


async def statement(server: LiveServer, biz: Biz, period: str, fmt: str = "json") -> Any:
    response = await server.http.get(f"{V}/{biz.waba_id}/statements/{period}?format={fmt}", headers=biz.headers)
    assert response.status_code == 200, response.text
    return response


class _Page(HTMLParser):
    """Text of the page's h1 and #total, and the cells of the line-items table."""

    def __init__(self) -> None:
        super().__init__()
        self.h1 = self.total = ""
        self.line_rows: list[list[str]] = []
        self._in: str | None = None
        self._table: str | None = None
        self._section: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "h1":
            self._in = "h1"
        elif tag == "td" and values.get("id") == "total":
            self._in = "total"
        elif tag == "table":
            self._table = values.get("class")
        elif tag in ("tbody", "thead", "tfoot"):
            self._section = tag
        elif tag == "tr" and self._table == "lines" and self._section == "tbody":
            self.line_rows.append([])
        elif tag == "td" and self._table == "lines" and self._section == "tbody":
            self._in = "cell"
            self.line_rows[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h1", "td"):
            self._in = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._in == "h1":
            self.h1 += data
        elif self._in == "total":
            self.total += data
        elif self._in == "cell":
            self.line_rows[-1][-1] += data


async def test_a_scripted_month_priced_per_message_and_per_conversation(tiered: LiveServer) -> None:
    server = tiered
    pmp = await create_business(server, BUSINESS_NAME)
    cbp = await create_business(server, "Conversations Ltd")
    businesses = (pmp, cbp)
    for biz in businesses:
        await approved_template(
            server,
            biz,
            name="autumn_sale",
            category="MARKETING",
            body="Autumn sale on {{1}} until {{2}}, come and see.",
        )
        await approved_template(server, biz)  # order_update, UTILITY
        await approved_auth_template(server, biz)
    month_start = _next_month_start(server.clock.now_ms())
    month = month_start.strftime("%Y-%m")
    previous = (month_start - datetime.timedelta(days=1)).strftime("%Y-%m")
    following = _next_month_start(int(month_start.timestamp() * 1000) + 1).strftime("%Y-%m")
    card = card_rates(month_start.date())
    await server.container.billing.load_card(
        cbp_card_csv(month_start.date()),
        price_list="conversations-usd",
        source="statement-test.csv",
        pricing_model="CBP",
        effective=month_start.date() - datetime.timedelta(days=40),
    )
    await server.container.billing.set_billing_profile(int(cbp.waba_id), price_list="conversations-usd")

    india, brazil, germany = (market_named(card, name) for name in ("India", "Brazil", "Germany"))
    uk, north_america, nigeria = (market_named(card, name) for name in ("United Kingdom", "North America", "Nigeria"))
    people = {
        india: await server.user("Priya", "+919812345601"),
        brazil: await server.user("João", "+5511987654301"),
        germany: await server.user("Jonas", "+4915123450301"),
        uk: await server.user("Olivia", "+447400123401"),
        north_america: await server.user("Ann"),
        nigeria: await server.user("Chidi", "+2348031234501"),
    }
    mk = {market: card[market]["marketing"] for market in people}
    util = {market: card[market]["utility"] for market in people}
    auth = {market: card[market]["authentication"] for market in people}
    per_message, per_conversation = Expected("PMP"), Expected("CBP")

    async def to_both(body_of: Any) -> None:
        for biz in businesses:
            await ok(await send(server, biz, body_of))

    async def deliver(*persons: User) -> None:
        for person in persons:
            await ack_all(server, person)

    # Day 1: a marketing template to five markets (North America gets no marketing: US numbers refuse it).
    advance_to(server, month_start + datetime.timedelta(hours=9))
    for market in (india, brazil, germany, uk, nigeria):
        await to_both(template_body(people[market], "autumn_sale"))
        per_message.add(market, "marketing", "regular", mk[market], "0:MAX")
        per_conversation.add(market, "marketing", "regular", mk[market], unit="conversation")
    await deliver(*people.values())
    # An hour later a second one to India and Brazil: charged again per message, inside the open conversation
    # per conversation.
    server.clock.advance(hours=1)
    for market in (india, brazil):
        await to_both(template_body(people[market], "autumn_sale"))
        per_message.add(market, "marketing", "regular", mk[market], "0:MAX")
        per_conversation.add(market, "marketing", "regular", Decimal(0))
    await deliver(people[india], people[brazil])

    # Day 2: five utility templates to India cross the bands; one to Nigeria; two logins to Germany.
    advance_to(server, month_start + datetime.timedelta(days=1, hours=9))
    for nth, tier in enumerate(("0:2", "0:2", "2:4", "2:4", "4:MAX")):
        await to_both(template_body(people[india]))
        server.clock.advance(seconds=10)
        per_message.add(india, "utility", "regular", discounted(util[india], TIER_DISCOUNT[tier]), tier)
        if nth == 0:
            per_conversation.add(india, "utility", "regular", util[india], unit="conversation")
        else:
            per_conversation.add(india, "utility", "regular", Decimal(0))
    await to_both(template_body(people[nigeria]))
    per_message.add(nigeria, "utility", "regular", util[nigeria], "0:2")
    per_conversation.add(nigeria, "utility", "regular", util[nigeria], unit="conversation")
    for tier in ("0:1", "1:MAX"):
        await to_both(auth_template_body(people[germany]))
        server.clock.advance(seconds=10)
        per_message.add(germany, "authentication", "regular", discounted(auth[germany], TIER_DISCOUNT[tier]), tier)
    per_conversation.add(germany, "authentication", "regular", auth[germany], unit="conversation")
    per_conversation.add(germany, "authentication", "regular", Decimal(0))
    await deliver(people[india], people[nigeria], people[germany])

    # Day 3: a top-up; then the UK customer writes and gets a reply, a utility and a marketing template inside
    # the window (reply and utility free per message; per conversation the utility opens a paid conversation).
    advance_to(server, month_start + datetime.timedelta(days=2, hours=9))
    for biz in businesses:
        await server.container.billing.topup(int(biz.waba_id), int(TOPUP * 1_000_000), reference="bank-0001")
    olivia = people[uk]
    for biz in businesses:
        await person_writes(server, olivia, biz, "Is my parcel coming?")
        await ok(await text_to(server, biz, olivia, "Yes, tomorrow."))
        await ok(await send(server, biz, template_body(olivia)))
        await ok(await send(server, biz, template_body(olivia, "autumn_sale")))
    per_message.add(uk, "service", "free_customer_service", Decimal(0))
    per_message.add(uk, "utility", "free_customer_service", Decimal(0))
    per_message.add(uk, "marketing", "regular", mk[uk], "0:MAX")
    per_conversation.add(uk, "service", "free_customer_service", Decimal(0))
    per_conversation.add(uk, "utility", "regular", util[uk], unit="conversation")
    per_conversation.add(uk, "marketing", "regular", mk[uk], unit="conversation")
    await deliver(olivia)

    # Day 4: Nigeria comes through a click-to-chat link: the reply opens 72 free hours, a marketing template too.
    advance_to(server, month_start + datetime.timedelta(days=3, hours=9))
    chidi = people[nigeria]
    for biz in businesses:
        await click_to_chat(server, biz, chidi)
        await ok(await text_to(server, biz, chidi, "Welcome!"))
        await ok(await send(server, biz, template_body(chidi, "autumn_sale")))
    for expected in (per_message, per_conversation):
        expected.add(nigeria, "service", "free_entry_point", Decimal(0))
        expected.add(nigeria, "marketing", "free_entry_point", Decimal(0))
    await deliver(chidi)

    # Day 8, after the free window: marketing to Nigeria is charged again. Day 10: utility to North America.
    advance_to(server, month_start + datetime.timedelta(days=7, hours=12))
    await to_both(template_body(chidi, "autumn_sale"))
    per_message.add(nigeria, "marketing", "regular", mk[nigeria], "0:MAX")
    per_conversation.add(nigeria, "marketing", "regular", mk[nigeria], unit="conversation")
    advance_to(server, month_start + datetime.timedelta(days=9, hours=12))
    await to_both(template_body(people[north_america]))
    per_message.add(north_america, "utility", "regular", util[north_america], "0:2")
    per_conversation.add(north_america, "utility", "regular", util[north_america], unit="conversation")
    await deliver(chidi, people[north_america])

    # The last minutes of the month: a marketing template to Brazil is sent but not yet delivered.
    month_end = datetime.datetime.fromisoformat(f"{following}-01T00:00:00+00:00")
    advance_to(server, month_end - datetime.timedelta(minutes=5))
    await to_both(template_body(people[brazil], "autumn_sale"))

    # --- the month is over, but within the grace period it is still a draft ---------------------------------
    advance_to(server, month_end + datetime.timedelta(minutes=1))
    for biz in businesses:
        assert (await statement(server, biz, month)).json()["status"] == "draft"
    await deliver(people[brazil])  # delivered in the new month: charged in the next statement

    advance_to(server, month_end + datetime.timedelta(minutes=10))
    for biz, expected in ((pmp, per_message), (cbp, per_conversation)):
        first = await statement(server, biz, month)
        document = first.json()
        assert document["status"] == "final"
        assert document["period"] == month and document["currency"] == "USD"
        assert statement_rows(document) == expected.as_rows()
        charged = expected.charged
        totals = document["totals"]
        assert Decimal(totals["message_charges"]) == charged
        assert Decimal(totals["total"]) == cents(charged) and totals["total"] == f"{cents(charged):.2f}"
        assert Decimal(document["opening_balance"]) == TRIAL
        assert Decimal(document["closing_balance"]) == TRIAL + TOPUP - charged
        assert Decimal(document["held_at_close"]) == mk[brazil]  # the undelivered template's reservation
        assert Decimal(totals["credits"]) == TOPUP
        [topup] = document["wallet_movements"]
        assert (topup["kind"], Decimal(topup["amount"]), topup["reference"]) == ("topup", TOPUP, "bank-0001")
        assert document["reconciliation"]["balanced"] is True
        assert document["business"]["id"] == biz.waba_id

        # Finalised: fetched again, and after more activity, it is the same bytes.
        await server.container.billing.topup(int(biz.waba_id), 1_000_000, reference=f"late-{uuid.uuid4().hex}")
        again = await statement(server, biz, month)
        assert again.content == first.content

        # The late delivery and the later top-up are in the next month's draft, which opens where this closed.
        nxt = (await statement(server, biz, following)).json()
        assert nxt["status"] == "draft" and nxt["opening_balance"] == document["closing_balance"]
        late_unit = "message" if biz is pmp else "conversation"
        late_tier = "0:MAX" if biz is pmp else None
        assert statement_rows(nxt) == [
            (expected.model, brazil, "marketing", "regular", late_tier, late_unit, mk[brazil], 1, mk[brazil])
        ]
        assert Decimal(nxt["held_at_close"]) == 0
        wallet = await server.container.billing.balance(int(biz.waba_id))
        assert Decimal(nxt["closing_balance"]) * 1_000_000 == wallet.balance and wallet.held == 0

        # The previous month holds the trial credit and nothing else.
        first_month = (await statement(server, biz, previous)).json()
        assert (first_month["status"], first_month["line_items"]) == ("final", [])
        assert [m["kind"] for m in first_month["wallet_movements"]] == ["trial_credit"]
        assert (Decimal(first_month["opening_balance"]), Decimal(first_month["closing_balance"])) == (0, TRIAL)

        listing = await server.http.get(f"{V}/{biz.waba_id}/statements", headers=biz.headers)
        assert listing.status_code == 200
        assert [(p["period"], p["status"]) for p in listing.json()["data"]] == [
            (following, "draft"),
            (month, "final"),
            (previous, "final"),
        ]
        assert listing.json()["data"][1]["total"] == totals["total"]

    # Both models priced the same traffic: per conversation is cheaper here (repeats fall in open conversations).
    assert per_conversation.charged < per_message.charged

    # CSV: one row per line item and movement, and totals that add up.
    rendered = await statement(server, pmp, month, "csv")
    assert rendered.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(rendered.text)))
    document = (await statement(server, pmp, month)).json()
    charges = [r for r in rows if r["section"] == "message_charge"]
    assert len(charges) == len(document["line_items"])
    assert sum(Decimal(r["amount"]) for r in charges) == per_message.charged
    assert sum(int(r["volume"]) for r in charges) == sum(per_message.lines.values())
    assert [r["amount"] for r in rows if r["section"] == "wallet_movement"] == ["5.00"]
    [header] = [r for r in rows if r["section"] == "statement"]
    assert BUSINESS_NAME in header["description"]
    totals = {r["description"]: r["amount"] for r in rows if r["section"] == "total"}
    assert Decimal(totals["Message charges (exact)"]) == per_message.charged
    assert Decimal(totals["Total charged, rounded to the USD minor unit"]) == cents(per_message.charged)
    assert [Decimal(r["amount"]) for r in rows if r["section"] == "closing_balance"] == [
        TRIAL + TOPUP - per_message.charged
    ]

    # HTML: a printable page whose business name is escaped, whose line items are the statement's.
    page = await statement(server, pmp, month, "html")
    assert page.headers["content-type"].startswith("text/html")
    assert "<b>" not in page.text and "&lt;b&gt;" in page.text and "@media print" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no external assets
    parsed = _Page()
    parsed.feed(page.text)
    assert parsed.h1 == f"Statement for {BUSINESS_NAME}"
    assert parsed.total.strip() == f"{cents(per_message.charged):.2f} USD"
    assert len(parsed.line_rows) == len(document["line_items"])
    assert sum(Decimal(cells[-1]) for cells in parsed.line_rows) == per_message.charged

    # What the business reads in Meta's analytics agrees with its statement.
    start, end = int(month_start.timestamp()), int(month_end.timestamp())
    pricing = await server.http.get(
        f"{V}/{pmp.waba_id}",
        headers=pmp.headers,
        params={
            "fields": f"pricing_analytics.start({start}).end({end}).granularity(DAILY)"
            '.dimensions(["PRICING_TYPE","PRICING_CATEGORY","TIER","COUNTRY"])'
        },
    )
    assert pricing.status_code == 200, pricing.text
    points = pricing.json()["pricing_analytics"]["data"][0]["data_points"]
    assert sum(Decimal(str(p["cost"])) for p in points) == per_message.charged
    assert sum(p["volume"] for p in points) == sum(per_message.lines.values())
    regular = [p for p in points if p["pricing_type"] == "REGULAR"]
    assert sum(p["volume"] for p in regular) == sum(
        volume for key, volume in per_message.lines.items() if key[3] == "regular"
    )
    assert all("tier" in p for p in regular) and not any("tier" in p for p in points if p not in regular)
    assert {p["country"] for p in regular} == {"IN", "BR", "DE", "GB", "US", "NG"}
    conversations = await server.http.get(
        f"{V}/{cbp.waba_id}",
        headers=cbp.headers,
        params={
            "fields": f"conversation_analytics.start({start}).end({end}).granularity(MONTHLY)"
            '.dimensions(["CONVERSATION_TYPE"])'
        },
    )
    assert conversations.status_code == 200, conversations.text
    by_type = {
        p["conversation_type"]: p for p in conversations.json()["conversation_analytics"]["data"][0]["data_points"]
    }
    assert sum(Decimal(str(p["cost"])) for p in by_type.values()) == per_conversation.charged
    opened = sum(volume for key, volume in per_conversation.lines.items() if key[5] == "conversation")
    assert by_type["REGULAR"]["conversation"] == opened
    assert by_type["FREE_ENTRY"]["conversation"] == 1 and by_type["FREE_ENTRY"]["cost"] == 0


async def test_statements_are_scoped_to_the_token_and_refuse_bad_input(server: LiveServer) -> None:
    mine, theirs = await create_business(server, "Mine"), await create_business(server, "Theirs")
    now = datetime.datetime.fromtimestamp(server.clock.now_ms() / 1000, datetime.UTC)
    period = now.strftime("%Y-%m")
    other = await server.http.get(f"{V}/{theirs.waba_id}/statements", headers=mine.headers)
    assert other.status_code == 400 and other.json()["error"]["error_subcode"] == 33
    other_one = await server.http.get(f"{V}/{theirs.waba_id}/statements/{period}", headers=mine.headers)
    assert other_one.json()["error"]["error_subcode"] == 33
    assert (await server.http.get(f"{V}/{mine.waba_id}/statements")).status_code == 401
    for bad in ("2026-13", "26-01", "latest", "2026-1"):
        answer = await server.http.get(f"{V}/{mine.waba_id}/statements/{bad}", headers=mine.headers)
        assert answer.status_code == 400 and answer.json()["error"]["code"] == 100, bad
    wrong_format = await server.http.get(f"{V}/{mine.waba_id}/statements/{period}?format=pdf", headers=mine.headers)
    assert wrong_format.status_code == 400 and wrong_format.json()["error"]["code"] == 100
    before = await server.http.get(f"{V}/{mine.waba_id}/statements/2001-01", headers=mine.headers)
    assert before.status_code == 404 and before.json()["error"]["code"] == 100
    current = await server.http.get(f"{V}/{mine.waba_id}/statements/{period}", headers=mine.headers)
    assert current.status_code == 200 and current.json()["status"] == "draft"
    assert current.headers["cache-control"] == "private, no-store"
    # Months are the business's own: in Kolkata a month starts at 00:00 +05:30.
    await server.container.billing.set_billing_profile(int(mine.waba_id), timezone="Asia/Kolkata")
    kolkata = datetime.datetime.fromtimestamp(server.clock.now_ms() / 1000, zoneinfo.ZoneInfo("Asia/Kolkata"))
    local = (await statement(server, mine, kolkata.strftime("%Y-%m"))).json()
    assert local["period_start"].endswith("T00:00:00+05:30") and local["timezone"] == "Asia/Kolkata"
    # The WABA object itself still answers, and the statements route did not shadow it.
    waba = await server.http.get(f"{V}/{mine.waba_id}", headers=mine.headers)
    assert waba.status_code == 200 and waba.json()["name"] == "Mine"


async def test_the_operator_revenue_report_and_the_statement_command(
    server: LiveServer, settings: Settings, tmp_path: Path
) -> None:
    biz = await create_business(server, "Report Co")
    await approved_template(
        server, biz, name="autumn_sale", category="MARKETING", body="Autumn sale on {{1}} until {{2}}, come and see."
    )
    card = card_rates(datetime.date.fromtimestamp(server.clock.now_ms() / 1000))
    germany = market_named(card, "Germany")
    jonas = await server.user("Jonas", "+4915123450401")
    await ok(await send(server, biz, template_body(jonas, "autumn_sale")))
    await ack_all(server, jonas)
    rate = card[germany]["marketing"]

    today = datetime.datetime.fromtimestamp(server.clock.now_ms() / 1000, datetime.UTC).date()
    days = [(today - datetime.timedelta(days=1)).isoformat(), (today + datetime.timedelta(days=1)).isoformat()]
    report = await revenue_report(server.container.db, server.container.billing.journal, today, today)
    [messaging] = [lever for lever in report.levers if lever.lever == "messaging"]
    assert (messaging.currency, messaging.revenue, messaging.postings) == ("USD", int(rate * 1_000_000), 1)
    assert [(m.market, m.messages, m.revenue) for m in report.markets] == [(germany, 1, int(rate * 1_000_000))]
    assert report.unattributed() == {"USD": 0}
    earlier = await revenue_report(
        server.container.db, server.container.billing.journal, today - datetime.timedelta(days=3), today
    )
    assert earlier.as_json()["by_lever"] == report.as_json()["by_lever"]
    before = await revenue_report(
        server.container.db,
        server.container.billing.journal,
        today - datetime.timedelta(days=9),
        today - datetime.timedelta(days=2),
    )
    assert before.levers[0].revenue == 0 and before.markets == []

    # The same through the CLI, in its own process-like container on the same database.
    env = {
        "PARLEY_DATABASE_URL": settings.resolved_database_url,
        "PARLEY_DATA_DIR": str(settings.data_dir),
        "PARLEY_SECRET_KEY": "test-secret",
    }

    def run(*args: str) -> Any:
        return CliRunner().invoke(parley_cli, ["billing", *args], env=env)

    result = await asyncio.to_thread(run, "revenue", "--from", days[0], "--to", days[1], "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["by_lever"] == [{"lever": "messaging", "currency": "USD", "revenue": str(rate), "postings": 1}]
    assert printed["by_market"][0]["market"] == germany and printed["unattributed"] == {"USD": "0.00"}
    table = await asyncio.to_thread(run, "revenue", "--from", days[0], "--to", days[1])
    assert table.exit_code == 0 and "messaging" in table.stdout and str(rate) in table.stdout
    backwards = await asyncio.to_thread(run, "revenue", "--from", days[1], "--to", days[0])
    assert backwards.exit_code != 0

    month = today.strftime("%Y-%m")
    target = tmp_path / "statement.csv"
    written = await asyncio.to_thread(
        run, "statement", biz.waba_id, "--month", month, "--format", "csv", "--output", str(target)
    )
    assert written.exit_code == 0, written.output
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    [line] = [r for r in rows if r["section"] == "message_charge"]
    assert (line["market"], line["volume"], Decimal(line["amount"])) == (germany, "1", rate)
    as_json = await asyncio.to_thread(run, "statement", biz.waba_id, "--month", month)
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["status"] == "draft"
    missing = await asyncio.to_thread(run, "statement", biz.waba_id, "--month", "2001-01")
    assert missing.exit_code == 2
