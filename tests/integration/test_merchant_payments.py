"""Merchant payments end to end: a business sends order_details, the person pays by card, the business hears it."""

from __future__ import annotations

import asyncio
from typing import Any

from parley.business import parse_wamid
from parley.kit.errors import NotFoundError
from tests.conftest import LiveServer, User
from tests.integration.business_helpers import Biz, V, create_business, events, person_writes, send

GOOD_CARD = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}
DECLINED_CARD = {"number": "4000000000000002", "exp_month": 12, "exp_year": 2099, "cvc": "123"}


def brazil_order(person: User, reference_id: str, expires_at_s: int, **order_changes: Any) -> dict[str, Any]:
    order = {
        "status": "pending",
        "expiration": {"timestamp": str(expires_at_s), "description": "Expira em 1 hora"},
        "items": [
            {
                "retailer_id": "camiseta-azul",
                "name": "Camiseta",
                "amount": {"value": 5000, "offset": 100},
                "quantity": 2,
            }
        ],
        "subtotal": {"value": 10000, "offset": 100},
        "tax": {"value": 1000, "offset": 100, "description": "ICMS"},
        **order_changes,
    }
    return {
        "to": person.phone,
        "type": "interactive",
        "interactive": {
            "type": "order_details",
            "body": {"text": "Seu pedido"},
            "action": {
                "name": "review_and_pay",
                "parameters": {
                    "reference_id": reference_id,
                    "type": "physical-goods",
                    "payment_type": "br",
                    "payment_settings": [
                        {
                            "type": "pix_dynamic_code",
                            "pix_dynamic_code": {
                                "code": "00020101021226700014br.gov.bcb.pix",
                                "merchant_name": "Loja",
                                "key": "39580525000189",
                                "key_type": "CNPJ",
                            },
                        }
                    ],
                    "currency": "BRL",
                    "total_amount": {"value": 11000, "offset": 100},
                    "order": order,
                },
            },
        },
    }


def order_status(person: User, reference_id: str, status: str) -> dict[str, Any]:
    return {
        "to": person.phone,
        "type": "interactive",
        "interactive": {
            "type": "order_status",
            "body": {"text": f"Order {status}"},
            "action": {
                "name": "review_order",
                "parameters": {"reference_id": reference_id, "order": {"status": status}},
            },
        },
    }


async def _setup(server: LiveServer) -> tuple[Biz, User]:
    biz = await create_business(server)
    person = await server.user("Ana")
    await person_writes(server, person, biz)  # opens the customer service window
    return biz, person


def _in_an_hour(server: LiveServer) -> int:
    return server.clock.now_ms() // 1000 + 3600


async def _send_order(server: LiveServer, biz: Biz, person: User, reference_id: str = "BR-1") -> tuple[str, str]:
    """(wamid, order id) of an order_details message sent to the person."""
    sent = await send(server, biz, brazil_order(person, reference_id, _in_an_hour(server)))
    assert sent.status_code == 200, sent.text
    wamid = sent.json()["messages"][0]["id"]
    order = await server.http.get(f"/client/v1/messages/{parse_wamid(wamid)}/order", headers=person.headers)
    assert order.status_code == 200, order.text
    return wamid, str(order.json()["id"])


async def _pay(server: LiveServer, person: User, order_id: str, key: str, card: dict[str, Any] = GOOD_CARD) -> Any:
    return await server.http.post(
        f"/client/v1/orders/{order_id}/pay",
        headers={**person.headers, "Idempotency-Key": key},
        json={"method": "card", "card": card},
    )


async def _payment_statuses(server: LiveServer, biz: Biz) -> list[dict[str, Any]]:
    return [
        value["statuses"][0]
        for value in await events(server, biz)
        if "statuses" in value and value["statuses"][0].get("type") == "payment"
    ]


async def _balance(server: LiveServer, key: str) -> int:
    try:
        return (await server.container.ledger.account(key)).balance
    except NotFoundError:
        return 0


