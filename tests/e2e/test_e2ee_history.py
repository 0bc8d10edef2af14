"""Chat history to a new device, in Debian's Chromium against a real `parley serve`: Alice's new phone (390 px) cannot
read what was said before it existed until her laptop (1280 px) sends it the history from Settings → Your devices;
then it reads the past messages, the pages pass axe at both widths, and the laptop signs the phone out from the same
list. The database still holds no plaintext of any message. A Python device (parley.client) sends its history to a
browser the same way."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from playwright.async_api import Browser, Dialog, Page, expect

from parley.client import E2EEDevice, ParleyClient
from tests.e2e.conftest import ServerProcess
from tests.e2e.page_checks import DESKTOP, PHONE, assert_accessible, assert_fits_width
from tests.e2e.test_e2ee_scenario import ALICE, BOB, DAVE, api, open_chat, person, send

pytestmark = pytest.mark.e2e
expect.set_options(timeout=20_000)

BEFORE = ["The spare key is under the blue flowerpot", "Got it, I will water the plants on Tuesday"]
AFTER = "Back home, thanks for everything"


@pytest.fixture
def server_env() -> dict[str, str]:
    """Alice signs in again on a new device within the minute."""
    return {"PARLEY_OTP__RESEND_INTERVAL_S": "0"}


async def open_settings(page: Page) -> None:
    if await page.locator("#back").is_visible():
        await page.click("#back")
    await page.click("#settings-open")
    await expect(page.locator("#settings")).to_be_visible()
    await expect(page.locator("#device-list .device").first).to_be_visible()


def accept_dialogs(page: Page, seen: list[str]) -> None:
    async def accept(dialog: Dialog) -> None:
        seen.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)


async def test_a_new_device_reads_the_past_once_another_device_sends_it(
    browser: Browser, live_server: ServerProcess
) -> None:
    live_server.create_user(ALICE, "Alice")
    live_server.create_user(BOB, "Bob")
    errors: list[str] = []
    laptop = await person(browser, live_server, ALICE, DESKTOP, errors)
    bob = await person(browser, live_server, BOB, DESKTOP, errors)
    await laptop.fill("#new-chat-phone", BOB)
    await laptop.click("#new-chat-open")
    await send(laptop, BEFORE[0])
    await open_chat(bob, "Alice")
    await expect(bob.locator(".message.incoming", has_text=BEFORE[0])).to_be_visible()
    await send(bob, BEFORE[1])
    await expect(laptop.locator(".message.incoming", has_text=BEFORE[1])).to_be_visible()

    # A new phone: the chat is there, its past messages wait for keys this device was never sent.
    phone = await person(browser, live_server, ALICE, PHONE, errors)
    await open_chat(phone, "Bob")
    await expect(phone.locator(".waiting-text")).to_have_count(2)
    await expect(phone.locator(".waiting-text").first).to_contain_text("Settings → Your devices")
    await expect(phone.locator(".message", has_text=BEFORE[0])).to_have_count(0)

    # On the laptop, Settings lists Alice's devices (the one the operator's CLI signed in has no keys).
    await open_settings(laptop)
    devices = laptop.locator("#device-list .device")
    await expect(devices).to_have_count(3)
    await expect(devices.first).to_contain_text("This device")
    phone_id = next(d["id"] for d in (await api(phone, "GET", "/devices"))["devices"] if d["current"])
    laptop_id = next(d["id"] for d in (await api(laptop, "GET", "/devices"))["devices"] if d["current"])
    listed = (await api(laptop, "GET", "/devices"))["devices"]
    keyless = next(d["id"] for d in listed if d["id"] not in (phone_id, laptop_id))
    dialogs: list[str] = []
    accept_dialogs(laptop, dialogs)
    await (
        laptop.locator(f'.device[data-device-id="{keyless}"]')
        .get_by_role("button", name=re.compile("^Send chat history to "))
        .click()
    )
    await expect(laptop.locator("#devices-status")).to_have_text(re.compile("hasn't set up encryption yet"))
    # "Send chat history" to the phone, after a confirmation.
    await (
        laptop.locator(f'.device[data-device-id="{phone_id}"]')
        .get_by_role("button", name=re.compile("^Send chat history to "))
        .click()
    )
    await expect(laptop.locator("#devices-status")).to_have_text(re.compile("can now read your past messages"))
    assert dialogs and all("will be able to read your past messages" in d for d in dialogs)
    await assert_accessible(laptop, "Settings → Your devices (1280 px)")

    # The phone is told, and reads the past.
    await expect(phone.locator("#history-note")).to_contain_text("Your chat history arrived")
    for text in BEFORE:
        await expect(phone.locator(".message", has_text=text)).to_be_visible()
    await expect(phone.locator(".waiting-text")).to_have_count(0)
    await send(phone, AFTER)
    await expect(bob.locator(".message.incoming", has_text=AFTER)).to_be_visible()
    await open_settings(phone)
    await assert_accessible(phone, "Settings → Your devices (390 px)")
    await assert_fits_width(phone, "Settings → Your devices (390 px)")

    # The laptop signs the phone out from the same list.
    await (
        laptop.locator(f'.device[data-device-id="{phone_id}"]')
        .get_by_role("button", name=re.compile("^Sign out "))
        .click()
    )
    await expect(laptop.locator("#devices-status")).to_have_text(re.compile("^Signed out"))
    await expect(devices).to_have_count(2)

    # What travelled between the devices was ciphertext: no message text anywhere in the database.
    with sqlite3.connect(Path(live_server.data_dir) / "parley.db") as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):  # table names from sqlite_master
                text = " ".join(str(v) for v in row if isinstance(v, str))
                assert not [t for t in [*BEFORE, AFTER] if t in text], f"{table} holds plaintext"
    assert errors == []


async def test_a_python_device_sends_its_history_to_a_browser(browser: Browser, live_server: ServerProcess) -> None:
    """parley.client exports room keys in Matrix's format, which the browser's matrix-sdk-crypto imports."""
    errors: list[str] = []
    async with (
        ParleyClient(base_url=live_server.base_url) as alice_api,
        ParleyClient(base_url=live_server.base_url) as dave_api,
    ):
        await alice_api.sign_in_with_dev_code(ALICE, name="Alice")
        alice_python = E2EEDevice(alice_api)
        await alice_python.publish()
        await dave_api.sign_in_with_dev_code(DAVE, name="Dave")
        dave = E2EEDevice(dave_api)
        await dave.publish()
        await dave.send_text("Sent before the browser existed", to=ALICE)

        page = await person(browser, live_server, ALICE, PHONE, errors)
        await open_chat(page, "Dave")
        await expect(page.locator(".waiting-text")).to_have_count(1)
        browser_device = next(d["id"] for d in (await api(page, "GET", "/devices"))["devices"] if d["current"])
        assert await alice_python.transfer_history(browser_device) >= 1
        await expect(page.locator("#history-note")).to_contain_text("Your chat history arrived")
        await expect(page.locator(".message.incoming", has_text="Sent before the browser existed")).to_be_visible()
    assert errors == []
