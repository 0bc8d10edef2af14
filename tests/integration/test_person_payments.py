"""Parley Pay for people through the client API: wallets, top-ups (each sandbox outcome), withdrawals, payments in
a 1:1 chat confirmed with a PIN, market caps over days and months, idempotency and races; the ledger verifies
after every scenario."""

from __future__ import annotations

import asyncio
import datetime
import uuid
import zoneinfo
from typing import Any

import httpx
import pytest

from parley import payments
from parley.config import PersonPaySettings, Settings
from tests.conftest import LiveServer, User

API = "/client/v1"
CARD = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}
BR_PHONES = iter(f"+55119876{n:05d}" for n in range(10_000, 99_999))
IN_PHONES = iter(f"+9198765{n:05d}" for n in range(10_000, 99_999))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The sweep stays off: the tests run it themselves, at the moment they check what it does."""
    return settings.model_copy(update={"person_pay": PersonPaySettings(sweep_interval_s=0)})


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def brazilian(server: LiveServer, name: str) -> User:
    return await server.user(name, phone=next(BR_PHONES))


async def verify_ledger(server: LiveServer) -> None:
    report = await server.container.ledger.verify()
    assert report.ok, [c.problems for c in report.checks if not c.ok]


async def balance(server: LiveServer, user: User, currency: str = "BRL") -> str:
    response = await server.http.get(f"{API}/wallet", headers=user.headers)
    assert response.status_code == 200, response.text
    return next(w["balance"] for w in response.json()["wallets"] if w["currency"] == currency)


async def top_up(
    server: LiveServer,
    user: User,
    amount: str,
    *,
    currency: str = "BRL",
    headers: dict[str, str] | None = None,
    **method: Any,
) -> httpx.Response:
    body = {"amount": amount, "currency": currency, **(method or {"method": "card", "card": CARD})}
    return await server.http.post(f"{API}/wallet/topups", headers={**user.headers, **(headers or key())}, json=body)


async def chat_between(server: LiveServer, a: User, b: User) -> str:
    return str((await server.send_text(a, "hi", to=b))["chat_id"])


async def set_pin(server: LiveServer, user: User, pin: str = "1234") -> None:
    response = await server.http.put(f"{API}/wallet/pin", headers=user.headers, json={"pin": pin})
    assert response.status_code == 204, response.text


async def start_payment(
    server: LiveServer,
    payer: User,
    chat_id: str,
    amount: str,
    *,
    currency: str = "BRL",
    note: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await server.http.post(
        f"{API}/chats/{chat_id}/payments",
        headers={**payer.headers, **(headers or key())},
        json={"amount": amount, "currency": currency, "note": note},
    )


async def confirm(server: LiveServer, payer: User, payment_id: str, pin: str = "1234") -> httpx.Response:
    return await server.http.post(f"{API}/payments/{payment_id}/confirm", headers=payer.headers, json={"pin": pin})


async def pay(server: LiveServer, payer: User, chat_id: str, amount: str, **kw: Any) -> httpx.Response:
    started = await start_payment(server, payer, chat_id, amount, **kw)
    if started.status_code != 200:
        return started
    return await confirm(server, payer, started.json()["id"])


async def funded_pair(server: LiveServer, amount: str = "500.00") -> tuple[User, User, str]:
    ana, bruno = await brazilian(server, "Ana"), await brazilian(server, "Bruno")
    assert (await top_up(server, ana, amount)).status_code == 200
    await set_pin(server, ana)
    return ana, bruno, await chat_between(server, ana, bruno)


# --- wallet and top-ups -------------------------------------------------------------------------------------------


async def test_card_top_up_credits_the_wallet_once_per_key(server: LiveServer) -> None:
    ana = await brazilian(server, "Ana")
    assert await balance(server, ana) == "0.00"
    same = key()
    first = await top_up(server, ana, "25.50", headers=same)
    again = await top_up(server, ana, "25.50", headers=same)
    assert first.status_code == again.status_code == 200, first.text
    assert first.json()["status"] == "succeeded" and first.json()["handle"] == "visa 4242"
    assert again.json()["id"] == first.json()["id"]
    assert await balance(server, ana) == "25.50"
    other = await top_up(server, ana, "30.00", headers=same)
    assert other.status_code == 409
    history = (await server.http.get(f"{API}/wallet/history?currency=BRL", headers=ana.headers)).json()
    assert [(m["kind"], m["amount"], m["counterparty"]) for m in history["data"]] == [
        ("topup", "25.50", "CARD visa 4242")
    ]
    await verify_ledger(server)


async def test_upi_and_pix_outcomes(server: LiveServer) -> None:
    ana = await brazilian(server, "Ana")
    ok = await top_up(server, ana, "10.00", method="upi", vpa="success@parley")
    assert ok.status_code == 200 and ok.json()["status"] == "succeeded"
    pix = await top_up(server, ana, "5.00", method="pix", pix_key="success@pix.parley")
    assert pix.status_code == 200 and pix.json()["status"] == "succeeded"
    failed = await top_up(server, ana, "7.00", method="upi", vpa="failure@parley")
    assert failed.status_code == 402
    assert failed.json()["error"] == {"code": "payment_failed", "message": "The bank declined the payment."}
    bad = await top_up(server, ana, "7.00", method="upi", vpa="not a vpa")
    assert bad.status_code == 400
    assert await balance(server, ana) == "15.00"
    await verify_ledger(server)


async def test_second_step_code_then_success_or_failure(server: LiveServer) -> None:
    ana = await brazilian(server, "Ana")
    pending = await top_up(server, ana, "40.00", method="pix", pix_key="otp@pix.parley")
    assert pending.status_code == 200 and pending.json()["status"] == "requires_action"
    assert await balance(server, ana) == "0.00"
    topup_id = pending.json()["id"]
    done = await server.http.post(
        f"{API}/wallet/topups/{topup_id}/confirm", headers=ana.headers, json={"code": "123456"}
    )
    assert done.status_code == 200 and done.json()["status"] == "succeeded"
    again = await server.http.post(
        f"{API}/wallet/topups/{topup_id}/confirm", headers=ana.headers, json={"code": "123456"}
    )
    assert again.json()["status"] == "succeeded"
    assert await balance(server, ana) == "40.00"

    wrong = await top_up(server, ana, "9.00", method="upi", vpa="otp@parley")
    refused = await server.http.post(
        f"{API}/wallet/topups/{wrong.json()['id']}/confirm", headers=ana.headers, json={"code": "000000"}
    )
    assert refused.status_code == 402 and "incorrect" in refused.json()["error"]["message"]
    three_d = await top_up(server, ana, "1.00", method="card", card={**CARD, "number": "4000002500003155"})
    assert three_d.json()["status"] == "requires_action"
    assert await balance(server, ana) == "40.00"
    await verify_ledger(server)


async def test_timeout_stays_processing_and_settles_once(server: LiveServer) -> None:
    ana = await brazilian(server, "Ana")
    first = await top_up(server, ana, "60.00", method="upi", vpa="timeout@parley")
    assert first.status_code == 200 and first.json()["status"] == "processing"
    assert await balance(server, ana) == "0.00"
    topup_id = first.json()["id"]
    looked = await server.http.get(f"{API}/wallet/topups/{topup_id}", headers=ana.headers)
    assert looked.json()["status"] == "succeeded"
    # The sweep and further lookups find it settled: no second credit.
    server.clock.advance(minutes=5)
    assert await server.container.wallets.settle_pending() == 0
    await server.http.get(f"{API}/wallet/topups/{topup_id}", headers=ana.headers)
    assert await balance(server, ana) == "60.00"

    swept = await top_up(server, ana, "4.00", method="pix", pix_key="timeout@pix.parley")
    assert swept.json()["status"] == "processing"
    server.clock.advance(minutes=5)
    assert await server.container.wallets.settle_pending() == 1
    assert await server.container.wallets.settle_pending() == 0
    assert await balance(server, ana) == "64.00"
    await verify_ledger(server)


async def test_a_top_up_its_process_died_confirming_is_canceled_by_the_sweep(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies after the provider created the payment and before the card was confirmed: the sweep
    cancels it at the provider (nothing charged, the person sees it failed) and a late confirm cannot charge."""
    ana = await brazilian(server, "Ana")
    provider = server.container.wallets._needs_provider()
    reached_confirm = asyncio.Event()

    async def dies_confirming(payment_id: str, method: object) -> object:
        reached_confirm.set()
        await asyncio.Event().wait()  # never answers: the task is cancelled below, as a killed process
        raise AssertionError("unreachable")

    monkeypatch.setattr(provider, "confirm_with", dies_confirming)
    request = asyncio.create_task(top_up(server, ana, "25.00"))
    await reached_confirm.wait()
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    monkeypatch.undo()

    (left,) = await server.container.wallets.recent(int(ana.user_id))
    assert left.status == "created" and left.provider_payment_id is not None
    assert await server.container.wallets.settle_pending() == 0  # too recent: it may still be confirming
    server.clock.advance(minutes=5)
    assert await server.container.wallets.settle_pending() == 1
    assert await server.container.wallets.settle_pending() == 0
    looked = await server.http.get(f"{API}/wallet/topups/{left.id}", headers=ana.headers)
    assert looked.json()["status"] == "failed"
    assert await balance(server, ana) == "0.00"

    # The payment as the provider knows it is canceled: confirming it now charges nothing.
    card = payments.checked_card(CARD["number"].replace(" ", ""), 12, 2040, "123")
    late = await provider.confirm_with(left.provider_payment_id, card)
    assert late.status == "declined"
    assert await balance(server, ana) == "0.00"
    await verify_ledger(server)


