"""Billing on the Cloud API send path: reserve at send, charge at delivery, never charge a failure.

Each test drives real sends over HTTP and people's real delivery acknowledgements, then reads the wallet the
operator sees and the status webhooks the business receives; prices come from the shipped rate card.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from parley import billing
from parley.config import BillingSettings, BusinessSettings, Settings
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
    statuses,
    template_body,
    text_to,
)

# Shipped card (2026-01-01), USD per message: Germany marketing, India auth-international, North America utility.
GERMANY_MARKETING = Decimal("0.1365")
INDIA_AUTH_INTERNATIONAL = Decimal("0.0280")
NORTH_AMERICA_UTILITY = Decimal("0.0034")
TRIAL = Decimal("10")


def _german(i: int) -> str:
    return f"+49151{23450000 + i:08d}"


async def _balance(server: LiveServer, biz: Biz) -> billing.Balance:
    return await server.container.billing.balance(int(biz.waba_id))


def _usd(micros: int) -> Decimal:
    return Decimal(micros) / 1_000_000


async def _marketing(server: LiveServer, biz: Biz) -> None:
    await approved_template(
        server, biz, name="autumn_sale", category="MARKETING", body="Autumn sale on {{1}} until {{2}}, come and see."
    )


def _marketing_to(person: User) -> dict[str, Any]:
    return template_body(person, name="autumn_sale")


async def _settings_with(settings: Settings, **billing_values: Any) -> Settings:
    return settings.model_copy(update={"billing": BillingSettings(**billing_values)})


async def test_a_new_business_starts_with_the_trial_credit_from_promotions(server: LiveServer) -> None:
    biz = await create_business(server)
    balance = await _balance(server, biz)
    assert (balance.currency, _usd(balance.balance), balance.held, balance.credit_line) == ("USD", TRIAL, 0, 0)
    promotions = await server.container.ledger.account(billing.promotions_key("USD"))
    assert _usd(promotions.balance) == TRIAL  # the platform's cost of the trial


async def test_a_template_is_reserved_at_send_and_charged_once_when_delivered(server: LiveServer) -> None:
    biz = await create_business(server)
    await _marketing(server, biz)
    person = await server.user("Jonas", _german(1))
    sent = await send(server, biz, _marketing_to(person))
    assert sent.status_code == 200, sent.text
    wamid = sent.json()["messages"][0]["id"]

    balance = await _balance(server, biz)
    assert (_usd(balance.balance), _usd(balance.held)) == (TRIAL, GERMANY_MARKETING)  # reserved, not charged
    [sent_status] = await statuses(server, biz, wamid)
    assert sent_status["pricing"] == {
        "billable": True,
        "pricing_model": "PMP",
        "category": "marketing",
        "type": "regular",
    }

    await ack_all(server, person)
    balance = await _balance(server, biz)
    assert (_usd(balance.balance), balance.held) == (TRIAL - GERMANY_MARKETING, 0)
    delivered = [s for s in await statuses(server, biz, wamid) if s["status"] == "delivered"]
    assert delivered[0]["pricing"]["billable"] is True and delivered[0]["pricing"]["category"] == "marketing"
    revenue = await server.container.ledger.account(billing.revenue_key("messaging", "USD"))
    assert _usd(revenue.balance) == GERMANY_MARKETING

    # Reading it later changes nothing: a message is charged once.
    reader = await server.container.accounts.authenticate(person.token)
    await server.container.messaging.mark_read(reader.user_id, wamid_to_id(wamid))
    assert _usd((await _balance(server, biz)).balance) == TRIAL - GERMANY_MARKETING


def wamid_to_id(wamid: str) -> str:
    from parley.business.wamid import parse_wamid

    found = parse_wamid(wamid)
    assert found is not None
    return str(found)


async def test_replies_inside_the_window_are_free_and_say_so(server: LiveServer) -> None:
    biz = await create_business(server)
    await approved_template(server, biz)  # UTILITY
    person = await server.user("Ann")
    await person_writes(server, person, biz, "Where is my order?")
    text = await text_to(server, biz, person, "On its way!")
    utility = await send(server, biz, template_body(person))
    assert text.status_code == utility.status_code == 200
    await ack_all(server, person)
    for response in (text, utility):
        wamid = response.json()["messages"][0]["id"]
        for status in await statuses(server, biz, wamid):
            if status["status"] in ("sent", "delivered"):
                assert status["pricing"]["billable"] is False
                assert status["pricing"]["type"] == "free_customer_service"
    balance = await _balance(server, biz)
    assert (_usd(balance.balance), balance.held) == (TRIAL, 0)


async def test_utility_outside_the_window_is_charged_at_its_market_rate(server: LiveServer) -> None:
    biz = await create_business(server)
    await approved_template(server, biz)
    person = await server.user("Ann")  # +1 415: North America
    response = await send(server, biz, template_body(person))
    assert response.status_code == 200
    await ack_all(server, person)
    assert _usd((await _balance(server, biz)).balance) == TRIAL - NORTH_AMERICA_UTILITY


async def test_a_send_the_wallet_cannot_cover_is_refused_with_131042_and_nothing_goes_out(settings: Settings) -> None:
    async with running_server(await _settings_with(settings, trial_credit="0.1")) as server:
        biz = await create_business(server)
        await _marketing(server, biz)
        person = await server.user("Jonas", _german(2))
        refused = await send(server, biz, _marketing_to(person), **{"Idempotency-Key": "k-1"})
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == 131042
        assert "top up" in refused.json()["error"]["error_data"]["details"]
        principal = await server.container.accounts.authenticate(person.token)
        assert await server.container.messaging.pending_inbox(principal.user_id, 0, 10) == []
        balance = await _balance(server, biz)
        assert (_usd(balance.balance), balance.held) == (Decimal("0.1"), 0)

        await server.container.billing.topup(int(biz.waba_id), 1_000_000, reference="bank-1")
        again = await send(server, biz, _marketing_to(person), **{"Idempotency-Key": "k-1"})
        assert again.status_code == 200, again.text
        assert _usd((await _balance(server, biz)).held) == GERMANY_MARKETING


async def test_a_credit_line_lets_the_wallet_go_below_zero_up_to_its_limit(settings: Settings) -> None:
    async with running_server(await _settings_with(settings, trial_credit="0")) as server:
        biz = await create_business(server)
        await _marketing(server, biz)
        await server.container.billing.set_credit_line(int(biz.waba_id), 200_000)  # 0.20 USD
        first, second = await server.user("A", _german(3)), await server.user("B", _german(4))
        assert (await send(server, biz, _marketing_to(first))).status_code == 200
        refused = await send(server, biz, _marketing_to(second))
        assert refused.json()["error"]["code"] == 131042
        await ack_all(server, first)
        balance = await _balance(server, biz)
        assert _usd(balance.balance) == -GERMANY_MARKETING
        assert _usd(balance.available) == Decimal("0.2") - GERMANY_MARKETING


async def test_racing_sends_for_the_last_funds_exactly_one_wins(settings: Settings) -> None:
    async with running_server(await _settings_with(settings, trial_credit="0.2")) as server:
        biz = await create_business(server)
        await _marketing(server, biz)
        people = [await server.user(f"P{i}", _german(10 + i)) for i in range(6)]
        answers = await asyncio.gather(*(send(server, biz, _marketing_to(p)) for p in people))
        codes = sorted(a.status_code for a in answers)
        assert codes == [200, 400, 400, 400, 400, 400]
        assert all(a.json()["error"]["code"] == 131042 for a in answers if a.status_code == 400)
        assert _usd((await _balance(server, biz)).held) == GERMANY_MARKETING


async def test_a_retried_send_with_the_same_idempotency_key_is_charged_once(server: LiveServer) -> None:
    biz = await create_business(server)
    await _marketing(server, biz)
    person = await server.user("Jonas", _german(5))
    first = await send(server, biz, _marketing_to(person), **{"Idempotency-Key": "order-77"})
    retry = await send(server, biz, _marketing_to(person), **{"Idempotency-Key": "order-77"})
    assert first.json()["messages"][0]["id"] == retry.json()["messages"][0]["id"]
    assert _usd((await _balance(server, biz)).held) == GERMANY_MARKETING
    await ack_all(server, person)
    assert _usd((await _balance(server, biz)).balance) == TRIAL - GERMANY_MARKETING


async def test_a_message_failed_at_send_is_never_charged(settings: Settings) -> None:
    limited = settings.model_copy(update={"business": BusinessSettings(messaging_limit_tiers=[1])})
    async with running_server(limited) as server:
        biz = await create_business(server)
        await _marketing(server, biz)
        first, second = await server.user("A", _german(20)), await server.user("B", _german(21))
        assert (await send(server, biz, _marketing_to(first))).status_code == 200
        over = await send(server, biz, _marketing_to(second))  # accepted, then failed 131048
        wamid = over.json()["messages"][0]["id"]
        [failed] = await statuses(server, biz, wamid)
        assert failed["status"] == "failed" and "pricing" not in failed
        assert _usd((await _balance(server, biz)).held) == GERMANY_MARKETING  # only the first


async def test_an_undelivered_message_is_released_when_its_reservation_expires(server: LiveServer) -> None:
    biz = await create_business(server)
    await _marketing(server, biz)
    person = await server.user("Offline", _german(30))
    wamid = (await send(server, biz, _marketing_to(person))).json()["messages"][0]["id"]
    assert _usd((await _balance(server, biz)).held) == GERMANY_MARKETING
    server.clock.advance(hours=24 * 31)
    await server.container.business_sweeps.sweep_now()
    balance = await _balance(server, biz)
    assert (_usd(balance.balance), balance.held) == (TRIAL, 0)
    failed = [s for s in await statuses(server, biz, wamid) if s["status"] == "failed"]
    assert failed[0]["errors"][0]["code"] == 131026
    await ack_all(server, person)  # the device finally shows up: still not charged
    assert _usd((await _balance(server, biz)).balance) == TRIAL


async def test_dry_run_prices_a_message_and_sends_nothing(server: LiveServer) -> None:
    biz = await create_business(server)
    await _marketing(server, biz)
    person = await server.user("Jonas", _german(40))
    preview = await server.http.post(
        f"{V}/{biz.phone_number_id}/messages?dry_run=true",
        headers=biz.headers,
        json={"messaging_product": "whatsapp", **_marketing_to(person)},
    )
    assert preview.status_code == 200, preview.text
    answer = preview.json()
    assert answer["dry_run"] is True
    assert answer["pricing"] == {"billable": True, "pricing_model": "PMP", "category": "marketing", "type": "regular"}
    assert answer["cost"]["amount"] == "0.1365" and answer["cost"]["market"] == "Germany"
    assert answer["cost"]["tier"] == "0:MAX"  # marketing has no volume tiers
    assert answer["window"]["customer_service_window"] == "closed"
    principal = await server.container.accounts.authenticate(person.token)
    assert await server.container.messaging.pending_inbox(principal.user_id, 0, 10) == []
    assert (await _balance(server, biz)).held == 0

    await person_writes(server, person, biz, "Hallo")
    free = await server.http.post(
        f"{V}/{biz.phone_number_id}/messages?dry_run=true",
        headers=biz.headers,
        json={"messaging_product": "whatsapp", "to": person.phone, "type": "text", "text": {"body": "Hi"}},
    )
    assert free.json()["pricing"]["type"] == "free_customer_service"
    assert free.json()["cost"]["amount"] == "0.00"
    assert free.json()["window"]["customer_service_window"] == "open"


async def test_authentication_to_another_market_is_billed_at_the_international_rate(server: LiveServer) -> None:
    biz = await create_business(server)
    await server.container.billing.set_billing_profile(int(biz.waba_id), home_calling_code="1", auth_international=True)
    await approved_auth_template(server, biz)
    person = await server.user("Priya", "+919812345678")
    response = await send(server, biz, auth_template_body(person))
    assert response.status_code == 200, response.text
    await ack_all(server, person)
    wamid = response.json()["messages"][0]["id"]
    delivered = [s for s in await statuses(server, biz, wamid) if s["status"] == "delivered"]
    assert delivered[0]["pricing"]["category"] == "authentication_international"
    assert _usd((await _balance(server, biz)).balance) == TRIAL - INDIA_AUTH_INTERNATIONAL


async def test_a_loaded_card_with_a_markup_prices_later_deliveries(server: LiveServer, tmp_path: Any) -> None:
    biz = await create_business(server)
    await _marketing(server, biz)
    card = (
        "market,country_codes,currency,pricing_model,marketing,utility,authentication,"
        "authentication_international,effective,note\n"
        "Germany,49,USD,PMP,0.2000,0.0500,0.0500,,2026-01-01,test card\n"
        "Other,all calling codes not mapped elsewhere,USD,PMP,0.0600,0.0100,0.0100,,2026-01-01,test card\n"
    )
    import datetime

    await server.container.billing.load_card(
        card,
        price_list="reseller",
        source="reseller.csv",
        markup_bps=2500,
        effective=datetime.date(2020, 1, 1),
    )
    await server.container.billing.set_billing_profile(int(biz.waba_id), price_list="reseller")
    person = await server.user("Jonas", _german(50))
    assert (await send(server, biz, _marketing_to(person))).status_code == 200
    await ack_all(server, person)
    assert _usd((await _balance(server, biz)).balance) == TRIAL - Decimal("0.25")  # 0.20 + 25 %


@pytest.mark.parametrize("amount", ["-1", "0", "abc", "1.0000001"])
async def test_bad_top_ups_are_refused_and_change_nothing(server: LiveServer, amount: str) -> None:
    from parley.kit.errors import InvalidInputError
    from parley.kit.money import parse_amount

    biz = await create_business(server)
    with pytest.raises((ValueError, InvalidInputError)):
        await server.container.billing.topup(int(biz.waba_id), parse_amount(amount))
    assert _usd((await _balance(server, biz)).balance) == TRIAL


async def test_a_template_recategorised_before_delivery_is_charged_at_its_category_when_sent(
    server: LiveServer,
) -> None:
    biz = await create_business(server)
    template = await approved_template(server, biz)  # UTILITY
    person = await server.user("Ann")  # North America
    assert (await send(server, biz, template_body(person))).status_code == 200
    # The business edits the wording into a promotion: the review approves it again, as MARKETING.
    edited = await server.http.post(
        f"{V}/{template['id']}",
        headers=biz.headers,
        json={
            "components": [
                {
                    "type": "BODY",
                    "text": "Your order {{1}} ships on {{2}}, and here is a discount for the next one.",
                    "example": {"body_text": [["A-1", "Monday"]]},
                }
            ]
        },
    )
    assert edited.status_code == 200, edited.text
    server.clock.advance(seconds=5)
    await server.container.templates.review_due_now()
    now = await server.http.get(f"{V}/{template['id']}?fields=category", headers=biz.headers)
    assert now.json()["category"] == "MARKETING"
    await ack_all(server, person)
    assert _usd((await _balance(server, biz)).balance) == TRIAL - NORTH_AMERICA_UTILITY
