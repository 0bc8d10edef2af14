"""Affiliate commissions end to end over HTTP: a click on a link, a purchase paid through Parley Pay, the pending
commission taken from the merchant's payable, paid to the affiliate's wallet after the refund window, clawed
back by a refund inside it; last click wins; self-purchases and loops earn nothing; the ledger stays balanced."""

from __future__ import annotations

import pytest

from parley.affiliates.books import affiliate_clearing_key
from parley.payments.books import merchant_payable_key, person_wallet_key
from tests.conftest import LiveServer
from tests.integration.affiliate_helpers import (
    DAY_H,
    balance,
    buy,
    click,
    commissions,
    ledger_ok,
    link_of,
    merchant,
    my_links,
    refund,
)

CLEARING = affiliate_clearing_key("BRL")
COMMISSION = 5_500_000  # 5 % of 110.00 BRL


async def test_a_purchase_after_a_click_earns_a_pending_commission_paid_to_the_wallet_after_the_hold(
    server: LiveServer,
) -> None:
    biz = await merchant(server)
    affiliate, buyer = await server.user("Aff"), await server.user("Buyer")
    link = await link_of(server, affiliate, biz)
    await click(server, link["code"], buyer)
    server.clock.advance(hours=2 * DAY_H)
    payable_before = await balance(server, merchant_payable_key(int(biz.waba_id), "BRL"))
    await buy(server, biz, buyer, "A-1")
    [pending] = await commissions(server, biz)
    assert (pending["status"], pending["amount"], pending["order_total"]) == ("pending", "5.50", "110.00")
    assert await balance(server, CLEARING) == COMMISSION
    payable = await balance(server, merchant_payable_key(int(biz.waba_id), "BRL"))
    fee = (await server.container.merchant_payments.paid_orders(int(biz.waba_id)))[0].fee
    assert payable - payable_before == 110_000_000 - fee - COMMISSION  # the platform's fee is untouched
    mine = await my_links(server, affiliate)
    assert mine["totals"]["clicks"] == 1 and mine["totals"]["purchases"] == 1
    assert mine["totals"]["commissions"]["BRL"] == {"pending": "5.50", "paid": "0.00", "clawed_back": "0.00"}
    assert await ledger_ok(server)

    server.clock.advance(hours=13 * DAY_H)  # 13 days after the purchase: still held
    assert await server.container.affiliate_commissions.release_due() == 0
    server.clock.advance(hours=DAY_H + 1)
    assert await server.container.affiliate_commissions.release_due() == 1
    [paid] = await commissions(server, biz)
    assert paid["status"] == "paid"
    assert await balance(server, person_wallet_key(int(affiliate.user_id), "BRL")) == COMMISSION
    assert await balance(server, CLEARING) == 0
    mine = await my_links(server, affiliate)
    assert mine["totals"]["commissions"]["BRL"] == {"pending": "0.00", "paid": "5.50", "clawed_back": "0.00"}
    assert await server.container.affiliate_commissions.release_due() == 0  # paid once
    assert await ledger_ok(server)

    # A refund after the release: the commission stays paid; the merchant bears it (its payable no longer holds
    # the commission, so it can give back the order less that much until other sales top it up).
    late = await refund(server, biz, "A-1", 10000)
    assert late.status_code == 200, late.text
    [still] = await commissions(server, biz)
    assert still["status"] == "paid" and still["clawed_back"] == "0.00"
    assert await balance(server, person_wallet_key(int(affiliate.user_id), "BRL")) == COMMISSION
    assert await ledger_ok(server)


async def test_a_purchase_outside_the_window_or_without_a_click_earns_nothing(server: LiveServer) -> None:
    biz = await merchant(server, window_days=7)
    affiliate, buyer, stranger = await server.user("Aff"), await server.user("Buyer"), await server.user("Other")
    link = await link_of(server, affiliate, biz)
    await click(server, link["code"], buyer)
    await click(server, link["code"], None)  # an anonymous click binds no one
    server.clock.advance(hours=7 * DAY_H + 1)
    await buy(server, biz, buyer, "LATE-1")
    await buy(server, biz, stranger, "NOCLICK-1")
    assert await commissions(server, biz) == []
    assert await balance(server, CLEARING) == 0
    mine = await my_links(server, affiliate)
    assert mine["totals"]["clicks"] == 2 and mine["totals"]["purchases"] == 0


