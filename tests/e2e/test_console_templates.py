"""End to end: an owner manages message templates in the business console, in Debian's Chromium, on a phone-sized
screen and on a desktop one.

The owner signs in through /inbox/login, opens the console's Templates page, creates a template with a variable
and watches the live preview fill in the example, first gets the API's refusal of a bad name next to the form,
submits, sees the template in review and then rejected with the reason (the server's clock moves past the review
delay; the review loop decides and the page, polling, picks it up), edits it, sees it approved, pauses it,
resumes it and deletes it. In between, from the inbox, the approved template starts a conversation with a new
customer: the price shown, the example prefilled, the conversation open with the message.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from parley.config import Settings, TemplateSettings
from parley.templates import TemplateFilters
from tests.conftest import LiveServer
from tests.e2e.page_checks import VIEWPORTS, assert_looks_right, sign_in_agent, watch_errors

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
REVIEW_DELAY_S = 600
BARS = ".topbar > *, .topbar-product, .topbar-nav a, .topbar-me button, .console-nav a"
expect.set_options(timeout=15_000)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Reviews come ten minutes after a submission: the test sees PENDING, then moves the clock."""
    return settings.model_copy(update={"templates": TemplateSettings(review_delay_s=REVIEW_DELAY_S)})


async def owner_manages_a_template(server: LiveServer, page: Page, viewport: str, waba_id: int) -> None:
    name = f"table_ready_{viewport}"
    await sign_in_agent(page, server.base_url, "olive@bistro.example", PASSWORD)
    await page.goto(server.base_url + "/inbox/console")
    await page.click("#console-nav-templates")
    await page.wait_for_url(re.compile(r"/inbox/console/templates$"))
    await expect(page.locator("#console-nav-templates")).to_have_attribute("aria-current", "page")
    await expect(page.locator("#tpl-price-note")).to_contain_text("North America")
    await assert_looks_right(page, BARS, f"templates list ({viewport})")

    # The form: a variable in the body gets an example field, and the preview fills the example in as typed.
    await page.click("#tpl-new")
    await page.fill("#tpl-name", "Table Ready")
    await page.select_option("#tpl-category", "UTILITY")
    await expect(page.locator("#tpl-category-price")).to_contain_text("$")
    await page.select_option("#tpl-header-kind", "TEXT")
    await page.fill("#tpl-header-text", "Your table")
    await page.fill("#tpl-body", "Your table is ready, {{1}}")
    preview = page.locator("#tpl-preview .tpl-bubble-body")
    await expect(preview).to_have_text("Your table is ready, {{1}}")
    await page.get_by_label("Example for {{1}}").fill("Ada")
    await expect(preview).to_have_text("Your table is ready, Ada")
    await expect(page.locator("#tpl-preview .tpl-bubble-header")).to_have_text("Your table")
    await page.fill("#tpl-footer", "Parley Bistro")
    await page.click("[data-add-button=QUICK_REPLY]")
    await page.get_by_label("Quick reply 1: text").fill("On my way")
    await expect(page.locator("#tpl-preview .tpl-bubble-button")).to_have_text(["↩ On my way"])
    await expect(page.locator("#tpl-preview .tpl-bubble-footer")).to_have_text("Parley Bistro")

    # The API's refusal, in its words, next to the form; nothing is created.
    await page.click("#tpl-submit")
    await expect(page.locator("#tpl-form-error")).to_contain_text("template name 'Table Ready' is invalid")
    await expect(page.locator("#tpl-rows .tpl-item")).to_have_count(0)
    await assert_looks_right(page, BARS, f"template form ({viewport})")
    await page.screenshot(path=f"/tmp/console-templates-form-{viewport}.png", full_page=True)

    await page.fill("#tpl-name", name)
    await page.click("#tpl-submit")
    await expect(page.locator("#tpl-editor")).to_be_hidden()
    await expect(page.locator("#tpl-detail-title")).to_have_text(name)
    await expect(page.locator("#tpl-detail-review")).to_contain_text("In review")
    row = page.locator("#tpl-rows .tpl-item", has_text=name)
    await expect(row.locator(".tpl-status")).to_have_text("In review")
    await expect(page.locator("#tpl-detail-preview .tpl-bubble-body")).to_have_text("Your table is ready, Ada")

    # The review decides once its time comes; the page notices on its own and says why in plain words.
    server.clock.advance(seconds=REVIEW_DELAY_S + 1)
    review = page.locator("#tpl-detail-review")
    await expect(review).to_contain_text(
        "Rejected: Its layout breaks one of WhatsApp's template rules.", timeout=20_000
    )
    await expect(review).to_contain_text("the body cannot end with a variable")
    await expect(row.locator(".tpl-status")).to_have_text("Rejected")
    await page.screenshot(path=f"/tmp/console-templates-rejected-{viewport}.png", full_page=True)

    # Edited (name and language stay), it goes back to review and is approved.
    await page.click("#tpl-edit")
    await expect(page.locator("#tpl-name")).to_be_disabled()
    await expect(page.locator("#tpl-name")).to_have_value(name)
    await page.fill("#tpl-body", "Hi {{1}}, your table is ready. Please come to the front desk.")
    await expect(preview).to_have_text("Hi Ada, your table is ready. Please come to the front desk.")
    await page.click("#tpl-submit")
    await expect(review).to_contain_text("In review")
    await expect(row.locator(".tpl-status")).to_have_text("In review")
    server.clock.advance(seconds=REVIEW_DELAY_S + 1)
    await expect(review).to_contain_text("Approved", timeout=20_000)
    await expect(row.locator(".tpl-status")).to_have_text("Approved")
    await expect(page.locator("#tpl-detail-preview .tpl-bubble-body")).to_have_text(
        "Hi Ada, your table is ready. Please come to the front desk."
    )
    await assert_looks_right(page, BARS, f"template detail ({viewport})")
    await page.screenshot(path=f"/tmp/console-templates-detail-{viewport}.png", full_page=True)
    await starts_a_conversation_with_it(server, page, viewport, name)

    await page.click("#tpl-pause")
    await expect(page.locator("#tpl-detail-review")).to_contain_text("Paused by you")
    await expect(row.locator(".tpl-status")).to_have_text("Paused")
    await page.click("#tpl-resume")
    await expect(row.locator(".tpl-status")).to_have_text("Approved")

    # Delete asks first; cancelling keeps it, confirming removes every language.
    await page.click("#tpl-delete")
    await expect(page.locator("#tpl-confirm")).to_be_visible()
    await expect(page.locator("#tpl-confirm-text")).to_contain_text(name)
    await page.screenshot(path=f"/tmp/console-templates-delete-{viewport}.png")
    await page.click("#tpl-confirm-cancel")
    await expect(row).to_have_count(1)
    await page.click("#tpl-delete")
    await page.click("#tpl-confirm-delete")
    await expect(row).to_have_count(0)
    await expect(page.locator("#tpl-detail")).to_be_hidden()
    await expect(page.locator("#tpl-empty")).to_be_visible()
    scope = await server.container.business.scope_of(waba_id)
    assert await server.container.templates.rows(scope, TemplateFilters(), 10) == ([], False)


