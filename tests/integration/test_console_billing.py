"""The console's Billing API as an owner uses it: card top-ups through the sandbox provider credit the wallet
exactly once, declined cards credit nothing, spend per day and the cost preview agree with what sends are
charged, and each finalised month gets one invoice number from a gapless sequence."""

from __future__ import annotations

import asyncio
import datetime
import re
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from parley import billing
from parley.config import PaymentSettings, Settings
from tests.conftest import LiveServer, User, running_server
from tests.integration.business_helpers import Biz, ack_all, approved_template, create_business, send, template_body
from tests.integration.inbox_helpers import Agent, agent

API = "/console/billing"
GOOD_CARD = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}
DECLINED_CARD = {**GOOD_CARD, "number": "4000 0000 0000 0002"}
NO_FUNDS_CARD = {**GOOD_CARD, "number": "4000000000009995"}
GERMANY_MARKETING = Decimal("0.1365")  # the shipped card's rate


async def _owner(server: LiveServer, name: str = "Billing Co") -> tuple[Biz, Agent]:
    biz = await create_business(server, name)
    return biz, await agent(server, biz, "Olga Owner", role="owner")


async def _balance(owner: Agent) -> Decimal:
    response = await owner.get(f"{API}/balance")
    assert response.status_code == 200, response.text
    return Decimal(response.json()["balance"])


async def _create(owner: Agent, amount: Any, key: str) -> httpx.Response:
    return await owner.post(f"{API}/payments", {"amount": amount}, **{"Idempotency-Key": key})


async def _pay(owner: Agent, amount: str, card: dict[str, Any], key: str) -> httpx.Response:
    created = await _create(owner, amount, key)
    assert created.status_code == 200, created.text
    return await owner.post(f"{API}/payments/{created.json()['id']}/confirm", {"card": card})


async def test_an_agent_is_refused_every_billing_route_and_writes_need_the_csrf_header(server: LiveServer) -> None:
    biz, owner = await _owner(server)
    helper = await agent(server, biz, "Andy Agent")
    try:
        for path in (
            "/balance",
            "/payments",
            "/spend",
            "/statements",
            "/cost-preview?category=marketing&to=+4915112345678",
        ):
            refused = await helper.get(API + path)
            assert refused.status_code == 403, path
            assert refused.json()["error"]["code"] == "forbidden"
        assert (await helper.post(f"{API}/payments", {"amount": "25.00"})).status_code == 403
        no_csrf = await owner.http.post(f"/inbox/api{API}/payments", json={"amount": "25.00"})
        assert no_csrf.status_code == 403
        assert (await owner.get(f"{API}/payments")).json()["data"] == []  # nothing was created
    finally:
        await owner.http.aclose()
        await helper.http.aclose()


async def test_a_card_top_up_credits_the_wallet_once_however_often_it_is_confirmed(server: LiveServer) -> None:
    biz, owner = await _owner(server)
    try:
        assert await _balance(owner) == Decimal("10")  # the trial credit
        first = await _create(owner, "25.00", "attempt-1")
        again = await _create(owner, "25.00", "attempt-1")  # a double click on "Top up"
        assert first.status_code == again.status_code == 200
        assert first.json()["id"] == again.json()["id"] and first.json()["status"] == "requires_confirmation"
        other_amount = await _create(owner, "30.00", "attempt-1")
        assert other_amount.status_code == 409

        payment_id = first.json()["id"]
        paid = await owner.post(f"{API}/payments/{payment_id}/confirm", {"card": GOOD_CARD})
        assert paid.status_code == 200, paid.text
        assert paid.json()["payment"]["status"] == "succeeded"
        assert paid.json()["payment"]["card"] == {"brand": "visa", "last4": "4242"}
        assert paid.json()["balance"]["balance"] == "35.00"
        retried = await owner.post(f"{API}/payments/{payment_id}/confirm", {"card": GOOD_CARD})
        assert retried.status_code == 200 and retried.json()["balance"]["balance"] == "35.00"

        # Two confirms racing (two tabs): one credit.
        racing = (await _create(owner, "12.34", "attempt-2")).json()["id"]
        answers = await asyncio.gather(
            *[owner.post(f"{API}/payments/{racing}/confirm", {"card": GOOD_CARD}) for _ in range(4)]
        )
        assert [a.status_code for a in answers] == [200] * 4
        assert await _balance(owner) == Decimal("47.34")

        # The ledger entry names the payment and the card; the card number is stored nowhere.
        topup = await server.container.db.read(
            lambda conn: server.container.billing.journal.transfer_by_key(
                conn, f"topup:{biz.waba_id}:payment:{payment_id}"
            )
        )
        assert topup is not None and topup.amount == 25_000_000
        assert topup.references["card_brand"] == "visa" and topup.references["card_last4"] == "4242"
        from parley.payments.models import payments

        rows = await server.container.db.read(lambda conn: [tuple(r) for r in conn.execute(select(payments))])
        assert rows and not any("4242424242424242" in str(value) for row in rows for value in row)
        listed = (await owner.get(f"{API}/payments")).json()["data"]
        assert [p["status"] for p in listed] == ["succeeded", "succeeded"]
        assert (await owner.get(f"{API}/payments/{payment_id}")).json()["amount"] == "25.00"
    finally:
        await owner.http.aclose()