async def test_the_last_click_wins_between_two_affiliates(server: LiveServer) -> None:
    biz = await merchant(server)
    first, second, buyer = await server.user("First"), await server.user("Second"), await server.user("Buyer")
    first_link, second_link = await link_of(server, first, biz), await link_of(server, second, biz)
    await click(server, first_link["code"], buyer)
    server.clock.advance(hours=1)
    await click(server, second_link["code"], buyer)
    server.clock.advance(hours=1)
    await buy(server, biz, buyer, "LAST-1")
    [commission] = await commissions(server, biz)
    assert commission["link_id"] == second_link["id"]
    assert (await my_links(server, first))["totals"]["purchases"] == 0
    assert (await my_links(server, second))["totals"]["purchases"] == 1


async def test_a_product_link_earns_only_on_orders_with_that_product(server: LiveServer) -> None:
    biz = await merchant(server)
    affiliate, buyer = await server.user("Aff"), await server.user("Buyer")
    shoes = await link_of(server, affiliate, biz, product="tenis-branco")
    await click(server, shoes["code"], buyer)
    await buy(server, biz, buyer, "SHIRT-1")  # two camiseta-azul: not the linked product
    assert await commissions(server, biz) == []
    shirt = await link_of(server, affiliate, biz, product="camiseta-azul")
    await click(server, shirt["code"], buyer)
    await buy(server, biz, buyer, "SHIRT-2")
    [commission] = await commissions(server, biz)
    assert commission["link_id"] == shirt["id"]


async def test_a_refund_inside_the_window_claws_back_in_proportion_then_wholly(server: LiveServer) -> None:
    biz = await merchant(server)
    affiliate, buyer = await server.user("Aff"), await server.user("Buyer")
    link = await link_of(server, affiliate, biz)
    await click(server, link["code"], buyer)
    await buy(server, biz, buyer, "R-1")
    payable = merchant_payable_key(int(biz.waba_id), "BRL")
    server.clock.advance(hours=DAY_H)
    before = await balance(server, payable)
    partial = await refund(server, biz, "R-1", 5500)  # half the order
    assert partial.status_code == 200, partial.text
    [half] = await commissions(server, biz)
    assert (half["status"], half["clawed_back"]) == ("partially_clawed_back", "2.75")
    assert await balance(server, CLEARING) == COMMISSION - 2_750_000
    assert await ledger_ok(server)
    rest = await refund(server, biz, "R-1", 5500)  # the whole order: the rest of the commission comes back
    assert rest.status_code == 200, rest.text
    [clawed] = await commissions(server, biz)
    assert (clawed["status"], clawed["clawed_back"]) == ("clawed_back", "5.50")
    assert await balance(server, CLEARING) == 0
    # The merchant gave back the order less its share of the fee, and got the whole commission back.
    orders = await server.container.merchant_payments.paid_orders(int(biz.waba_id))
    order = orders[0]
    assert await balance(server, payable) - before == -(order.total - order.fee_refunded) + COMMISSION
    server.clock.advance(hours=20 * DAY_H)
    assert await server.container.affiliate_commissions.release_due() == 0  # nothing left to pay
    assert await balance(server, person_wallet_key(int(affiliate.user_id), "BRL")) == 0
    mine = await my_links(server, affiliate)
    assert mine["totals"]["commissions"]["BRL"] == {"pending": "0.00", "paid": "0.00", "clawed_back": "5.50"}
    assert await ledger_ok(server)


async def test_a_partly_refunded_commission_pays_what_is_left_after_the_hold(server: LiveServer) -> None:
    biz = await merchant(server, hold_days=3)
    affiliate, buyer = await server.user("Aff"), await server.user("Buyer")
    await click(server, (await link_of(server, affiliate, biz))["code"], buyer)
    await buy(server, biz, buyer, "P-1")
    assert (await refund(server, biz, "P-1", 1000)).status_code == 200  # 10.00 of 110.00
    server.clock.advance(hours=3 * DAY_H + 1)
    assert await server.container.affiliate_commissions.release_due() == 1
    [paid] = await commissions(server, biz)
    assert (paid["status"], paid["clawed_back"]) == ("paid", "0.50")
    assert await balance(server, person_wallet_key(int(affiliate.user_id), "BRL")) == COMMISSION - 500_000
    assert await ledger_ok(server)


