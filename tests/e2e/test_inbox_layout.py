"""End to end: the team inbox at a phone's width and a laptop's, as an owner uses it.

At 390×844 and at 1280×800 an owner signs in, starts a conversation from the inbox with an approved template
to someone who never wrote (sees the price, sends, the conversation opens with the template), opens the contact
card and the settings; each screen is checked as a person would look at it: nothing past the edge, nothing in the
top bar or the conversation header drawn over something else, the contact's name visible, no serious WCAG A/AA
violation (axe-core).
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import LiveServer
from tests.e2e.page_checks import (
    VIEWPORTS,
    assert_accessible,
    assert_fits_width,
    assert_no_overlap,
    sign_in_agent,
    watch_errors,
)
from tests.e2e.test_inbox_web import PASSWORD, approved_template, person_writes

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

TOP_BAR = ".topbar > *, .topbar a, .topbar button, .topbar select, .topbar .me-text"
HEADER = ".conversation-header > *, .conv-actions > *, .conv-labels-row > *"
LONG_NAME = "Maximilian Alexander Wittgenstein-Hohenberg"
READY = "Hi {name}, your order A-1 is ready for pickup."


async def sign_in(browser: Browser, server: LiveServer, size: dict[str, int], email: str, errors: list[str]) -> Page:
    context = await browser.new_context(viewport=size)  # type: ignore[arg-type]
    page = await context.new_page()
    watch_errors(page, errors)
    await sign_in_agent(page, server.base_url, email, PASSWORD)
    await expect(page.locator("#inbox")).not_to_have_attribute("aria-busy", "true")
    return page


async def looks_right(page: Page, what: str) -> None:
    await assert_fits_width(page, what)
    await assert_no_overlap(page, TOP_BAR, f"{what}: top bar")


async def test_an_owner_starts_a_conversation_at_phone_and_laptop_width(server: LiveServer, browser: Browser) -> None:
    shop_phone = server.next_phone()
    shop = await server.container.business.create_business("Parley Bike Shop & Repairs", shop_phone)
    waba_id = int(shop.waba_id)
    inbox = server.container.inbox
    await inbox.create_agent(waba_id, email="olga@shop.example", name="Olga Owner", role="owner", password=PASSWORD)
    await inbox.create_agent(waba_id, email="alan@shop.example", name="Alan", role="agent", password=PASSWORD)
    await approved_template(server, str(shop.waba_id), shop.access_token)
    # Someone already wrote, with a long name: the list and the contact search have something to show.
    regular = await server.user(LONG_NAME)
    await person_writes(server, regular, shop_phone, "Is the shop open on Sunday?")
    errors: list[str] = []

    agent = await sign_in(browser, server, VIEWPORTS["desktop"], "alan@shop.example", errors)
    await expect(agent.locator("#me-name")).to_have_text("Alan")
    await expect(agent.locator("#nav-console")).to_be_hidden()  # the console is for owners and admins
    await agent.context.close()

    for name, size in VIEWPORTS.items():
        phone = size["width"] < 600
        person = await server.user(f"Grace {name.title()}")
        page = await sign_in(browser, server, size, "olga@shop.example", errors)
        shot = f"/tmp/inbox-start-{name}"
        try:
            await expect(page.locator("#nav-console")).to_have_attribute("href", "/inbox/console")
            await expect(page.locator("#nav-console")).to_be_visible()
            await expect(page.locator(".conversation-row").first).to_be_visible()
            await looks_right(page, f"{name}: the list")
            await page.screenshot(path=f"{shot}-list.png")

            # The button is reachable from the keyboard; the panel opens with the recipient field focused.
            await page.focus("#search")
            await page.keyboard.press("Tab")
            await expect(page.locator("#new-conversation")).to_be_focused()
            await page.keyboard.press("Enter")
            dialog = page.locator("#start-dialog")
            await expect(dialog).to_be_visible()
            await expect(page.locator("#start-to")).to_be_focused()
            await expect(page.locator("#start-template option")).to_have_count(1)
            variables = page.locator("#start-vars .template-var")
            await expect(variables.nth(0)).to_have_value("Ada")  # prefilled from the template's examples
            await expect(variables.nth(1)).to_have_value("A-1")
            # A bad number is refused with a clear message, before anything is sent.
            await page.fill("#start-to", "+1 555 12")
            await expect(page.locator("#start-to-error")).to_contain_text("not a valid phone number")
            # The search finds an existing contact by name.
            await page.fill("#start-to", "wittgen")
            await expect(page.locator(".start-contact")).to_have_count(1)
            await expect(page.locator(".start-contact-name")).to_have_text(LONG_NAME)
            await page.click(".start-contact")
            await expect(page.locator("#start-chosen-name")).to_have_text(f"{LONG_NAME} · {regular.phone}")
            await expect(page.locator("#start-price")).to_have_text("No charge")  # he wrote today: free
            await expect(page.locator("#start-price-detail")).to_have_text("Free: inside the 24-hour window")
            await page.click("#start-clear")
            await expect(page.locator("#start-to")).to_be_focused()
            # A new number: the price of this very send (utility to North America on the shipped card).
            await page.fill("#start-to", person.phone)
            await expect(page.locator("#start-price")).to_have_text("0.0034 USD")
            detail = re.compile(r"^Utility message to North America")
            await expect(page.locator("#start-price-detail")).to_have_text(detail)
            await variables.nth(0).fill(person.name)
            ready = READY.format(name=person.name)
            await expect(page.locator("#start-preview")).to_have_text(ready)
            await assert_accessible(page, f"{name}: the new conversation panel")
            await assert_fits_width(page, f"{name}: the new conversation panel")
            await page.screenshot(path=f"{shot}-panel.png")
            await page.click("#start-send")

            # The conversation opens with the template message, kept by the owner who started it.
            await expect(dialog).to_be_hidden()
            await expect(page.locator("#conv-title")).to_have_text(person.name)
            await expect(page.locator(".message.own", has_text=ready)).to_be_visible()
            await expect(page.locator("#assignee option:checked")).to_contain_text("Olga Owner (you)")
            balance = await server.container.billing.balance(waba_id)
            assert balance.held > 0  # reserved through the Cloud API send path
            if phone:
                await expect(page.locator(".list-pane")).to_be_hidden()
                await expect(page.locator("#back")).to_be_visible()
            else:
                await expect(page.locator(".conversation-row.active")).to_contain_text(person.name)

            # The long name, with the contact card open: the name stays, nothing is drawn over anything.
            if phone:
                await page.click("#back")
                await expect(page.locator(".list-pane")).to_be_visible()
                await looks_right(page, f"{name}: back to the list")
            await page.locator(".conversation-row", has_text=LONG_NAME).first.click()
            await expect(page.locator("#conv-title")).to_have_text(LONG_NAME)
            await page.click("#toggle-contact")
            await expect(page.locator("#contact-pane")).to_be_visible()
            title = await page.locator("#conv-title").bounding_box()
            assert title is not None and title["width"] >= 120, f"{name}: the contact's name is squeezed: {title}"
            await looks_right(page, f"{name}: a conversation with the contact card")
            await assert_no_overlap(page, HEADER, f"{name}: the conversation header")
            await assert_accessible(page, f"{name}: a conversation with the contact card")
            await page.screenshot(path=f"{shot}-conversation.png")
            await page.click("#toggle-contact")

            # The settings: the agents' table scrolls in its own box, the page does not.
            await page.click("#nav-settings")
            await expect(page.locator(".agent-row")).to_have_count(2)
            await looks_right(page, f"{name}: settings")
            await assert_accessible(page, f"{name}: settings")
            await page.screenshot(path=f"{shot}-settings.png")
            await page.click(".settings-tab[data-section=links]")
            await looks_right(page, f"{name}: links settings")
            await page.click("#nav-inbox")
        finally:
            await page.screenshot(path=f"{shot}-last.png")
            await page.context.close()

    # The reports page's top bar fits too, with the console link for the owner.
    reports = await sign_in(browser, server, VIEWPORTS["phone"], "olga@shop.example", errors)
    await reports.goto(server.base_url + "/inbox/reports")
    await expect(reports.locator("#nav-console")).to_be_visible()
    await looks_right(reports, "phone: reports")
    await reports.screenshot(path="/tmp/inbox-start-phone-reports.png", full_page=True)
    await reports.context.close()
    assert errors == []