async def test_withdrawal_debits_and_a_failed_payout_comes_back(server: LiveServer) -> None:
    ana = await brazilian(server, "Ana")
    await top_up(server, ana, "100.00")
    body = {"amount": "30.00", "currency": "BRL", "method": "pix", "pix_key": "success@pix.parley"}
    out = await server.http.post(f"{API}/wallet/withdrawals", headers={**ana.headers, **key()}, json=body)
    assert out.status_code == 200 and out.json()["status"] == "succeeded", out.text
    assert await balance(server, ana) == "70.00"
    failing = {**body, "method": "upi", "pix_key": None, "vpa": "failure@parley"}
    refused = await server.http.post(f"{API}/wallet/withdrawals", headers={**ana.headers, **key()}, json=failing)
    assert refused.status_code == 402
    assert await balance(server, ana) == "70.00"
    slow = {**body, "amount": "20.00", "pix_key": "timeout@pix.parley"}
    pending = await server.http.post(f"{API}/wallet/withdrawals", headers={**ana.headers, **key()}, json=slow)
    assert pending.status_code == 200 and pending.json()["status"] == "processing"
    assert await balance(server, ana) == "50.00"  # taken at once: it cannot be spent twice
    looked = await server.http.get(f"{API}/wallet/withdrawals/{pending.json()['id']}", headers=ana.headers)
    assert looked.json()["status"] == "succeeded"
    server.clock.advance(minutes=5)
    assert await server.container.wallets.settle_pending() == 0
    assert await balance(server, ana) == "50.00"
    too_much = {**body, "amount": "50.01"}
    broke = await server.http.post(f"{API}/wallet/withdrawals", headers={**ana.headers, **key()}, json=too_much)
    assert broke.status_code == 402 and broke.json()["error"]["code"] == "insufficient_funds"
    assert await balance(server, ana) == "50.00"
    await verify_ledger(server)