async def test_a_lost_chargeback_claws_the_held_commission_back_like_a_refund(server: LiveServer) -> None:
    biz = await merchant(server)
    affiliate, buyer = await server.user("Aff"), await server.user("Buyer")
    await click(server, (await link_of(server, affiliate, biz))["code"], buyer)
    await buy(server, biz, buyer, "CB-1")
    payable = merchant_payable_key(int(biz.waba_id), "BRL")
    server.clock.advance(hours=DAY_H)
    disputes = server.container.disputes
    dispute = await disputes.open("CB-1", 55_000_000, reason="fraudulent")  # half of the 110.00 order
    after_open = await balance(server, payable)
    [open_] = await commissions(server, biz)
    assert (open_["status"], open_["clawed_back"]) == ("pending", "0.00")  # an open dispute changes nothing yet
    await disputes.resolve(dispute.id, "lost")
    [half] = await commissions(server, biz)
    assert (half["status"], half["clawed_back"]) == ("partially_clawed_back", "2.75")
    assert await balance(server, payable) - after_open == 2_750_000  # the merchant gets its share back
    assert await balance(server, CLEARING) == COMMISSION - 2_750_000
    await disputes.resolve(dispute.id, "lost")  # the same decision again moves nothing
    assert await balance(server, CLEARING) == COMMISSION - 2_750_000
    assert await ledger_ok(server)
    server.clock.advance(hours=14 * DAY_H)
    assert await server.container.affiliate_commissions.release_due() == 1
    assert await balance(server, person_wallet_key(int(affiliate.user_id), "BRL")) == 2_750_000
    mine = await my_links(server, affiliate)
    assert mine["totals"]["commissions"]["BRL"] == {"pending": "0.00", "paid": "2.75", "clawed_back": "2.75"}
    assert await ledger_ok(server)


async def test_a_whole_lost_chargeback_takes_all_a_won_one_nothing_and_a_paid_commission_stays_paid(
    server: LiveServer,
) -> None:
    biz = await merchant(server)
    affiliate, buyer = await server.user("Aff"), await server.user("Buyer")
    await click(server, (await link_of(server, affiliate, biz))["code"], buyer)
    disputes = server.container.disputes
    await buy(server, biz, buyer, "CB-ALL")
    await disputes.resolve((await disputes.open("CB-ALL", 110_000_000)).id, "lost")
    server.clock.advance(hours=1)
    await buy(server, biz, buyer, "CB-WON")
    await disputes.resolve((await disputes.open("CB-WON", 110_000_000)).id, "won")
    by_order = {c["order_id"]: c for c in await commissions(server, biz)}
    assert sorted((c["status"], c["clawed_back"]) for c in by_order.values()) == [
        ("clawed_back", "5.50"),
        ("pending", "0.00"),
    ]
    assert await balance(server, CLEARING) == COMMISSION  # only the won order's commission is held
    server.clock.advance(hours=15 * DAY_H)
    assert await server.container.affiliate_commissions.release_due() == 1
    wallet = person_wallet_key(int(affiliate.user_id), "BRL")
    assert await balance(server, wallet) == COMMISSION
    # After release the commission is the affiliate's: a chargeback lost later is the merchant's loss.
    await click(server, (await link_of(server, affiliate, biz))["code"], buyer)
    await buy(server, biz, buyer, "CB-LATE")
    server.clock.advance(hours=15 * DAY_H)
    assert await server.container.affiliate_commissions.release_due() == 1
    await disputes.resolve((await disputes.open("CB-LATE", 110_000_000)).id, "lost")
    assert await balance(server, wallet) == 2 * COMMISSION and await balance(server, CLEARING) == 0
    assert sorted(c["status"] for c in await commissions(server, biz)) == ["clawed_back", "paid", "paid"]
    assert await ledger_ok(server)


async def test_a_purchase_by_the_affiliate_through_their_own_link_earns_nothing(server: LiveServer) -> None:
    biz = await merchant(server)
    affiliate = await server.user("Aff")
    await click(server, (await link_of(server, affiliate, biz))["code"], affiliate)
    await buy(server, biz, affiliate, "SELF-1")
    assert await commissions(server, biz) == []


async def test_two_affiliates_crediting_each_others_purchases_is_a_loop_and_earns_nothing(
    server: LiveServer,
) -> None:
    biz = await merchant(server)
    ana, bia = await server.user("Ana"), await server.user("Bia")
    ana_link, bia_link = await link_of(server, ana, biz), await link_of(server, bia, biz)
    await click(server, ana_link["code"], bia)
    await buy(server, biz, bia, "LOOP-1")  # Ana earns on Bia's purchase
    await click(server, bia_link["code"], ana)
    await buy(server, biz, ana, "LOOP-2")  # Bia's link on Ana's purchase within the window: refused
    [only] = await commissions(server, biz)
    assert only["link_id"] == ana_link["id"]
    assert (await my_links(server, bia))["totals"]["purchases"] == 0
    # After the window, it is no longer a loop.
    server.clock.advance(hours=8 * DAY_H)
    await click(server, bia_link["code"], ana)
    await buy(server, biz, ana, "LOOP-3")
    assert [c["link_id"] for c in await commissions(server, biz)] == [bia_link["id"], ana_link["id"]]