async def starts_a_conversation_with_it(server: LiveServer, page: Page, viewport: str, name: str) -> None:
    """From the console to the inbox: the template just approved opens a conversation with a new customer."""
    customer = await server.user(f"Nora {viewport.title()}")
    await page.click("#nav-inbox")
    await page.wait_for_url(re.compile(r"/inbox$"))
    await page.click("#new-conversation")
    await expect(page.locator("#start-dialog")).to_be_visible()
    await page.fill("#start-to", customer.phone)
    option = page.locator("#start-template option", has_text=name)
    await page.select_option("#start-template", await option.get_attribute("value"))
    await expect(page.locator("#start-vars .template-var").first).to_have_value("Ada")  # the example
    await page.locator("#start-vars .template-var").first.fill(customer.name)
    await expect(page.locator("#start-price")).to_have_text("0.0034 USD")  # utility to North America
    await page.click("#start-send")
    await expect(page.locator("#start-dialog")).to_be_hidden()
    await expect(page.locator("#conv-title")).to_have_text(customer.name)
    await expect(page.locator(".message.own", has_text=f"Hi {customer.name}, your table is ready.")).to_be_visible()
    await page.click("#nav-console")
    await page.click("#console-nav-templates")
    await page.wait_for_url(re.compile(r"/inbox/console/templates$"))
    await page.locator("#tpl-rows .tpl-item", has_text=name).locator(".tpl-open").click()
    await expect(page.locator("#tpl-detail-title")).to_have_text(name)


async def test_an_owner_creates_reviews_pauses_and_deletes_a_template(server: LiveServer, browser: Browser) -> None:
    created = await server.container.business.create_business("Parley Bistro", server.next_phone())
    await server.container.inbox.create_agent(
        int(created.waba_id), email="olive@bistro.example", name="Olive", role="owner", password=PASSWORD
    )
    errors: list[str] = []
    for viewport, size in VIEWPORTS.items():
        context = await browser.new_context(viewport=size)  # type: ignore[arg-type]
        page = await context.new_page()
        watch_errors(page, errors)
        try:
            await owner_manages_a_template(server, page, viewport, int(created.waba_id))
        finally:
            await context.close()
    assert errors == []
