"""The console's Affiliates page and its program form: owners and admins set the program (a percentage becomes
basis points, refused when it is not one), the page shows links and totals; agents are refused."""

from __future__ import annotations

from tests.conftest import LiveServer
from tests.integration.affiliate_helpers import buy, click, link_of
from tests.integration.business_helpers import V, create_business
from tests.integration.inbox_helpers import agent


async def test_the_owner_sets_the_program_and_sees_links_and_totals(server: LiveServer) -> None:
    biz = await create_business(server, "Loja")
    owner = await agent(server, biz, "Olivia", role="owner")
    page = await owner.http.get("/inbox/console/affiliates")
    assert page.status_code == 200 and 'id="program-none"' in page.text
    for rate, why in (
        ("0", "0.01 % to 50 %"),
        ("5.005", "two decimal"),
        ("abc", "rate_percent"),
        ("60", "0.01 % to 50 %"),
    ):
        refused = await owner.post("/console/affiliates/program", {"rate_percent": rate})
        assert refused.status_code == 400 and why in refused.json()["error"]["message"], (rate, refused.text)
    saved = await owner.post(
        "/console/affiliates/program", {"rate_percent": "2.5", "window_days": 3, "hold_days": 1, "terms": "<i>x</i>"}
    )
    assert saved.status_code == 200, saved.text
    program = (await server.http.get(f"{V}/{biz.waba_id}/affiliate_program", headers=biz.headers)).json()
    assert (program["rate_bp"], program["window_days"], program["hold_days"]) == (250, 3, 1)
    affiliate, buyer = await server.user("Aff"), await server.user("Buyer")
    link = await link_of(server, affiliate, biz)
    await click(server, link["code"], buyer)
    await buy(server, biz, buyer, "CON-1")
    page = await owner.http.get("/inbox/console/affiliates")
    assert link["code"] in page.text and "&lt;i&gt;x&lt;/i&gt;" in page.text
    assert 'id="total-pending-BRL">2.75<' in page.text and 'id="total-purchases-BRL">1<' in page.text


async def test_an_agent_gets_neither_the_page_nor_the_form(server: LiveServer) -> None:
    biz = await create_business(server, "Loja")
    sam = await agent(server, biz, "Sam")
    assert (await sam.http.get("/inbox/console/affiliates")).status_code == 403
    refused = await sam.post("/console/affiliates/program", {"rate_percent": "5"})
    assert refused.status_code == 403