async def test_a_declined_payment_earns_nothing_and_a_revoked_link_stops_earning(server: LiveServer) -> None:
    from parley.business import parse_wamid
    from tests.integration.business_helpers import person_writes, send
    from tests.integration.test_merchant_payments import DECLINED_CARD, brazil_order

    biz = await merchant(server)
    affiliate, buyer = await server.user("Aff"), await server.user("Buyer")
    link = await link_of(server, affiliate, biz)
    await click(server, link["code"], buyer)
    await person_writes(server, buyer, biz)
    sent = await send(server, biz, brazil_order(buyer, "DECL-1", server.clock.now_ms() // 1000 + 3600))
    order = await server.http.get(
        f"/client/v1/messages/{parse_wamid(sent.json()['messages'][0]['id'])}/order", headers=buyer.headers
    )
    declined = await server.http.post(
        f"/client/v1/orders/{order.json()['id']}/pay",
        headers={**buyer.headers, "Idempotency-Key": "declined"},
        json={"method": "card", "card": DECLINED_CARD},
    )
    assert declined.status_code == 402, declined.text
    assert await commissions(server, biz) == []
    revoked = await server.http.delete(f"/client/v1/affiliates/links/{link['id']}", headers=affiliate.headers)
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    await buy(server, biz, buyer, "AFTER-REVOKE")  # the click came before the revocation: still nothing
    assert await commissions(server, biz) == []
    assert await ledger_ok(server)


async def test_a_program_switched_off_earns_nothing_on_new_purchases(server: LiveServer) -> None:
    biz = await merchant(server)
    affiliate, buyer = await server.user("Aff"), await server.user("Buyer")
    await click(server, (await link_of(server, affiliate, biz))["code"], buyer)
    off = await server.http.post(f"/v23.0/{biz.waba_id}/affiliate_program", headers=biz.headers, json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False and off.json()["rate_bp"] == 500
    await buy(server, biz, buyer, "OFF-1")
    assert await commissions(server, biz) == []


async def test_parley_affiliates_release_pays_what_is_due_once(server: LiveServer) -> None:
    import asyncio

    from typer.testing import CliRunner

    from parley.cli.main import app as parley_cli

    biz = await merchant(server, hold_days=0)  # due at once: the CLI's own clock is the system's
    affiliate, buyer = await server.user("Aff"), await server.user("Buyer")
    await click(server, (await link_of(server, affiliate, biz))["code"], buyer)
    await buy(server, biz, buyer, "CLI-1")
    env = {
        "PARLEY_DATABASE_URL": server.settings.resolved_database_url,
        "PARLEY_DATA_DIR": str(server.settings.data_dir),
        "PARLEY_SECRET_KEY": "test-secret",
    }
    runs = [await asyncio.to_thread(CliRunner().invoke, parley_cli, ["affiliates", "release"], env=env) for _ in "ab"]
    assert [r.exit_code for r in runs] == [0, 0], runs[0].output
    assert "1 commission(s) paid" in runs[0].output and "0 commission(s) paid" in runs[1].output
    assert await balance(server, person_wallet_key(int(affiliate.user_id), "BRL")) == COMMISSION
    assert await ledger_ok(server)


async def test_a_refund_racing_the_release_leaves_the_paid_commission_alone(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL the sweep may pay the commission between the refund's read of it and its claw-back: the
    claw-back's guarded update then changes nothing, the commission is read again (paid) and nothing moves."""
    from parley.affiliates import repository as affiliate_repo

    biz = await merchant(server, hold_days=1)
    affiliate, buyer = await server.user("Aff"), await server.user("Buyer")
    await click(server, (await link_of(server, affiliate, biz))["code"], buyer)
    await buy(server, biz, buyer, "RACE-1")
    [pending] = await server.container.db.read(
        lambda conn: affiliate_repo.due_commissions(conn, server.clock.now_ms() + 2 * 86_400_000, 10)
    )
    server.clock.advance(hours=DAY_H + 1)
    assert await server.container.affiliate_commissions.release_due() == 1
    real = affiliate_repo.commission_of_order
    stale = iter([pending])  # what the refund read before the sweep committed
    monkeypatch.setattr(affiliate_repo, "commission_of_order", lambda conn, oid: next(stale, None) or real(conn, oid))
    response = await refund(server, biz, "RACE-1", 1000)
    assert response.status_code == 200, response.text
    [paid] = await commissions(server, biz)
    assert (paid["status"], paid["clawed_back"]) == ("paid", "0.00")
    assert await balance(server, person_wallet_key(int(affiliate.user_id), "BRL")) == COMMISSION
    assert await balance(server, CLEARING) == 0
    assert await ledger_ok(server)