async def test_declined_and_invalid_cards_credit_nothing_and_say_why(server: LiveServer) -> None:
    _biz, owner = await _owner(server)
    try:
        declined = await _pay(owner, "25.00", DECLINED_CARD, "d-1")
        assert declined.status_code == 402
        assert declined.json()["error"] == {"code": "card_declined", "message": "Your card was declined."}
        no_funds = await _pay(owner, "25.00", NO_FUNDS_CARD, "d-2")
        assert no_funds.status_code == 402 and "insufficient funds" in no_funds.json()["error"]["message"]
        expired = await _pay(owner, "25.00", {**GOOD_CARD, "exp_year": 2020}, "d-3")
        assert expired.status_code == 402 and "expired" in expired.json()["error"]["message"]
        assert await _balance(owner) == Decimal("10")

        # A declined payment stays declined: confirming it again (even with a good card) credits nothing.
        declined_id = [p for p in (await owner.get(f"{API}/payments")).json()["data"] if p["status"] == "declined"]
        for payment in declined_id:
            retry = await owner.post(f"{API}/payments/{payment['id']}/confirm", {"card": GOOD_CARD})
            assert retry.status_code == 402
        assert await _balance(owner) == Decimal("10")

        # A mistyped number fails the Luhn check: 400, and the payment can still be paid once corrected.
        pending = (await _create(owner, "5.00", "typo")).json()["id"]
        typo = await owner.post(
            f"{API}/payments/{pending}/confirm", {"card": {**GOOD_CARD, "number": "4242424242424241"}}
        )
        assert typo.status_code == 400 and typo.json()["error"]["code"] == "invalid_card"
        bad_shape = await owner.post(f"{API}/payments/{pending}/confirm", {"card": {**GOOD_CARD, "exp_month": "x"}})
        assert bad_shape.status_code == 400 and "4242" not in bad_shape.text
        fixed = await owner.post(f"{API}/payments/{pending}/confirm", {"card": GOOD_CARD})
        assert fixed.status_code == 200 and fixed.json()["balance"]["balance"] == "15.00"
        unknown = await owner.post(f"{API}/payments/123/confirm", {"card": GOOD_CARD})
        assert unknown.status_code == 404
    finally:
        await owner.http.aclose()


async def test_bad_amounts_are_refused_with_a_reason_and_create_nothing(server: LiveServer) -> None:
    _biz, owner = await _owner(server)
    try:
        for amount, says in [
            ("abc", "not a decimal number"),
            ("25.001", "at most 2 decimal places"),
            ("1.00", "between 5.00 and 10000.00 USD"),
            ("10000.01", "between 5.00 and 10000.00 USD"),
            ("-5", "negative"),
            ("1e3", "exponent"),
        ]:
            refused = await _create(owner, amount, f"bad-{amount}")
            assert refused.status_code == 400, amount
            assert refused.json()["error"]["code"] == "invalid_amount"
            assert says in refused.json()["error"]["message"], refused.json()
        as_number = await _create(owner, 25.0, "float")  # a JSON number could be a float: refused
        assert as_number.status_code == 400 and as_number.json()["error"]["code"] == "invalid_request"
        assert (await owner.get(f"{API}/payments")).json()["data"] == []
    finally:
        await owner.http.aclose()