async def _refund(server: LiveServer, biz: Biz, reference_id: str, value: int, **headers: str) -> Any:
    return await server.http.post(
        f"{V}/{biz.phone_number_id}/payments_refund",
        headers={**biz.headers, **headers},
        json={
            "reference_id": reference_id,
            "speed": "normal",
            "payment_config_id": "default",
            "amount": {"currency": "BRL", "value": str(value), "offset": "100"},
        },
    )


async def test_order_paid_by_card_captures_splits_the_fee_and_refunds_in_proportion(server: LiveServer) -> None:
    biz, person = await _setup(server)
    wamid, order_id = await _send_order(server, biz, person)
    shown = (await server.http.get(f"/client/v1/orders/{order_id}", headers=person.headers)).json()
    assert shown["total"] == {"value": 11000, "offset": 100}
    assert shown["items"][0]["name"] == "Camiseta" and shown["payable"] is True
    assert shown["payment_status"] == "unpaid"

    before = server.clock.now_ms() // 1000
    paid = await _pay(server, person, order_id, "pay-1")
    after = server.clock.now_ms() // 1000
    assert paid.status_code == 200, paid.text
    assert paid.json()["payment_status"] == "paid" and paid.json()["payable"] is False

    pending, captured = await _payment_statuses(server, biz)
    assert (pending["status"], pending["payment"]["transaction"]["status"]) == ("pending", "pending")
    assert pending["payment"]["transaction"]["id"] == captured["payment"]["transaction"]["id"]
    transaction = captured["payment"]["transaction"]
    # The clock is real (only offset by tests): each timestamp is a second within the payment.
    stamps = [transaction["created_timestamp"], transaction["updated_timestamp"], int(captured["timestamp"])]
    assert all(before <= stamp <= after for stamp in stamps)
    assert captured == {
        "id": wamid,
        "recipient_id": person.phone.lstrip("+"),
        "type": "payment",
        "status": "captured",
        "payment": {
            "reference_id": "BR-1",
            "amount": {"value": 11000, "offset": 100},
            "currency": "BRL",
            "transaction": {
                "id": transaction["id"],
                "pg_transaction_id": transaction["pg_transaction_id"],
                "type": "sandbox",
                "status": "success",
                "created_timestamp": stamps[0],
                "updated_timestamp": stamps[1],
                "method": {"type": "card"},
            },
        },
        "timestamp": captured["timestamp"],
    }
    assert transaction["pg_transaction_id"].startswith("pi_sandbox_")

    # 3.99 % of R$ 110.00 = R$ 4.389, half-up to the centavo: R$ 4.39 to Parley, R$ 105.61 to the merchant.
    payable, revenue = f"waba:{biz.waba_id}:payable:BRL", "platform:revenue:payments:BRL"
    assert await _balance(server, payable) == 105_610_000
    assert await _balance(server, revenue) == 4_390_000
    assert await _balance(server, "platform:clearing:payments:BRL") == 0
    assert await _balance(server, "platform:provider:sandbox:BRL") == 110_000_000

    # Refund R$ 33.00: the fee comes back in proportion, 4.39 × 33 / 110 = 1.317 -> R$ 1.32.
    refunded = await _refund(server, biz, "BR-1", 3300)
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["status"] == "completed" and refunded.json()["speed_processed"] == "normal"
    assert await _balance(server, payable) == 105_610_000 - (33_000_000 - 1_320_000)
    assert await _balance(server, revenue) == 4_390_000 - 1_320_000
    latest = (await _payment_statuses(server, biz))[-1]
    assert latest["status"] == "captured"
    assert [r["amount"] for r in latest["payment"]["refunds"]] == [{"value": 3300, "offset": 100}]
    assert latest["payment"]["refunds"][0]["id"] == refunded.json()["id"]

    # More than is left is refused, nothing moves; the rest empties the payment and returns exactly the fee left.
    too_much = await _refund(server, biz, "BR-1", 7701)
    assert too_much.status_code == 400 and too_much.json()["error"]["code"] == 131009
    rest = await _refund(server, biz, "BR-1", 7700)
    assert rest.status_code == 200, rest.text
    assert await _balance(server, payable) == 0
    assert await _balance(server, revenue) == 0
    assert await _balance(server, "platform:provider:sandbox:BRL") == 0

    looked_up = await server.http.get(f"{V}/{biz.phone_number_id}/payments/any/BR-1", headers=biz.headers)
    assert looked_up.status_code == 200, looked_up.text
    [found] = looked_up.json()["payments"]
    assert found["status"] == "captured" and found["amount"] == {"value": 11000, "offset": 100}
    assert [t["status"] for t in found["transactions"]] == ["success"]
    assert found["transactions"][0]["order_amount"] == {"value": 11000, "offset": 100}
    assert len(found["refunds"]) == 2

    assert (await server.container.ledger.verify()).ok


