"""The affiliate pages in Chromium the way people use them: a signed-out visitor opens a shared link on a phone,
signs in and lands in the shop's chat with the click counted for them; the merchant's owner sets the program in the
console's Affiliates page (a mistyped rate is explained, not saved) and sees the links' figures; an affiliate picks
one of the shop's catalog products for a link on /earn; signing in from /earn comes back to /earn, and a sign-in
asked to return off the site lands in the chats; axe and width checks at 390 and 1280 px."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from parley.affiliates.models import affiliate_clicks
from tests.conftest import LiveServer
from tests.e2e.page_checks import (
    PHONE,
    VIEWPORTS,
    assert_accessible,
    assert_fits_width,
    sign_in_agent,
    sign_in_person,
    watch_errors,
)
from tests.integration.affiliate_helpers import buy, click, link_of, merchant, my_links
from tests.integration.business_helpers import create_business
from tests.integration.inbox_helpers import PASSWORD

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)


async def test_a_signed_out_visitor_signs_in_from_a_link_and_the_click_is_theirs(
    server: LiveServer, browser: Browser
) -> None:
    errors: list[str] = []
    shop = await merchant(server, "Loja Verde")
    fia = await server.user("Fia")
    link = await link_of(server, fia, shop)
    bea = await server.user("Bea", phone="+5511912340016")
    context = await browser.new_context(viewport=PHONE)  # type: ignore[arg-type]
    page = await context.new_page()
    watch_errors(page, errors)
    await page.goto(f"{server.base_url}/r/{link['code']}")
    await expect(page.get_by_role("heading", name="Loja Verde")).to_be_visible()
    await expect(page.locator("#landing-signed-out")).to_be_visible()
    await assert_accessible(page, "an affiliate link's landing, signed out (390 px)")
    await assert_fits_width(page, "the landing page at 390 px")
    await page.get_by_role("link", name="Open the chat and shop").click()
    await page.wait_for_url(re.compile(r"/$"))  # the app sends a signed-out person to the sign-in page
    await sign_in_person(page, server.base_url, bea.phone, start=None)
    await page.wait_for_url(re.compile(r"/app#chat="))
    await expect(page.locator("#composer-input")).to_be_visible()

    async def bound() -> list[int | None]:
        rows = await server.container.db.read(lambda c: list(c.execute(select(affiliate_clicks.c.person_id))))
        return [r.person_id for r in rows]

    for _ in range(50):
        if await bound() == [int(bea.user_id)]:
            break
        await page.wait_for_timeout(100)
    assert await bound() == [int(bea.user_id)]
    await context.close()
    assert not errors, errors


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
async def test_the_owner_sets_the_program_and_reads_the_links_in_the_console(
    server: LiveServer, browser: Browser, viewport: str
) -> None:
    errors: list[str] = []
    shop = await create_business(server, "Loja Verde")
    await server.container.inbox.create_agent(
        int(shop.waba_id), email="olivia@verde.example", name="Olivia", role="owner", password=PASSWORD
    )
    context = await browser.new_context(viewport=VIEWPORTS[viewport])  # type: ignore[arg-type]
    page = await context.new_page()
    watch_errors(page, errors)
    await sign_in_agent(page, server.base_url, "olivia@verde.example", PASSWORD)
    await page.goto(server.base_url + "/inbox/console/affiliates")
    await expect(page.locator("#program-none")).to_be_visible()
    await assert_accessible(page, f"the console's Affiliates page, no program ({viewport})")
    await assert_fits_width(page, f"the console's Affiliates page ({viewport})")

    await page.get_by_label("Commission (% of the order)").fill("2.555")
    await page.get_by_role("button", name="Start program").click()
    await expect(page.locator("#program-error")).to_contain_text("two decimal places")
    await page.get_by_label("Commission (% of the order)").fill("2.5")
    await page.get_by_label("Attribution window (days after a click)").fill("3")
    await page.get_by_label("Terms shown to affiliates").fill("<b>Only Parley Pay orders</b>")
    await page.get_by_role("button", name="Start program").click()
    await expect(page.get_by_role("button", name="Save program")).to_be_visible()
    await expect(page.get_by_label("Commission (% of the order)")).to_have_value("2.50")
    await expect(page.get_by_label("Terms shown to affiliates")).to_have_value("<b>Only Parley Pay orders</b>")

    fia, bea = await server.user("Fia"), await server.user("Bea")
    link = await link_of(server, fia, shop)
    await click(server, link["code"], bea)
    await buy(server, shop, bea, f"CONSOLE-{viewport}")
    await page.reload()
    row = page.locator("#links-table tbody tr", has_text=link["code"])
    await expect(row).to_contain_text("Whole shop")
    await expect(row.locator("td.num").nth(0)).to_have_text("1")  # clicks
    await expect(row.locator("td.num").nth(1)).to_have_text("1")  # purchases
    await expect(row.locator("td.num").nth(2)).to_have_text("2.75 BRL")  # pending: 2.5 % of 110.00
    await expect(page.locator("#total-pending-BRL")).to_have_text("2.75")
    await assert_accessible(page, f"the console's Affiliates page with a link ({viewport})")
    await assert_fits_width(page, f"the console's Affiliates page with a link ({viewport})")
    await page.screenshot(path=f"/tmp/parley-console-affiliates-{viewport}.png", full_page=True)
    await context.close()
    assert not errors, errors


async def new_page(browser: Browser, viewport: object, errors: list[str], token: str | None = None) -> Page:
    """A page of a browser of its own (signed in with `token` when given) whose script errors land in `errors`."""
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    if token is not None:
        await context.add_init_script(f"localStorage.setItem('parley.token', {token!r});")
    page = await context.new_page()
    watch_errors(page, errors)
    return page


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
async def test_an_affiliate_picks_a_product_of_the_shops_catalog_for_a_link(
    server: LiveServer, browser: Browser, viewport: str
) -> None:
    errors: list[str] = []
    await merchant(server, "Loja Verde")
    fia = await server.user("Fia")
    page = await new_page(browser, VIEWPORTS[viewport], errors, fia.token)
    await page.goto(server.base_url + "/earn")
    program = page.locator("#earn-programs li", has_text="Loja Verde")
    picker = program.get_by_label("Link to")
    await expect(picker).to_have_value("")  # the whole shop unless the person picks a product
    options = [o.strip() for o in await picker.locator("option").all_inner_texts()]
    assert options == ["Whole shop", "Camiseta azul · 55.00 BRL", "Tênis branco · 199.90 BRL"]
    await assert_accessible(page, f"/earn with a product picker ({viewport})")
    await assert_fits_width(page, f"/earn with a product picker ({viewport})")

    await picker.select_option(label="Tênis branco · 199.90 BRL")
    await program.get_by_role("button", name="Get my link for Loja Verde").click()
    link = page.locator("#earn-links li", has_text="Loja Verde")
    await expect(link.locator(".hint")).to_have_text("Tênis branco")
    await program.get_by_role("button", name="Get my link for Loja Verde").click()  # the picker is back at the shop
    await expect(page.locator("#earn-links li")).to_have_count(2)
    await expect(page.locator("#earn-links li .hint", has_text="Whole shop")).to_have_count(1)
    made = {item["product_retailer_id"] for item in (await my_links(server, fia))["data"]}
    assert made == {"tenis-branco", None}
    await assert_fits_width(page, f"/earn with two links ({viewport})")
    await page.context.close()
    assert not errors, errors


async def test_signing_in_from_earn_comes_back_to_earn_and_never_leaves_the_site(
    server: LiveServer, browser: Browser
) -> None:
    errors: list[str] = []
    await merchant(server, "Loja Verde")
    fia = await server.user("Fia", phone="+5511912340017")
    page = await new_page(browser, PHONE, errors)
    await page.goto(server.base_url + "/earn")
    await page.wait_for_url(re.compile(r"/\?next=%2Fearn$"))  # signed out: the sign-in page, told where to return
    await sign_in_person(page, server.base_url, fia.phone, start=None, lands="/earn")
    await expect(page.locator("#earn-programs li", has_text="Loja Verde")).to_be_visible()
    assert page.url == server.base_url + "/earn"

    # Signed in, the sign-in page forwards at once: only to this site's own paths, else to the chats.
    for target in (
        "//evil.example",
        "https://evil.example/earn",
        "/\\evil.example",
        "/%2F%2Fevil.example",
        "javascript:alert(1)",
    ):
        await page.goto(f"{server.base_url}/?next={target}")
        await page.wait_for_url(re.compile(r"/app$"))
        assert page.url.startswith(server.base_url + "/"), (target, page.url)
    await page.goto(server.base_url + "/?next=%2Fearn%3Ftab%3Dlinks")
    await page.wait_for_url(re.compile(r"/earn\?tab=links$"))
    await page.context.close()
    assert not errors, errors


async def test_pages_ask_the_sign_in_to_return_but_an_off_site_return_lands_in_the_chats(
    server: LiveServer, browser: Browser
) -> None:
    errors: list[str] = []
    bea = await server.user("Bea", phone="+5511912340018")
    page = await new_page(browser, PHONE, errors)
    for path in ("channels", "subscriptions"):  # the other signed-in pages ask to come back too
        await page.goto(f"{server.base_url}/{path}")
        await page.wait_for_url(re.compile(rf"/\?next=%2F{path}$"))
    await sign_in_person(page, server.base_url, bea.phone, start="/?next=//evil.example", lands="/app")
    assert page.url == server.base_url + "/app"
    await expect(page.locator("#composer-input, #chat-list").first).to_be_attached()
    await page.context.close()
    assert not errors, errors
