"""End to end in Chromium, at a phone's 390×844 and a desktop's 1280×800: a business owner signs in, opens the
console's overview (balance, this month's spend), its Numbers (quality and tier in words, the history of a
quality drop) and its Analytics (changes the period), each page accessible, as wide as the screen, with nothing
in the top bar or the console navigation drawn over anything else."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import LiveServer
from tests.e2e.page_checks import VIEWPORTS, assert_looks_right, sign_in_agent, watch_errors
from tests.integration.business_helpers import (
    Biz,
    ack_all,
    approved_template,
    create_business,
    send,
    template_body,
    text_to,
)

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

PASSWORD = "correct horse battery"
BARS = ".topbar-brand > *, .topbar-nav a, .topbar-me, .console-nav a"


async def person_writes(server: LiveServer, token: str, to_phone: str, text: str) -> None:
    response = await server.http.post(
        "/client/v1/messages",
        headers={"Authorization": f"Bearer {token}"},
        json={"to": to_phone, "type": "text", "text": {"body": text}, "client_id": uuid.uuid4().hex},
    )
    assert response.status_code == 200, response.text


async def a_month_of_business(server: LiveServer) -> Biz:
    """Charged templates to India and Germany, people answering, and three of six people blocking the number."""
    biz = await create_business(server, "Lumen Bikes")
    await approved_template(
        server, biz, name="autumn_sale", category="MARKETING", body="Autumn sale on {{1}} until {{2}}, come and see."
    )
    await approved_template(server, biz)
    priya = await server.user("Priya", "+919812345622")
    jonas = await server.user("Jonas", "+4915123450322")
    assert (await send(server, biz, template_body(priya, "autumn_sale"))).status_code == 200
    assert (await send(server, biz, template_body(jonas))).status_code == 200
    await person_writes(server, priya.token, biz.phone, "Do you have it in blue?")
    assert (await text_to(server, biz, priya, "We do!")).status_code == 200
    await ack_all(server, priya)
    await ack_all(server, jonas)
    people = [await server.user(f"Rider {i}") for i in range(4)]
    for person in people:
        await person_writes(server, person.token, biz.phone, "Hi")
        assert (await text_to(server, biz, person, "Hello!")).status_code == 200
    for person in people[:3]:
        blocked = await server.http.post("/client/v1/blocks", headers=person.headers, json={"phone": biz.phone})
        assert blocked.is_success, blocked.text
    return biz


async def check_page(page: Page, name: str, viewport: str) -> None:
    await assert_looks_right(page, BARS, f"{name} at {viewport}")
    await page.screenshot(path=f"/tmp/console-overview-{name}-{viewport}.png", full_page=True)


async def test_an_owner_reads_the_overview_numbers_and_analytics(server: LiveServer, browser: Browser) -> None:
    biz = await a_month_of_business(server)
    email = "owner@lumen.example"
    await server.container.inbox.create_agent(
        int(biz.waba_id), email=email, name="Olive Owner", role="owner", password=PASSWORD
    )
    errors: list[str] = []
    for viewport, size in VIEWPORTS.items():
        context = await browser.new_context(viewport=size)  # type: ignore[arg-type]
        page = await context.new_page()
        watch_errors(page, errors)
        await sign_in_agent(page, server.base_url, email, PASSWORD, start="/inbox/console")
        await page.goto(server.base_url + "/inbox/console")

        # Overview: the balance (10.00 trial credit less what was charged) and this month's spend.
        await expect(page.locator("h1")).to_have_text("Overview")
        await expect(page.locator("#balance")).to_have_text("USD 9.9332")
        await expect(page.locator("#spend-total")).to_have_text("USD 0.0668")
        await expect(page.locator("#spend-marketing")).to_have_text("USD 0.0118")
        await expect(page.locator("#number-glance")).to_contain_text("Yellow · medium quality")
        await expect(page.locator("#spend-market-table")).to_contain_text("India")
        await check_page(page, "overview", viewport)

        # Numbers: quality and tier in words, the quality drop listed with its reason.
        await page.click("#console-nav-numbers")
        await page.wait_for_url(re.compile(r"/inbox/console/numbers$"))
        card = page.locator(".number-card").first
        await expect(card.locator(".fact-quality")).to_have_text("Yellow · medium quality")
        await expect(card.locator(".fact-tier")).to_contain_text("Tier 250: up to 250 people per 24 h")
        await expect(card.locator(".history-row")).to_have_count(1)
        await expect(card.locator(".history-change")).to_have_text("GREEN → YELLOW")
        await expect(card.locator(".history-reason")).to_contain_text("3 blocks or reports among 6 people")
        await check_page(page, "numbers", viewport)

        # Analytics: 30 days by default; picking 7 days reloads with the same spend, a table under each chart.
        await page.click("#console-nav-analytics")
        await page.wait_for_url(re.compile(r"/inbox/console/analytics$"))
        await expect(page.locator("#total-cost")).to_have_text("USD 0.0668")
        await expect(page.locator("#period-days")).to_have_value("30")
        await page.select_option("#period-days", "7")
        await page.wait_for_url(re.compile(r"days=7"))
        await expect(page.locator("#analytics-scope")).to_contain_text("daily")
        await expect(page.locator("#cost-table tfoot [data-total]")).to_have_text("0.0668")
        await expect(page.locator("#volume-table tfoot [data-total]")).to_have_text("3")
        await expect(page.locator("#market-table")).to_contain_text("Germany")
        await check_page(page, "analytics", viewport)
        # A period that ends before it starts is refused in words, the form still there.
        await page.select_option("#period-days", "custom")
        await page.fill("#period-from", "2026-12-05")
        await page.fill("#period-to", "2026-12-01")
        await page.click("#period-submit")
        await expect(page.locator("#analytics-error")).to_contain_text("ends (2026-12-01) before it starts")
        await context.close()
    assert not errors, errors