async def test_a_retry_with_the_same_key_answers_the_same_and_moves_nothing_again(server: LiveServer) -> None:
    biz, person = await _setup(server)
    _, order_id = await _send_order(server, biz, person)
    first = await _pay(server, person, order_id, "same-key")
    again = await _pay(server, person, order_id, "same-key")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert [s["status"] for s in await _payment_statuses(server, biz)] == ["pending", "captured"]
    assert await _balance(server, "platform:provider:sandbox:BRL") == 110_000_000

    refund_key = {"Idempotency-Key": "refund-1"}
    one = await _refund(server, biz, "BR-1", 1000, **refund_key)
    two = await _refund(server, biz, "BR-1", 1000, **refund_key)
    assert one.json() == two.json()
    assert await _balance(server, "platform:provider:sandbox:BRL") == 100_000_000


async def test_two_racing_payments_of_one_order_capture_once(server: LiveServer) -> None:
    biz, person = await _setup(server)
    _, order_id = await _send_order(server, biz, person)
    results = await asyncio.gather(*(_pay(server, person, order_id, f"race-{i}") for i in range(2)))
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409], [r.text for r in results]
    refused = next(r for r in results if r.status_code == 409)
    assert refused.json()["error"]["code"] == "order_already_paid"
    assert [s["status"] for s in await _payment_statuses(server, biz)] == ["pending", "captured"]
    assert await _balance(server, "platform:provider:sandbox:BRL") == 110_000_000
    assert await _balance(server, f"waba:{biz.waba_id}:payable:BRL") == 105_610_000


async def test_an_expired_order_cannot_be_paid(server: LiveServer) -> None:
    biz, person = await _setup(server)
    _, order_id = await _send_order(server, biz, person)
    server.clock.advance(seconds=3601)
    shown = (await server.http.get(f"/client/v1/orders/{order_id}", headers=person.headers)).json()
    assert shown["expired"] is True and shown["payable"] is False
    refused = await _pay(server, person, order_id, "late")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "order_expired"
    assert await _payment_statuses(server, biz) == []
    assert await _balance(server, "platform:provider:sandbox:BRL") == 0


async def test_a_declined_card_tells_the_business_failed_and_a_good_card_then_pays(server: LiveServer) -> None:
    biz, person = await _setup(server)
    _, order_id = await _send_order(server, biz, person)
    declined = await _pay(server, person, order_id, "try-1", DECLINED_CARD)
    assert declined.status_code == 402 and declined.json()["error"]["code"] == "card_declined"
    pending, failed = await _payment_statuses(server, biz)
    assert pending["status"] == "pending"
    assert failed["status"] == "failed"
    assert failed["payment"]["transaction"]["status"] == "failed"
    assert failed["payment"]["transaction"]["error"] == {"code": "BAD_REQUEST_ERROR", "reason": "card_declined"}
    assert await _balance(server, "platform:provider:sandbox:BRL") == 0

    again = await _pay(server, person, order_id, "try-1", DECLINED_CARD)  # a retry answers the same, once
    assert again.status_code == 402 and len(await _payment_statuses(server, biz)) == 2

    paid = await _pay(server, person, order_id, "try-2")
    assert paid.status_code == 200, paid.text
    assert [s["status"] for s in await _payment_statuses(server, biz)] == ["pending", "failed", "pending", "captured"]
    looked_up = await server.http.get(f"{V}/{biz.phone_number_id}/payments/any/BR-1", headers=biz.headers)
    assert [t["status"] for t in looked_up.json()["payments"][0]["transactions"]] == ["failed", "success"]


