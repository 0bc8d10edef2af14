"""An order paid from the person's Parley Pay wallet takes their payment PIN, as a payment in a chat does: without a
PIN set, without the PIN or with a wrong one nothing moves and the order stays unpaid; wrong guesses lock every
payment from the wallet; the right PIN pays once."""

from __future__ import annotations

import uuid
from typing import Any

from parley.business import parse_wamid
from tests.conftest import LiveServer, User
from tests.integration.business_helpers import create_business, person_writes, send
from tests.integration.test_merchant_payments import brazil_order

API = "/client/v1"
CARD = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}


async def _balance(server: LiveServer, user: User) -> str:
    wallets = (await server.http.get(f"{API}/wallet", headers=user.headers)).json()["wallets"]
    return next(w["balance"] for w in wallets if w["currency"] == "BRL")


async def test_paying_an_order_from_the_wallet_takes_the_payment_pin(server: LiveServer) -> None:
    biz = await create_business(server, "Loja Pin")
    dora = await server.user("Dora", phone="+5511987650311")
    await person_writes(server, dora, biz)
    topped = await server.http.post(
        f"{API}/wallet/topups",
        headers={**dora.headers, "Idempotency-Key": uuid.uuid4().hex},
        json={"amount": "200.00", "currency": "BRL", "method": "card", "card": CARD},
    )
    assert topped.status_code == 200, topped.text
    sent = await send(server, biz, brazil_order(dora, "PIN-1", server.clock.now_ms() // 1000 + 3600))
    wamid = sent.json()["messages"][0]["id"]
    order = (await server.http.get(f"{API}/messages/{parse_wamid(wamid)}/order", headers=dora.headers)).json()
    key = uuid.uuid4().hex

    async def pay(**body: Any) -> Any:
        return await server.http.post(
            f"{API}/orders/{order['id']}/pay",
            headers={**dora.headers, "Idempotency-Key": key},
            json={"method": "wallet", **body},
        )

    async def unpaid() -> bool:
        shown = (await server.http.get(f"{API}/orders/{order['id']}", headers=dora.headers)).json()
        return bool(shown["payment_status"] == "unpaid" and await _balance(server, dora) == "200.00")

    no_pin_yet = await pay(pin="1234")
    assert no_pin_yet.status_code == 409 and no_pin_yet.json()["error"]["code"] == "pin_not_set"
    assert await unpaid()
    assert (await server.http.put(f"{API}/wallet/pin", headers=dora.headers, json={"pin": "2580"})).status_code == 204

    missing = await pay()
    assert missing.status_code == 400 and "PIN" in missing.json()["error"]["message"]
    wrong = await pay(pin="0000")
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_pin"
    assert "4 tries left" in wrong.json()["error"]["message"]
    assert await unpaid()

    # The right PIN clears the count; the same key answers the same payment and moves nothing again.
    paid = await pay(pin="2580")
    assert paid.status_code == 200 and paid.json()["payment_status"] == "paid", paid.text
    assert (await pay(pin="2580")).json() == paid.json()
    assert await _balance(server, dora) == "90.00"
    assert (await server.container.ledger.verify()).ok


async def test_wrong_pins_on_orders_lock_the_wallet(server: LiveServer) -> None:
    biz = await create_business(server, "Loja Trava")
    eva = await server.user("Eva", phone="+5511987650312")
    await person_writes(server, eva, biz)
    assert (await server.http.put(f"{API}/wallet/pin", headers=eva.headers, json={"pin": "1234"})).status_code == 204
    sent = await send(server, biz, brazil_order(eva, "PIN-2", server.clock.now_ms() // 1000 + 3600))
    wamid = sent.json()["messages"][0]["id"]
    order = (await server.http.get(f"{API}/messages/{parse_wamid(wamid)}/order", headers=eva.headers)).json()

    elsewhere = await server.http.post(
        f"{API}/orders/1234567/pay",
        headers={**eva.headers, "Idempotency-Key": uuid.uuid4().hex},
        json={"method": "wallet", "pin": "9999"},
    )
    assert elsewhere.status_code == 404  # no such order: no guess counted
    codes = []
    for _ in range(6):
        answer = await server.http.post(
            f"{API}/orders/{order['id']}/pay",
            headers={**eva.headers, "Idempotency-Key": uuid.uuid4().hex},
            json={"method": "wallet", "pin": "9999"},
        )
        codes.append((answer.status_code, answer.json()["error"]["code"]))
    assert codes == [(403, "wrong_pin")] * 4 + [(429, "pin_locked")] * 2
    # Locked: even the right PIN waits.
    locked = await server.http.post(
        f"{API}/orders/{order['id']}/pay",
        headers={**eva.headers, "Idempotency-Key": uuid.uuid4().hex},
        json={"method": "wallet", "pin": "1234"},
    )
    assert locked.status_code == 429 and "Retry-After" in locked.headers