# --- payments in a chat -------------------------------------------------------------------------------------------


async def test_payment_in_a_chat_with_pin_moves_money_and_posts_a_bubble(server: LiveServer) -> None:
    ana, bruno, chat_id = await funded_pair(server)
    started = await start_payment(server, ana, chat_id, "12.50", note="pizza")
    assert started.status_code == 200, started.text
    payment = started.json()
    assert payment["status"] == "pending" and payment["receipt"] is None
    assert await balance(server, ana) == "500.00"

    done = await confirm(server, ana, payment["id"])
    assert done.status_code == 200, done.text
    receipt = done.json()["receipt"]
    assert receipt["amount"] == "12.50" and receipt["fee"] == "0.00"
    assert receipt["from"]["name"] == "Ana" and receipt["to"]["name"] == "Bruno"
    assert await balance(server, ana) == "487.50"
    assert await balance(server, bruno) == "12.50"

    for viewer in (ana, bruno):
        page = (await server.http.get(f"{API}/chats/{chat_id}/messages", headers=viewer.headers)).json()
        bubble = next(m for m in page["messages"] if m["type"] == "payment")
        assert bubble["business"]["payment"] == {
            "payment_id": payment["id"],
            "amount": "12.50",
            "currency": "BRL",
            "note": "pizza",
            "status": "completed",
        }
    seen = (await server.http.get(f"{API}/payments/{payment['id']}", headers=bruno.headers)).json()
    assert seen["receipt"]["number"] == f"PP-{payment['id']}"
    history = (await server.http.get(f"{API}/wallet/history?currency=BRL", headers=bruno.headers)).json()
    assert history["data"][0]["kind"] == "payment_received"
    assert history["data"][0]["counterparty"] == f"Ana ({ana.phone})"
    stranger = await brazilian(server, "Carla")
    assert (await server.http.get(f"{API}/payments/{payment['id']}", headers=stranger.headers)).status_code == 404
    await verify_ledger(server)