async def test_the_cost_preview_is_what_the_send_then_charges_and_spend_per_day_moves(server: LiveServer) -> None:
    biz, owner = await _owner(server)
    try:
        await approved_template(
            server, biz, name="autumn_sale", category="MARKETING", body="Autumn sale on {{1}} until {{2}}, come."
        )
        person: User = await server.user("Jonas", "+4915123450001")
        by_number = await owner.get(f"{API}/cost-preview", category="marketing", to=person.phone)
        by_market = await owner.get(f"{API}/cost-preview", category="marketing", market="Germany")
        assert by_number.status_code == by_market.status_code == 200, by_number.text
        quote = by_number.json()
        assert (quote["amount"], quote["currency"], quote["market"], quote["tier"]) == (
            "0.1365",
            "USD",
            "Germany",
            "0:MAX",
        )
        assert by_market.json()["amount"] == quote["amount"]
        utility = (
            await owner.get(f"{API}/cost-preview", category="utility", market="North America (United States, Canada)")
        ).json()
        assert utility["tier"] is not None  # utility has volume bands

        before = (await owner.get(f"{API}/spend")).json()
        assert before["total"] == "0.00" and len(before["days"]) == 30
        balance = await _balance(owner)
        sent = await send(server, biz, template_body(person, name="autumn_sale"))
        assert sent.status_code == 200, sent.text
        await ack_all(server, person)
        assert balance - await _balance(owner) == Decimal(quote["amount"])

        after = (await owner.get(f"{API}/spend")).json()
        today = after["days"][-1]
        assert after["categories"] == ["marketing"]
        assert today["by_category"] == {"marketing": quote["amount"]} and today["messages"] == 1
        assert after["rows"][0]["market"] == "Germany"
        # The same figures as the month's statement (both come from the charges the ledger posted).
        [statement] = (await owner.get(f"{API}/statements")).json()["data"]
        assert statement["message_charges"] == after["total"] == quote["amount"]

        for params, says in [
            ({"category": "gossip", "to": person.phone}, "category"),
            ({"category": "marketing", "market": "Atlantis"}, "no market"),
            ({"category": "marketing", "to": "call me"}, "phone number"),
            ({"category": "marketing"}, "either"),
        ]:
            refused = await owner.get(f"{API}/cost-preview", **params)
            assert refused.status_code == 400 and says in refused.json()["error"]["message"], refused.text
        for params in [
            {"from": "2026-13-01"},
            {"from": "2026-12-10", "to": "2026-12-01"},
            {"from": "2020-01-01", "to": "2026-01-01"},
            {"from": "9999-12-30", "to": "9999-12-31"},
            {"to": "0001-01-01"},
        ]:
            assert (await owner.get(f"{API}/spend", **params)).status_code == 400, params
    finally:
        await owner.http.aclose()


def _next_month_start(ms: int) -> datetime.datetime:
    now = datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)
    return datetime.datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=datetime.UTC)


def _advance_to(server: LiveServer, moment: datetime.datetime) -> None:
    server.clock.advance(seconds=moment.timestamp() - server.clock.now_ms() / 1000)


