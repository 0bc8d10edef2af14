"""What a new user meets first, tried the way they would: `parley demo` on a port of their choosing (run twice,
as a restart does), the server it prints, the click-to-chat link it prints, and the API docs with no internet."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Route, expect

from tests.e2e.conftest import ServerProcess
from tests.e2e.page_checks import DESKTOP

pytestmark = pytest.mark.e2e
V = "/v23.0"


def _printed(output: str, label: str) -> str:
    """A value from one of the demo's tables (rich folds long values over several lines)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if label in line)
    parts = []
    for line in lines[start:]:
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) < 2 or (parts and cells[0] and label not in line):
            break
        parts.append(cells[-1])
    return "".join(parts)


async def test_demo_prints_the_address_it_serves_on_and_a_restart_keeps_one_token(
    tmp_path: Path, browser: Browser
) -> None:
    server = ServerProcess(tmp_path / "var", env={"COLUMNS": "200"})
    assert not server.base_url.endswith(":8080")
    server.cli("db", "upgrade")
    first = server.cli("demo")
    second = server.cli("demo")  # a restart of scripts/run.sh
    for output in (first, second):
        assert ":8080" not in output
        assert f"curl -s {server.base_url}{V}/" in output
    link = _printed(second, "click-to-chat link")
    assert link.startswith(f"{server.base_url}/c/"), second
    assert _printed(first, "click-to-chat link") == link
    old_token = _printed(first, "access token (Bearer)")
    new_token = _printed(second, "access token (Bearer)")
    assert old_token.startswith("PRL") and new_token.startswith("PRL") and old_token != new_token

    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            number_id = _printed(second, "phone_number_id")
            for token, status in ((old_token, 401), (new_token, 200)):
                answer = await http.get(f"{V}/{number_id}", headers={"Authorization": f"Bearer {token}"})
                assert answer.status_code == status, answer.text
            waba_id = _printed(second, "waba_id")
            # The demo shop: a catalog of three products, shown on the business's profile.
            graph = {"Authorization": f"Bearer {new_token}"}
            [catalog] = (await http.get(f"{V}/{waba_id}/product_catalogs", headers=graph)).json()["data"]
            products = (await http.get(f"{V}/{catalog['id']}/products", headers=graph)).json()["data"]
            assert sorted(p["retailer_id"] for p in products) == ["espresso-beans", "filter-beans", "travel-mug"]
            settings = await http.get(f"{V}/{number_id}/whatsapp_commerce_settings", headers=graph)
            assert settings.json()["data"][0]["is_catalog_visible"] is True, settings.text
            tokens = server.cli("business", "token", "list", waba_id)
            assert tokens.count("active") == 1, tokens
            # The printed link is the one the team inbox lists in its links settings.
            inbox = httpx.AsyncClient(base_url=server.base_url, timeout=10)
            form = await inbox.get("/inbox/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert csrf is not None
            signed = await inbox.post(
                "/inbox/login",
                data={"email": "owner@parley-coffee.example", "password": "parley-demo", "csrf_token": csrf[1]},
            )
            assert signed.status_code == 303, signed.text
            links = (await inbox.get("/inbox/api/links")).json()["data"]
            assert [item["url"] for item in links] == [link]
            await inbox.aclose()
            # The demo advertiser: Atelier Nova's live campaign fills the publisher's slot, once per run.
            assert _printed(first, "ad account / campaign") == _printed(second, "ad account / campaign")
            assert _printed(second, "a publisher's page showing its ad") == f"{server.base_url}/demo/feed"
            slot = await http.get("/ads/v1/slot", params={"placement": "feed", "locale": "pt-BR"})
            assert slot.status_code == 200, slot.text
            assert slot.json()["ad"]["headline"] == "Linen dresses, made to measure"

        # The API docs render with every request beyond this server refused, as on a machine with no internet.
        context = await browser.new_context(viewport=DESKTOP)
        page = await context.new_page()
        outside: list[str] = []

        async def only_this_server(route: Route) -> None:
            if route.request.url.startswith(server.base_url):
                await route.continue_()
            else:
                outside.append(route.request.url)
                await route.abort()

        await context.route("**/*", only_this_server)
        await page.goto(server.base_url + "/docs")
        await expect(page.locator(".opblock").first).to_be_visible(timeout=20_000)
        await expect(page.get_by_text("/client/v1/messages").first).to_be_visible()
        await page.goto(server.base_url + "/redoc")
        await expect(page.get_by_role("heading", name=re.compile("Parley")).first).to_be_visible(timeout=20_000)
        assert outside == []
        await context.close()
    finally:
        server.stop()