async def test_same_key_twice_and_racing_confirms_move_once(server: LiveServer) -> None:
    ana, bruno, chat_id = await funded_pair(server)
    same = key()
    first = await start_payment(server, ana, chat_id, "20.00", headers=same)
    second = await start_payment(server, ana, chat_id, "20.00", headers=same)
    assert first.json()["id"] == second.json()["id"]
    reused = await start_payment(server, ana, chat_id, "21.00", headers=same)
    assert reused.status_code == 409

    results = await asyncio.gather(*(confirm(server, ana, first.json()["id"]) for _ in range(4)))
    assert [r.status_code for r in results] == [200] * 4
    assert {r.json()["status"] for r in results} == {"completed"}
    assert await balance(server, ana) == "480.00"
    assert await balance(server, bruno) == "20.00"
    page = (await server.http.get(f"{API}/chats/{chat_id}/messages", headers=bruno.headers)).json()
    assert sum(m["type"] == "payment" for m in page["messages"]) == 1
    await verify_ledger(server)


async def test_insufficient_funds_is_402_and_nothing_moves(server: LiveServer) -> None:
    ana, bruno, chat_id = await funded_pair(server, "10.00")
    started = await start_payment(server, ana, chat_id, "10.01")
    refused = await confirm(server, ana, started.json()["id"])
    assert refused.status_code == 402
    assert refused.json()["error"]["code"] == "insufficient_funds"
    assert "10.00 BRL" in refused.json()["error"]["message"]
    assert await balance(server, ana) == "10.00" and await balance(server, bruno) == "0.00"
    payment = (await server.http.get(f"{API}/payments/{started.json()['id']}", headers=ana.headers)).json()
    assert payment["status"] == "pending" and payment["message_id"] is None
    page = (await server.http.get(f"{API}/chats/{chat_id}/messages", headers=bruno.headers)).json()
    assert not any(m["type"] == "payment" for m in page["messages"])
    await verify_ledger(server)