async def test_each_finalised_month_gets_one_invoice_number_from_a_gapless_sequence(server: LiveServer) -> None:
    biz, owner = await _owner(server)
    waba = int(biz.waba_id)
    try:
        months = []
        for _ in range(3):  # activity in three months, then a quiet one, then the current month
            await server.container.billing.topup(waba, 5_000_000)
            months.append(datetime.datetime.fromtimestamp(server.clock.now_ms() / 1000, datetime.UTC).strftime("%Y-%m"))
            _advance_to(server, _next_month_start(server.clock.now_ms()) + datetime.timedelta(days=1))
        _advance_to(server, _next_month_start(server.clock.now_ms()) + datetime.timedelta(hours=1))
        await owner.sign_in_again(server.base_url)

        # Many requests at once: the first to arrive finalises and numbers, none numbers a month twice.
        listings = await asyncio.gather(*[owner.get(f"{API}/statements") for _ in range(8)])
        assert {r.status_code for r in listings} == {200}
        numbered = [{s["period"]: s["invoice_number"] for s in r.json()["data"]} for r in listings]
        assert all(n == numbered[0] for n in numbered)
        year = lambda m: m[:4]  # noqa: E731
        assert numbered[0] == {
            months[2]: f"INV-{year(months[2])}-000003",
            months[1]: f"INV-{year(months[1])}-000002",
            months[0]: f"INV-{year(months[0])}-000001",
        }  # the quiet month and the open one are not listed, and no number was skipped
        from parley.billing.models import billing_invoices

        stored = await server.container.db.read(
            lambda c: sorted((r.period, r.number) for r in c.execute(select(billing_invoices)))
        )
        assert stored == [(months[0], 1), (months[1], 2), (months[2], 3)]
        graph = await server.http.get(f"/v23.0/{biz.waba_id}/statements", headers=biz.headers)
        assert {s["period"]: s["invoice_number"] for s in graph.json()["data"] if s["invoice_number"]} == numbered[0]

        # Later activity opens a draft without a number; the finalised months keep theirs.
        await server.container.billing.topup(waba, 5_000_000)
        latest = (await owner.get(f"{API}/statements")).json()["data"]
        assert latest[0]["status"] == "draft" and latest[0]["invoice_number"] is None
        assert [s["invoice_number"] for s in latest[1:]] == [numbered[0][m] for m in reversed(months)]

        page = await owner.http.get(latest[1]["links"]["html"])
        assert page.status_code == 200 and f"INV-{year(months[2])}-000003" in page.text
        assert "unsafe-inline" in page.headers["content-security-policy"] and "<script" not in page.text.lower()
        csv = await owner.http.get(latest[1]["links"]["csv"])
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        assert re.search(r"^statement,", csv.text, re.M)
        assert (await owner.http.get("/inbox/console/billing/statements/1999-01")).status_code == 404
        assert (await owner.http.get("/inbox/console/billing/statements/nope")).status_code == 400
    finally:
        await owner.http.aclose()


async def test_the_billing_page_shows_the_wallet_and_an_agent_gets_the_403_page(server: LiveServer) -> None:
    biz, owner = await _owner(server)
    helper = await agent(server, biz, "Andy Agent")
    try:
        page = await owner.http.get("/inbox/console/billing")
        assert page.status_code == 200
        assert 'id="balance-balance">10.00<' in page.text and "4242 4242 4242 4242" in page.text
        assert 'aria-current="page">Billing' in page.text
        assert (await helper.http.get("/inbox/console/billing")).status_code == 403
        assert (await helper.http.get("/inbox/console/billing/statements/2026-01")).status_code == 403
        bad_range = await owner.http.get("/inbox/console/billing", params={"from": "yesterday"})
        assert bad_range.status_code == 200 and 'id="spend-error"' in bad_range.text
    finally:
        await owner.http.aclose()
        await helper.http.aclose()


def test_billing_exports_what_the_console_uses() -> None:
    assert billing.PREVIEW_CATEGORIES == ("marketing", "utility", "authentication")


async def test_without_a_payment_provider_cards_are_refused_and_the_page_says_whom_to_ask(settings: Settings) -> None:
    production_like = settings.model_copy(update={"payments": PaymentSettings(provider="none")})
    async with running_server(production_like) as server:
        _biz, owner = await _owner(server)
        try:
            refused = await _create(owner, "25.00", "no-provider")
            assert refused.status_code == 409 and refused.json()["error"]["code"] == "payments_unavailable"
            page = await owner.http.get("/inbox/console/billing")
            assert 'id="topup-unavailable"' in page.text and 'id="topup-form"' not in page.text
            assert await _balance(owner) == Decimal("10")
        finally:
            await owner.http.aclose()
