"""End to end in Debian's Chromium: "Download my data" saves the person's archive, and "Delete my account" asks
for the number and a fresh one-time code before erasing, then signs the browser out. At phone and desktop widths,
with the accessibility check on the open dialog."""

from __future__ import annotations

import json
import zipfile
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import LiveServer, User
from tests.e2e.page_checks import DESKTOP, PHONE, assert_accessible, assert_fits_width, watch_errors
from tests.integration.test_accounts import latest_code

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)


async def signed_in(browser: Browser, server: LiveServer, person: User, errors: list[str], viewport: Any) -> Page:
    """The person's web client with their token set once (not on every load: erasure must be able to drop it)."""
    page = await (await browser.new_context(viewport=viewport, accept_downloads=True)).new_page()
    watch_errors(page, errors)
    await page.goto(server.base_url + "/")
    await page.evaluate("(token) => localStorage.setItem('parley.token', token)", person.token)
    await page.goto(server.base_url + "/app")
    await expect(page.locator("#me-phone")).to_have_text(person.phone)
    await page.click("#settings-open")
    await expect(page.locator("#export-data")).to_be_visible()
    return page


async def test_download_my_data_saves_the_archive(server: LiveServer, browser: Browser) -> None:
    alice, bob = await server.user("Alice Web"), await server.user("Bob")
    await server.send_text(alice, "words for the archive", to=bob)
    await server.send_text(bob, "bob keeps his own", to=alice)
    errors: list[str] = []
    page = await signed_in(browser, server, alice, errors, DESKTOP)
    async with page.expect_download() as info:
        await page.click("#export-data")
    download = await info.value
    assert download.suggested_filename == f"parley-data-{alice.user_id}.zip"
    with zipfile.ZipFile(await download.path()) as archive:
        sent = json.loads(archive.read("messaging.json"))["messages_sent"]
    assert [m["content"]["body"] for m in sent] == ["words for the archive"]
    await expect(page.locator("#rights-status")).to_have_text(f"Downloaded parley-data-{alice.user_id}.zip.")
    await assert_accessible(page, "desktop: settings with Your data")
    await page.screenshot(path="/tmp/web-rights-settings-desktop.png")
    # The dialog opens and closes without doing anything.
    await page.click("#erase-open")
    await expect(page.locator("#erase-dialog")).to_be_visible()
    await assert_accessible(page, "desktop: delete account dialog")
    await page.click("#erase-cancel")
    await expect(page.locator("#erase-dialog")).to_be_hidden()
    assert (await server.http.get("/client/v1/me", headers=alice.headers)).status_code == 200
    assert errors == []


async def test_delete_my_account_is_confirmed_then_signs_out(server: LiveServer, browser: Browser) -> None:
    carol, dan = await server.user("Carol Web"), await server.user("Dan")
    sent = await server.send_text(carol, "soon deleted", to=dan)
    errors: list[str] = []
    page = await signed_in(browser, server, carol, errors, PHONE)
    await page.click("#erase-open")
    await expect(page.locator("#erase-dialog")).to_be_visible()
    await assert_fits_width(page, "phone: delete account dialog")
    await assert_accessible(page, "phone: delete account dialog")
    await page.screenshot(path="/tmp/web-rights-erase-phone.png")

    # Without a code, or with the wrong one, nothing happens and the dialog says why.
    await page.fill("#erase-phone", carol.phone)
    await page.click("#erase-confirm")
    await expect(page.locator("#erase-error")).to_have_text("Type the 6-digit code we sent to your number.")
    await page.click("#erase-send-code")
    await expect(page.locator("#erase-note")).to_contain_text(f"We sent a code to {carol.phone}")
    code = await latest_code(server, carol.phone)
    await page.fill("#erase-code", f"{(int(code) + 1) % 1_000_000:06d}")
    await page.click("#erase-confirm")
    await expect(page.locator("#erase-error")).to_have_text("the code is not right")
    assert (await server.http.get("/client/v1/me", headers=carol.headers)).status_code == 200

    await page.fill("#erase-code", code)
    await page.click("#erase-confirm")
    await expect(page).to_have_url(server.base_url + "/")
    assert await page.evaluate("() => localStorage.getItem('parley.token')") is None
    assert (await server.http.get("/client/v1/me", headers=carol.headers)).status_code == 401
    history = await server.http.get(f"/client/v1/chats/{sent['chat_id']}/messages", headers=dan.headers)
    assert [m["deleted"] for m in history.json()["messages"]] == [True]
    assert [e for e in errors if "401" not in e] == []