async def test_wrong_pins_lock_payments_for_a_while(server: LiveServer) -> None:
    ana, bruno, chat_id = await funded_pair(server)
    payment_id = (await start_payment(server, ana, chat_id, "5.00")).json()["id"]
    for left in (4, 3, 2, 1):
        wrong = await confirm(server, ana, payment_id, pin="9999")
        assert wrong.status_code == 403 and f"{left} tr" in wrong.json()["error"]["message"]
    locked = await confirm(server, ana, payment_id, pin="9999")
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "pin_locked"
    still = await confirm(server, ana, payment_id, pin="1234")  # even the right PIN waits
    assert still.status_code == 429 and int(still.headers["retry-after"]) > 0
    assert await balance(server, bruno) == "0.00"
    server.clock.advance(minutes=31)
    assert (await confirm(server, ana, payment_id)).status_code == 200
    assert await balance(server, bruno) == "5.00"
    await verify_ledger(server)


async def test_pin_is_set_once_and_changed_with_the_old_one(server: LiveServer) -> None:
    ana = await brazilian(server, "Ana")
    assert (await server.http.put(f"{API}/wallet/pin", headers=ana.headers, json={"pin": "12a4"})).status_code == 400
    await set_pin(server, ana, "123456")
    again = await server.http.put(f"{API}/wallet/pin", headers=ana.headers, json={"pin": "4321"})
    assert again.status_code == 403
    changed = await server.http.put(
        f"{API}/wallet/pin", headers=ana.headers, json={"pin": "4321", "current_pin": "123456"}
    )
    assert changed.status_code == 204
    assert (await server.http.get(f"{API}/wallet", headers=ana.headers)).json()["pin_set"] is True


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("1000.01", "the limit per payment is 1000.00 BRL"),
        ("0.99", "the minimum payment is 1.00 BRL"),
    ],
)
async def test_brazil_per_payment_caps(server: LiveServer, amount: str, message: str) -> None:
    ana, _, chat_id = await funded_pair(server, "2000.00")
    refused = await start_payment(server, ana, chat_id, amount)
    assert refused.status_code == 422
    assert refused.json()["error"] == {"code": "payment_cap_exceeded", "message": message}
    assert (await pay(server, ana, chat_id, "1000.00")).status_code == 200
    await verify_ledger(server)


@pytest.mark.parametrize("amount", ["12.505", "-5", "0", "0.00", "abc", "1e3", ""])
async def test_bad_amounts_are_refused(server: LiveServer, amount: str) -> None:
    ana, _, chat_id = await funded_pair(server, "50.00")
    refused = await start_payment(server, ana, chat_id, amount)
    assert refused.status_code == 400, refused.text
    assert await balance(server, ana) == "50.00"


async def test_brazil_day_and_month_caps_across_the_clock(server: LiveServer) -> None:
    ana, _, chat_id = await funded_pair(server, "6000.00")
    # Start of a Brazilian month, so the month cap is reached before the month ends.
    now = datetime.datetime.fromtimestamp(server.clock.now_ms() / 1000, zoneinfo.ZoneInfo("America/Sao_Paulo"))
    first_of_next = (now.replace(day=28) + datetime.timedelta(days=4)).replace(day=1, hour=9, minute=0)
    server.clock.advance(seconds=first_of_next.timestamp() - now.timestamp())
    for _ in range(20):
        assert (await pay(server, ana, chat_id, "1.00")).status_code == 200
    over = await start_payment(server, ana, chat_id, "1.00")
    assert over.status_code == 422 and "20 payments per day" in over.json()["error"]["message"]
    server.clock.advance(hours=24)
    for _ in range(4):
        assert (await pay(server, ana, chat_id, "1000.00")).status_code == 200
    # 4,020 sent this month: 980 left.
    over_month = await start_payment(server, ana, chat_id, "981.00")
    assert over_month.status_code == 422
    assert over_month.json()["error"]["message"] == (
        "the limit per month is 5000.00 BRL; 980.00 BRL is left this month"
    )
    assert (await pay(server, ana, chat_id, "980.00")).status_code == 200
    server.clock.advance(hours=24 * 31)
    assert (await pay(server, ana, chat_id, "5.00")).status_code == 200
    await verify_ledger(server)


