"""End to end: a business owner manages the Developers area of the console in Debian's Chromium, on a phone and
on a desktop: creates an API token (shown once, copied), uses it against the Cloud API, revokes it, points the
webhook at a local receiver (a wrong verify token refused in the API's words), sends a test event, watches it
arrive in the delivery log and redelivers it. Each step is looked at: axe-core, no sideways scrolling, nothing in
the top bar or the console's navigation drawn over something else."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import LiveServer
from tests.e2e.page_checks import VIEWPORTS, assert_looks_right, sign_in_agent
from tests.integration.business_helpers import V, create_business
from tests.integration.inbox_helpers import PASSWORD
from tests.integration.test_webhooks_support import receiver

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)
FRAME = ".topbar > *, .topbar-nav a, .console-nav a"


async def looked_at(page: Page, shot: str) -> None:
    await page.screenshot(path=f"/tmp/console-developers-{shot}.png", full_page=True)
    await assert_looks_right(page, FRAME, shot)


async def test_an_owner_rotates_a_token_and_follows_a_test_event(browser: Browser, server: LiveServer) -> None:
    errors: list[str] = []  # script errors on any page fail the test
    for name, viewport in VIEWPORTS.items():
        biz = await create_business(server, f"Dev Shop {name}")
        email = f"owner.{name}@example.com"
        await server.container.inbox.create_agent(
            int(biz.waba_id), email=email, name="Olive Owner", role="owner", password=PASSWORD
        )
        context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
        await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base_url)
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            # Sign in, then Console -> Developers.
            await sign_in_agent(page, server.base_url, email, PASSWORD, start="/inbox/console/developers")
            # The inbox's own top bar is not this area's to change: the console is one address away.
            await page.goto(server.base_url + "/inbox/console")
            await page.click("#console-nav-developers")
            await page.wait_for_url(re.compile(r"/inbox/console/developers$"))
            await expect(page.locator("h1")).to_have_text("Developers")
            await looked_at(page, f"{name}-start")

            # A new token: shown once, copied to the clipboard.
            await page.click("#token-create")
            await expect(page.locator("#token-error")).to_contain_text("Give the token a name")
            await page.fill("#token-name", "Zapier")
            await page.click("#token-create")
            secret_box = page.locator("#token-secret-value")
            await expect(secret_box).to_have_text(re.compile(r"^PRL"))
            secret = await secret_box.text_content()
            assert secret
            await page.click("#token-copy")
            await expect(page.locator("#token-copy-status")).to_have_text("Copied to the clipboard.")
            assert await page.evaluate("() => navigator.clipboard.readText()") == secret
            row = page.locator("#tokens-body tr", has_text="Zapier")
            await expect(row.locator(".dev-last-used")).to_have_text("Never")
            await looked_at(page, f"{name}-token-created")
            await page.click("#token-secret-done")
            await expect(page.locator("#token-secret")).to_be_hidden()

            # The token works against the Cloud API; the page shows it was used, and never shows it again.
            headers = {"Authorization": f"Bearer {secret}"}
            async with httpx.AsyncClient(base_url=server.base_url) as http:
                assert (await http.get(f"{V}/{biz.phone_number_id}", headers=headers)).status_code == 200
                await page.reload()
                assert secret not in await page.content()
                await expect(row.locator(".dev-last-used")).not_to_have_text("Never")

                # Revoked (the button asks once more): the Cloud API refuses it at once.
                await row.locator(".dev-revoke").click()
                await expect(row.locator(".dev-revoke")).to_have_text("Confirm revoke")
                await row.locator(".dev-revoke").click()
                await expect(row.locator(".dev-status")).to_have_text("Revoked")
                refused = await http.get(f"{V}/{biz.phone_number_id}", headers=headers)
                assert refused.status_code == 401 and refused.json()["error"]["code"] == 190

            async with receiver(verify_token="hook-secret") as rx:
                # A wrong verify token: the server's handshake fails, its words shown beside the form.
                await page.fill("#callback-url", rx.url)
                await page.fill("#verify-token", "not-it")
                await page.click("#webhook-save")
                await expect(page.locator("#webhook-error")).to_contain_text("Callback verification failed")
                await looked_at(page, f"{name}-webhook-refused")
                await page.fill("#verify-token", "hook-secret")
                await page.click("#webhook-save")
                await expect(page.locator("#webhook-saved")).to_contain_text("Verified and saved")
                await expect(page.locator("#webhook-error")).to_be_hidden()

                # A test event: it arrives at the receiver and in the log, with its attempt and latency.
                await page.click("#webhook-test")
                test_row = page.locator("#deliveries-body tr", has_text="parley_test").first
                await expect(test_row.locator(".dev-status")).to_have_text("Delivered")
                await expect(test_row.locator(".dev-attempts")).to_have_text("1")
                await expect(test_row.locator(".dev-result")).to_have_text("HTTP 200")
                await expect(test_row.locator(".dev-latency")).to_have_text(re.compile(r"^\d+ ms$"))
                await rx.wait_for(1)
                await looked_at(page, f"{name}-test-delivered")

                # Sent again on request: a second attempt, a second POST.
                await test_row.locator(".dev-redeliver").click()
                await expect(test_row.locator(".dev-attempts")).to_have_text("2")
                await expect(test_row.locator(".dev-status")).to_have_text("Delivered")
                await rx.wait_for(2)
                await page.select_option("#delivery-status", "failed")
                await expect(page.locator("#deliveries-empty")).to_be_visible()
                await page.select_option("#delivery-status", "delivered")
                await expect(page.locator("#deliveries-body tr")).to_have_count(1)
                await looked_at(page, f"{name}-redelivered")
            assert not errors, errors
        finally:
            await context.close()
