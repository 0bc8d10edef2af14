"""The two order actions of the team inbox and the console: an agent sets an order's status (Meta's order_status,
through the inbox's send path, with Meta's refusals), and an owner or admin refunds one line or an amount of a
paid order through the same service as Graph's payments_refund (the fee back in proportion, idempotent)."""

from __future__ import annotations

from typing import Any

from parley.business import parse_wamid
from parley.kit.errors import NotFoundError
from parley.payments.books import merchant_payable_key, payments_revenue_key
from tests.conftest import LiveServer, User
from tests.integration.business_helpers import Biz, create_business, events, person_writes, send
from tests.integration.inbox_helpers import Agent, agent
from tests.integration.test_merchant_payments import GOOD_CARD, brazil_order

BRL = 1_000_000


async def _paid_order(server: LiveServer, reference_id: str = "BR-1") -> tuple[Biz, User, str]:
    """A Brazilian business's order_details (2 × Camiseta at 50.00 + 10.00 tax = 110.00) that Ana paid by card:
    (business, person, the order's id)."""
    biz = await create_business(server, "Loja Azul", phone=f"+55119{server.clock.now_ms() % 10**8:08d}")
    person = await server.user("Ana")
    await person_writes(server, person, biz, "Quero duas camisetas")
    expires = server.clock.now_ms() // 1000 + 3600
    sent = await send(server, biz, brazil_order(person, reference_id, expires))
    assert sent.status_code == 200, sent.text
    wamid = sent.json()["messages"][0]["id"]
    order = (await server.http.get(f"/client/v1/messages/{parse_wamid(wamid)}/order", headers=person.headers)).json()
    paid = await server.http.post(
        f"/client/v1/orders/{order['id']}/pay",
        headers={**person.headers, "Idempotency-Key": "pay-1"},
        json={"method": "card", "card": GOOD_CARD},
    )
    assert paid.status_code == 200 and paid.json()["payment_status"] == "paid", paid.text
    return biz, person, str(order["id"])


async def _conversation(who: Agent) -> str:
    [row] = await who.conversations()
    return str(row["id"])


async def _order_of(server: LiveServer, person: User, order_id: str) -> dict[str, Any]:
    response = await server.http.get(f"/client/v1/orders/{order_id}", headers=person.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _balance(server: LiveServer, key: str) -> int:
    try:
        return (await server.container.ledger.account(key)).balance
    except NotFoundError:
        return 0


async def test_an_agent_sets_the_order_status_and_meta_s_refusals_come_back_as_409(server: LiveServer) -> None:
    biz, person, order_id = await _paid_order(server)
    clerk = await agent(server, biz, "Caio")
    conversation = await _conversation(clerk)
    path = f"/conversations/{conversation}/order-status"

    shipped = await clerk.post(path, {"reference_id": "BR-1", "status": "shipped", "description": "Código BR123"})
    assert shipped.status_code == 201, shipped.text
    assert shipped.json()["status"] == "shipped"
    order = await _order_of(server, person, order_id)
    assert (order["status"], order["status_description"]) == ("shipped", "Código BR123")
    # The person got Meta's order_status message (review_order), as any Cloud API send.
    chats = (await server.http.get("/client/v1/chats", headers=person.headers)).json()["chats"]
    page = (await server.http.get(f"/client/v1/chats/{chats[0]['id']}/messages", headers=person.headers)).json()
    [update] = [
        m
        for m in page["messages"]
        if m["type"] == "interactive" and m["business"]["interactive"]["type"] == "order_status"
    ]
    interactive = update["business"]["interactive"]
    assert interactive["action"] == {
        "name": "review_order",
        "parameters": {"reference_id": "BR-1", "order": {"status": "shipped", "description": "Código BR123"}},
    }
    assert interactive["body"] == "Your order is on its way: Código BR123"
    # The business's own webhooks see it as a sent message (its status callbacks).
    assert any("statuses" in e for e in await events(server, biz))

    # A paid order cannot be canceled (Meta's 2047): the agent reads why; nothing is sent, nothing changes.
    cancel = await clerk.post(path, {"reference_id": "BR-1", "status": "canceled"})
    assert cancel.status_code == 409, cancel.text
    assert "refund it" in cancel.json()["error"]["message"]
    assert (await _order_of(server, person, order_id))["status"] == "shipped"

    assert (await clerk.post(path, {"reference_id": "BR-1", "status": "completed"})).status_code == 201
    # A completed order is final (Meta's 2046).
    again = await clerk.post(path, {"reference_id": "BR-1", "status": "shipped"})
    assert again.status_code == 409, again.text
    assert "final" in again.json()["error"]["message"]
    assert (await _order_of(server, person, order_id))["status"] == "completed"

    # Bad input is a 400 naming it; an unknown order is refused by the send path.
    bad = await clerk.post(path, {"reference_id": "BR-1", "status": "lost"})
    assert bad.status_code == 400 and "processing, shipped, completed, canceled" in bad.json()["error"]["message"]
    assert (await clerk.post(path, {"status": "shipped"})).status_code == 400
    unknown = await clerk.post(path, {"reference_id": "NOPE", "status": "shipped"})
    assert unknown.status_code == 400 and "NOPE" in unknown.json()["error"]["message"]


async def test_the_same_key_sends_the_status_once(server: LiveServer) -> None:
    biz, _person, _order_id = await _paid_order(server)
    clerk = await agent(server, biz, "Caio")
    path = f"/conversations/{await _conversation(clerk)}/order-status"
    body = {"reference_id": "BR-1", "status": "processing"}
    first = await clerk.post(path, body, **{"Idempotency-Key": "k1"})
    second = await clerk.post(path, body, **{"Idempotency-Key": "k1"})
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]


