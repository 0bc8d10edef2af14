"""The console's Payments page over HTTP: an owner reads only its own business's payable, statement and payouts;
an agent gets the 403 page; a bad month says why instead of failing."""

from __future__ import annotations

from tests.conftest import LiveServer
from tests.integration.business_helpers import create_business
from tests.integration.inbox_helpers import agent
from tests.integration.pay_helpers import card_payment

PAGE = "/inbox/console/payments"
BRL = 1_000_000


async def test_an_owner_sees_its_own_payable_an_agent_is_refused(server: LiveServer) -> None:
    mine, theirs = await create_business(server, "Minha Loja"), await create_business(server, "Outra Loja")
    await card_payment(server.container, waba_id=int(mine.waba_id), amount=10 * BRL, fee=399_000, reference_id="m-1")
    await card_payment(server.container, waba_id=int(theirs.waba_id), amount=77 * BRL, fee=0, reference_id="t-1")
    owner = await agent(server, mine, "Olga Owner", role="owner")
    helper = await agent(server, mine, "Andy Agent", role="agent")
    try:
        page = await owner.http.get(PAGE)
        assert page.status_code == 200
        assert 'id="payable-balance-BRL">9.601<' in page.text
        assert 'id="payable-held-BRL">9.601<' in page.text  # every sale is still within the payout delay
        assert "77.00" not in page.text and "t-1" not in page.text  # another business's sale
        assert 'aria-current="page">Payments' in page.text

        bad = await owner.http.get(PAGE, params={"month": "2026-13"})
        assert bad.status_code == 200 and 'id="statement-error"' in bad.text and "YYYY-MM" in bad.text

        refused = await helper.http.get(PAGE)
        assert refused.status_code == 403 and "9.601" not in refused.text
    finally:
        await owner.http.aclose()
        await helper.http.aclose()
