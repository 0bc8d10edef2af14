"""The business console is for owners and admins: an agent gets a 403 page, a signed-out browser the sign-in."""

from __future__ import annotations

import httpx

from tests.conftest import LiveServer
from tests.integration.business_helpers import create_business
from tests.integration.inbox_helpers import agent


async def test_owner_sees_the_console_an_agent_does_not_and_signed_out_goes_to_sign_in(server: LiveServer) -> None:
    biz = await create_business(server, "Console Access Co")
    owner = await agent(server, biz, "Olive Owner", role="owner")
    helper = await agent(server, biz, "Andy Agent", role="agent")
    try:
        page = await owner.http.get("/inbox/console")
        assert page.status_code == 200
        assert 'aria-current="page">Overview' in page.text
        refused = await helper.http.get("/inbox/console")
        assert refused.status_code == 403
        assert "owners and admins" in refused.text
        async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
            signed_out = await anonymous.get("/inbox/console")
        assert signed_out.status_code == 303
        assert signed_out.headers["location"] == "/inbox/login"
    finally:
        await owner.http.aclose()
        await helper.http.aclose()