async def test_an_admin_refunds_a_line_then_the_rest_and_the_fee_comes_back_in_proportion(server: LiveServer) -> None:
    biz, person, order_id = await _paid_order(server)
    owner = await agent(server, biz, "Olga", role="owner")
    clerk = await agent(server, biz, "Caio")
    waba = int(biz.waba_id)
    fee = 4_390_000  # round_half_up(110.00 × 3.99 %) = 4.3890 → 4.39
    assert await _balance(server, payments_revenue_key("BRL")) == fee

    listed = await owner.get("/console/payments/orders")
    assert listed.status_code == 200, listed.text
    [row] = listed.json()["data"]
    assert row == {
        **row,
        "id": order_id,
        "reference_id": "BR-1",
        "currency": "BRL",
        "total": "110.00",
        "fee": "4.39",
        "refunded": "0.00",
        "refundable": "110.00",
    }
    assert row["lines"] == [{"retailer_id": "camiseta-azul", "name": "Camiseta", "quantity": 2, "amount": "100.00"}]

    # Agents have no refunds (nor the list).
    assert (await clerk.get("/console/payments/orders")).status_code == 403
    path = f"/console/payments/orders/{order_id}/refunds"
    forbidden = await clerk.post(path, {"retailer_id": "camiseta-azul"}, **{"Idempotency-Key": "r0"})
    assert forbidden.status_code == 403
    # Without an Idempotency-Key, or with both a line and an amount: refused, nothing moves.
    assert (await owner.post(path, {"retailer_id": "camiseta-azul"})).status_code == 400
    both = await owner.post(path, {"retailer_id": "camiseta-azul", "amount": "1.00"}, **{"Idempotency-Key": "rx"})
    assert both.status_code == 400
    assert (await _order_of(server, person, order_id))["refunded"] == {"value": 0, "offset": 100}

    # One line: 100.00 back, fee back = round_half_up(4.39 × 100.00 / 110.00) = 3.990909… → 3.99.
    line = await owner.post(path, {"retailer_id": "camiseta-azul"}, **{"Idempotency-Key": "r1"})
    assert line.status_code == 201, line.text
    assert (line.json()["amount"], line.json()["fee_returned"]) == ("100.00", "3.99")
    assert line.json()["order"]["refunded"] == "100.00" and line.json()["order"]["refundable"] == "10.00"
    retry = await owner.post(path, {"retailer_id": "camiseta-azul"}, **{"Idempotency-Key": "r1"})
    assert retry.status_code == 201 and retry.json()["id"] == line.json()["id"]
    assert (await _order_of(server, person, order_id))["refunded"] == {"value": 10000, "offset": 100}
    assert await _balance(server, payments_revenue_key("BRL")) == fee - 3_990_000

    # More than is left is refused (400, saying how much is left); the rest empties the payment and its fee.
    over = await owner.post(path, {"amount": "20.00"}, **{"Idempotency-Key": "r2"})
    assert over.status_code == 400 and "10.00 BRL" in over.json()["error"]["message"]
    finer = await owner.post(path, {"amount": "1.005"}, **{"Idempotency-Key": "r3"})
    assert finer.status_code == 400
    rest = await owner.post(path, {"amount": "10.00"}, **{"Idempotency-Key": "r4"})
    assert rest.status_code == 201, rest.text
    assert rest.json()["fee_returned"] == "0.40"
    assert await _balance(server, payments_revenue_key("BRL")) == 0
    assert await _balance(server, merchant_payable_key(waba, "BRL")) == 0
    assert (await _order_of(server, person, order_id))["payment_status"] == "refunded"
    # The business heard each refund as Meta's `captured` status with refunds[].
    payment_statuses = [
        e["statuses"][0]
        for e in await events(server, biz)
        if "statuses" in e and e["statuses"][0].get("type") == "payment"
    ]
    assert [len(s["payment"].get("refunds", [])) for s in payment_statuses if s["status"] == "captured"] == [0, 1, 2]
    nothing_left = await owner.post(path, {"amount": "0.01"}, **{"Idempotency-Key": "r5"})
    assert nothing_left.status_code == 400


async def test_another_business_s_order_is_not_found(server: LiveServer) -> None:
    _biz, _person, order_id = await _paid_order(server)
    other = await create_business(server, "Outra Loja")
    stranger = await agent(server, other, "Rita", role="admin")
    refused = await stranger.post(
        f"/console/payments/orders/{order_id}/refunds", {"amount": "1.00"}, **{"Idempotency-Key": "s1"}
    )
    assert refused.status_code == 404
    assert (await stranger.get("/console/payments/orders")).json() == {"data": []}