async def test_another_business_reference_id_is_not_found_and_nothing_moves(server: LiveServer) -> None:
    biz, person = await _setup(server)
    _, order_id = await _send_order(server, biz, person)
    assert (await _pay(server, person, order_id, "mine")).status_code == 200
    other = await create_business(server, "Other")
    lookup = await server.http.get(f"{V}/{other.phone_number_id}/payments/any/BR-1", headers=other.headers)
    assert lookup.status_code == 404 and lookup.json()["error"]["code"] == 100
    refund = await _refund(server, other, "BR-1", 1000)
    assert refund.status_code == 404 and refund.json()["error"]["code"] == 100
    assert await _balance(server, "platform:provider:sandbox:BRL") == 110_000_000
    # Nor can another person see or pay someone else's order.
    stranger = await server.user("Bia")
    assert (await server.http.get(f"/client/v1/orders/{order_id}", headers=stranger.headers)).status_code == 404
    assert (await _pay(server, stranger, order_id, "theirs")).status_code == 404


async def test_reference_ids_are_unique_per_business_and_a_resend_is_the_same_order(server: LiveServer) -> None:
    biz, person = await _setup(server)
    expires = _in_an_hour(server)
    first = await send(server, biz, brazil_order(person, "BR-7", expires))
    resent = await send(server, biz, brazil_order(person, "BR-7", expires))
    assert first.status_code == resent.status_code == 200
    orders = []
    for sent in (first, resent):
        wamid = sent.json()["messages"][0]["id"]
        got = await server.http.get(f"/client/v1/messages/{parse_wamid(wamid)}/order", headers=person.headers)
        orders.append(got.json()["id"])
    assert orders[0] == orders[1]

    changed = brazil_order(person, "BR-7", expires, tax={"value": 2000, "offset": 100})
    changed["interactive"]["action"]["parameters"]["total_amount"] = {"value": 12000, "offset": 100}
    refused = await send(server, biz, changed)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 131009
    assert "reference_id" in refused.json()["error"]["error_data"]["details"]


async def test_order_status_transitions(server: LiveServer) -> None:
    biz, person = await _setup(server)
    _, paid_id = await _send_order(server, biz, person, "PAID-1")
    await _send_order(server, biz, person, "OPEN-1")
    assert (await _pay(server, person, paid_id, "k")).status_code == 200

    async def status(reference_id: str, new: str) -> Any:
        return await send(server, biz, order_status(person, reference_id, new))

    assert (await status("PAID-1", "processing")).status_code == 200
    back = await status("PAID-1", "pending")
    assert back.status_code == 400 and back.json()["error"]["code"] == 2046
    cancel = await status("PAID-1", "canceled")
    assert cancel.status_code == 400 and cancel.json()["error"]["code"] == 2047
    assert (await status("PAID-1", "partially-shipped")).status_code == 200
    assert (await status("PAID-1", "shipped")).status_code == 200
    assert (await status("PAID-1", "completed")).status_code == 200
    after_end = await status("PAID-1", "shipped")
    assert after_end.status_code == 400 and after_end.json()["error"]["code"] == 2046
    shown = (await server.http.get(f"/client/v1/orders/{paid_id}", headers=person.headers)).json()
    assert shown["status"] == "completed"

    assert (await status("OPEN-1", "canceled")).status_code == 200  # never paid: it may be canceled
    unknown = await status("NOPE-1", "processing")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == 131009