async def test_india_caps_and_currency_of_the_market(server: LiveServer) -> None:
    asha, ravi = await server.user("Asha", phone=next(IN_PHONES)), await server.user("Ravi", phone=next(IN_PHONES))
    chat_id = await chat_between(server, asha, ravi)
    over = await start_payment(server, asha, chat_id, "100000.01", currency="INR")
    assert over.status_code == 422 and "100000.00 INR" in over.json()["error"]["message"]
    wrong_currency = await start_payment(server, asha, chat_id, "10.00", currency="BRL")
    assert wrong_currency.status_code == 422 and "in INR" in wrong_currency.json()["error"]["message"]


async def test_only_between_two_people_in_a_one_to_one_chat(server: LiveServer) -> None:
    ana, bruno, chat_id = await funded_pair(server)
    carla = await brazilian(server, "Carla")
    group = await server.http.post(
        f"{API}/groups", headers=ana.headers, json={"name": "Trip", "members": [bruno.phone, carla.phone]}
    )
    group_id = group.json()["id"]
    refused = await start_payment(server, ana, group_id, "5.00")
    assert refused.status_code == 422 and "1:1 chat" in refused.json()["error"]["message"]
    not_mine = await start_payment(server, carla, chat_id, "5.00")
    assert not_mine.status_code == 404
    await verify_ledger(server)


async def test_monthly_statement_is_exact(server: LiveServer) -> None:
    # People outside the listed markets: no caps, months in UTC.
    ann, bob = await server.user("Ann"), await server.user("Bob")
    assert (await top_up(server, ann, "100.00", currency="USD")).status_code == 200
    await set_pin(server, ann)
    chat_id = await chat_between(server, ann, bob)
    assert (await pay(server, ann, chat_id, "30.00", currency="USD")).status_code == 200
    period = datetime.datetime.fromtimestamp(server.clock.now_ms() / 1000, datetime.UTC).strftime("%Y-%m")
    got = (await server.http.get(f"{API}/wallet/statements/{period}?currency=USD", headers=ann.headers)).json()
    assert got["opening_balance"] == "0.00"
    assert (got["money_in"], got["money_out"], got["closing_balance"]) == ("100.00", "30.00", "70.00")
    assert [m["kind"] for m in got["movements"]] == ["topup", "payment_sent"]
    server.clock.advance(hours=24 * 40)
    later = datetime.datetime.fromtimestamp(server.clock.now_ms() / 1000, datetime.UTC).strftime("%Y-%m")
    quiet = (await server.http.get(f"{API}/wallet/statements/{later}?currency=USD", headers=ann.headers)).json()
    assert quiet["opening_balance"] == quiet["closing_balance"] == "70.00" and quiet["movements"] == []
    bad = await server.http.get(f"{API}/wallet/statements/2026-13?currency=USD", headers=ann.headers)
    assert bad.status_code == 400
    await verify_ledger(server)


async def test_history_pages_newest_first_with_a_cursor(server: LiveServer) -> None:
    ana = await brazilian(server, "Ana")
    for amount in ("1.00", "2.00", "3.00", "4.00", "5.00"):
        assert (await top_up(server, ana, amount, method="upi", vpa="success@parley")).status_code == 200
    seen: list[str] = []
    cursor = ""
    while True:
        page = await server.http.get(f"{API}/wallet/history?currency=BRL&limit=2&cursor={cursor}", headers=ana.headers)
        assert page.status_code == 200, page.text
        seen += [m["amount"] for m in page.json()["data"]]
        cursor = page.json()["next"]
        if cursor is None:
            break
    assert seen == ["5.00", "4.00", "3.00", "2.00", "1.00"]
    bad = await server.http.get(f"{API}/wallet/history?currency=BRL&cursor=abc", headers=ana.headers)
    assert bad.status_code == 400
    other = await server.http.get(f"{API}/wallet/history?currency=XXX", headers=ana.headers)
    assert other.status_code == 400
