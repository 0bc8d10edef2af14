"""The demo publisher page in real Chromium: an ad between the posts at phone and desktop widths, accessible, and
its "Send message" button lands in the web client's chat with the business, prefilled."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from parley.ads.models import ad_clicks
from tests import ads_serve_seed as seed
from tests.conftest import LiveServer
from tests.e2e.page_checks import VIEWPORTS, assert_accessible


async def _campaign(server: LiveServer) -> seed.Business:
    c = server.container
    biz = await seed.business(c, server.next_phone())
    await c.billing.topup(biz.waba_id, 50_000_000, "seed")
    account = await seed.ad_account(c, biz)
    await seed.ad(c, biz, account, frequency_cap=0)
    await c.ad_server.reload()
    return biz


@pytest.mark.parametrize("size", ["phone", "desktop"])
async def test_the_demo_feed_shows_an_ad_between_posts(server: LiveServer, browser: Browser, size: str) -> None:
    await _campaign(server)
    context = await browser.new_context(viewport=VIEWPORTS[size])
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        await page.goto(server.base_url + "/demo/feed")
        frame = page.frame_locator("iframe[title='Sponsored']")
        await expect(frame.locator(".sponsored")).to_have_text("Sponsored")
        await expect(frame.locator("h2")).to_have_text("Linen dresses, made to measure")
        await expect(frame.get_by_role("link", name="Send message")).to_be_visible()
        await frame.get_by_text("Why am I seeing this?").click()
        await expect(frame.locator("details p")).to_contain_text("shown to everyone")
        # Between the second and third posts, and nothing wider than the screen.
        order = await page.evaluate(
            "() => [...document.querySelectorAll('main > *')].map(e => e.tagName + '.' + e.className)"
        )
        assert order == ["ARTICLE.post", "ARTICLE.post", "DIV.slot", "ARTICLE.post", "ARTICLE.post"]
        widths = await page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1]
        await assert_accessible(page, f"demo feed ({size})")
        ad_frame = next(f for f in page.frames if "/ads/frame" in f.url)
        frame_page = await context.new_page()
        await frame_page.goto(ad_frame.url)
        await assert_accessible(frame_page, f"ad card ({size})")
        assert not errors
    finally:
        await context.close()


async def test_send_message_opens_the_chat_prefilled(server: LiveServer, browser: Browser) -> None:
    biz = await _campaign(server)
    person = await server.user("Rita")
    context = await browser.new_context(viewport=VIEWPORTS["desktop"])
    await context.add_init_script(f"localStorage.setItem('parley.token', {person.token!r});")
    page = await context.new_page()
    try:
        await page.goto(server.base_url + "/demo/feed")
        frame = page.frame_locator("iframe[title='Sponsored']")
        await frame.get_by_role("link", name="Send message").click()
        await page.wait_for_url("**/app#*")
        await expect(page.locator("#composer-input")).to_have_value("Hi! Do you have this in size M?")
        await expect(page.locator("body")).to_contain_text("Atelier Nova")  # the business's chat is open
        # The click is recorded once, for the person's own viewer id (the web client adopted it after sign-in
        # only on a later page, so this one is the browser's anonymous viewer), with the chat's click id.
        rows = await server.container.db.read(lambda conn: list(conn.execute(select(ad_clicks))))
        assert len(rows) == 1 and rows[0].ctwa_clid.startswith("PRL")
        assert biz.waba_id
    finally:
        await context.close()