async def test_a_bad_order_details_is_refused_and_nothing_is_sent(server: LiveServer) -> None:
    biz, person = await _setup(server)
    body = brazil_order(person, "BAD-1", _in_an_hour(server), subtotal={"value": 9999, "offset": 100})
    refused = await send(server, biz, body)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 131009
    assert "subtotal" in refused.json()["error"]["error_data"]["details"]
    # Nothing half-applied: the reference id is still free for the corrected order.
    assert (await send(server, biz, brazil_order(person, "BAD-1", _in_an_hour(server)))).status_code == 200


async def test_pywa_unmodified_takes_the_payment_status_webhook(server: LiveServer) -> None:
    """pywa has no type for payment statuses: it must still hand the webhook to a status handler, not choke."""
    import json
    import warnings

    from pywa import WhatsApp

    biz, person = await _setup(server)
    wamid, order_id = await _send_order(server, biz, person)
    assert (await _pay(server, person, order_id, "pywa")).status_code == 200
    value = next(v for v in await events(server, biz) if v.get("statuses", [{}])[0].get("type") == "payment")
    update = {
        "object": "whatsapp_business_account",
        "entry": [{"id": biz.waba_id, "changes": [{"field": "messages", "value": value}]}],
    }
    client = WhatsApp(phone_id=biz.phone_number_id, token=biz.token, server=None, verify_token="v")
    heard = []
    client.on_message_status()(lambda _client, status: heard.append(status))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pywa warns that "captured" is a status it does not know
        assert client.webhook_update_handler(json.dumps(update).encode()) == ("ok", 200)
    [status] = heard
    assert status.id == wamid
    assert status.from_user.wa_id == person.phone.lstrip("+")
    raw_status = status.raw["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert raw_status["payment"]["reference_id"] == "BR-1"


def india_order(person: User, reference_id: str) -> dict[str, Any]:
    return {
        "to": person.phone,
        "type": "interactive",
        "interactive": {
            "type": "order_details",
            "body": {"text": "Your order"},
            "action": {
                "name": "review_and_pay",
                "parameters": {
                    "reference_id": reference_id,
                    "type": "digital-goods",
                    "payment_settings": [
                        {
                            "type": "payment_gateway",
                            "payment_gateway": {
                                "type": "razorpay",
                                "configuration_name": "razorpay-prod",
                                "razorpay": {"receipt": "rcpt-1", "notes": {"key1": "value1"}},
                            },
                        }
                    ],
                    "currency": "INR",
                    "total_amount": {"value": 21000, "offset": 100},
                    "order": {
                        "status": "pending",
                        "items": [
                            {
                                "retailer_id": "1234567",
                                "name": "Bread",
                                "amount": {"value": 10000, "offset": 100},
                                "sale_amount": {"value": 9000, "offset": 100},
                                "quantity": 2,
                            }
                        ],
                        "subtotal": {"value": 18000, "offset": 100},
                        "tax": {"value": 1000, "offset": 100, "description": "GST"},
                        "shipping": {"value": 2000, "offset": 100, "description": "Delivery"},
                    },
                },
            },
        },
    }


async def test_an_india_gateway_order_echoes_the_gateway_s_extras_and_is_looked_up_by_its_configuration(
    server: LiveServer,
) -> None:
    biz, person = await _setup(server)
    sent = await send(server, biz, india_order(person, "BM345A-12"))
    assert sent.status_code == 200, sent.text
    wamid = sent.json()["messages"][0]["id"]
    order = await server.http.get(f"/client/v1/messages/{parse_wamid(wamid)}/order", headers=person.headers)
    assert order.json()["items"][0]["sale_amount"] == {"value": 9000, "offset": 100}
    assert (await _pay(server, person, order.json()["id"], "in-1")).status_code == 200

    captured = (await _payment_statuses(server, biz))[-1]
    assert captured["status"] == "captured"
    assert captured["payment"]["receipt"] == "rcpt-1" and captured["payment"]["notes"] == {"key1": "value1"}
    # No fee is configured for India by default: the merchant gets all of it.
    assert await _balance(server, f"waba:{biz.waba_id}:payable:INR") == 210_000_000
    assert await _balance(server, "platform:revenue:payments:INR") == 0

    found = await server.http.get(f"{V}/{biz.phone_number_id}/payments/razorpay-prod/BM345A-12", headers=biz.headers)
    assert found.status_code == 200 and found.json()["payments"][0]["status"] == "captured"
    other = await server.http.get(f"{V}/{biz.phone_number_id}/payments/payu-prod/BM345A-12", headers=biz.headers)
    assert other.status_code == 404


async def test_order_messages_need_meta_s_action_names(server: LiveServer) -> None:
    biz, person = await _setup(server)
    body = india_order(person, "NAME-1")
    body["interactive"]["action"]["name"] = "pay"
    refused = await send(server, biz, body)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 131009
    assert "review_and_pay" in refused.json()["error"]["error_data"]["details"]


async def _fund_wallet(server: LiveServer, person: User, micros: int) -> None:
    """Money in the person's Parley Pay wallet, as a card top-up would put it there."""
    from parley.ledger import CREDIT, DEBIT, Ledger

    journal = Ledger(server.container.ids, server.container.clock)

    def unit(conn: Any) -> None:
        card = journal.open_account(
            conn, "platform:provider:sandbox:BRL", currency="BRL", normal_side=DEBIT, kind="provider"
        )
        wallet = journal.open_account(
            conn,
            f"person:{person.user_id}:wallet:BRL",
            currency="BRL",
            normal_side=CREDIT,
            kind="person_wallet",
            floor_limit=0,
        )
        journal.transfer(
            conn, f"test-topup:{person.user_id}:{micros}", debit=card, credit=wallet, amount=micros, code="t"
        )

    await server.container.db.write("tests.fund_wallet", unit)


async def test_an_order_paid_from_the_wallet_moves_the_wallet_s_money_and_a_short_wallet_moves_nothing(
    server: LiveServer,
) -> None:
    biz, person = await _setup(server)
    _, order_id = await _send_order(server, biz, person)
    wallet = f"person:{person.user_id}:wallet:BRL"
    await _fund_wallet(server, person, 100_000_000)  # R$ 100.00: short of R$ 110.00
    pin_set = await server.http.put("/client/v1/wallet/pin", headers=person.headers, json={"pin": "1234"})
    assert pin_set.status_code == 204, pin_set.text

    async def pay(key: str) -> Any:
        return await server.http.post(
            f"/client/v1/orders/{order_id}/pay",
            headers={**person.headers, "Idempotency-Key": key},
            json={"method": "wallet", "pin": "1234"},
        )

    short = await pay("w-1")
    assert short.status_code == 402 and short.json()["error"]["code"] == "insufficient_funds"
    assert await _balance(server, wallet) == 100_000_000
    assert await _payment_statuses(server, biz) == []
    shown = (await server.http.get(f"/client/v1/orders/{order_id}", headers=person.headers)).json()
    assert shown["payment_status"] == "unpaid" and shown["payable"] is True

    await _fund_wallet(server, person, 10_000_000)
    paid = await pay("w-1")  # the same key again: the first try kept nothing, so this one pays
    assert paid.status_code == 200 and paid.json()["payment_status"] == "paid"
    assert (await pay("w-1")).json() == paid.json()
    assert await _balance(server, wallet) == 0
    assert await _balance(server, f"waba:{biz.waba_id}:payable:BRL") == 105_610_000
    assert await _balance(server, "platform:revenue:payments:BRL") == 4_390_000
    [captured] = await _payment_statuses(server, biz)
    assert captured["status"] == "captured"
    assert captured["payment"]["transaction"]["method"] == {"type": "wallet"}

    refunded = await _refund(server, biz, "BR-1", 3300)  # a refund goes back to the wallet it came from
    assert refunded.status_code == 200, refunded.text
    assert await _balance(server, wallet) == 33_000_000
    assert await _balance(server, "platform:provider:sandbox:BRL") == 110_000_000  # the top-ups, untouched
    assert (await server.container.ledger.verify()).ok
