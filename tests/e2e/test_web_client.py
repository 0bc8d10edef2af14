"""End to end: two people chat through the web client, in Debian's Chromium, against a real `parley serve`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ALICE = "+14155550101"
BOB = "+14155550102"
SCREENSHOTS = {"alice": "/tmp/parley-web-alice.png", "bob": "/tmp/parley-web-bob.png"}

# Realtime hops (send -> stream -> ack -> receipt) take well under a second; leave room for slow CI.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser: Browser, page_errors: list[str]) -> Page:
    """A fresh browser profile (its own localStorage), so each person is a separate device."""
    context = browser.new_context(viewport={"width": 1200, "height": 760})
    page = context.new_page()
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    return page


def read_dev_code(page: Page, phone: str) -> str:
    """Reads the newest code for `phone` from the developer panel, as a developer would."""
    panel = page.locator("#dev-panel")
    expect(panel).to_be_visible()
    if panel.get_attribute("open") is None:
        page.click("#dev-panel-toggle")
    code = page.locator(f'.dev-code[data-phone="{phone}"] .dev-code-value').first
    expect(code).to_have_text(re.compile(r"\S+"))
    return code.inner_text().strip()


def sign_in(page: Page, base_url: str, phone: str) -> None:
    page.goto(base_url + "/")
    page.fill("#phone", phone)
    page.click("#request-code")
    expect(page.locator("#code")).to_be_visible()
    page.fill("#code", read_dev_code(page, phone))
    page.click("#verify")
    page.wait_for_url(re.compile(r"/app"))
    expect(page.locator("#me-phone")).to_have_text(phone)


def test_two_people_chat_live_with_ticks(browser: Browser, live_server: Any) -> None:
    live_server.create_user(ALICE, "Alice")
    live_server.create_user(BOB, "Bob")
    page_errors: list[str] = []
    alice = open_page(browser, page_errors)
    bob = open_page(browser, page_errors)
    try:
        sign_in(alice, live_server.base_url, ALICE)
        sign_in(bob, live_server.base_url, BOB)

        # Alice starts a chat from Bob's number and says hello.
        alice.fill("#new-chat-phone", BOB)
        alice.click("#new-chat-open")
        expect(alice.locator("#chat-title")).to_have_text("Bob")
        alice.fill("#composer-input", "Hello Bob")
        alice.click("#send")
        hello = alice.locator(".message.own", has_text="Hello Bob")
        expect(hello).to_have_attribute("data-message-id", re.compile(r"^\d+$"))

        # Bob's page hears it on the stream, without a reload: a new chat with one unread message.
        bob_chat = bob.locator(".chat-item", has_text="Alice")
        expect(bob_chat).to_contain_text("Hello Bob")
        expect(bob_chat.locator(".unread-badge")).to_have_text("1")
        expect(bob_chat).to_have_attribute("data-chat-id", re.compile(r"^\d+$"))

        # Bob's page acked the event, so Alice sees two grey ticks; nobody has read it yet.
        expect(hello).to_have_attribute("data-status", "delivered")
        expect(hello.locator(".tick")).to_have_attribute("data-status", "delivered")

        # Bob opens the chat: it is read, the badge goes, and Alice's ticks turn blue live.
        bob_chat.click()
        expect(bob.locator(".message.incoming", has_text="Hello Bob")).to_be_visible()
        expect(bob_chat.locator(".unread-badge")).to_have_count(0)
        expect(hello).to_have_attribute("data-status", "read")
        expect(hello.locator(".tick")).to_have_attribute("data-status", "read")

        # Bob types: Alice sees "typing…" under the chat title, then his reply arrives in her open chat.
        bob.locator("#composer-input").press_sequentially("Hi Alice", delay=50)
        expect(alice.locator("#chat-subtitle")).to_have_text(re.compile("typing"))
        bob.click("#send")
        expect(alice.locator(".message.incoming", has_text="Hi Alice")).to_be_visible()
        # Alice is looking at the chat, so the reply is read at once and never shows as unread.
        reply = bob.locator(".message.own", has_text="Hi Alice")
        expect(reply).to_have_attribute("data-status", "read")
        expect(alice.locator(".chat-item .unread-badge")).to_have_count(0)
        expect(alice.locator(".chat-item", has_text="Bob")).to_contain_text("Hi Alice")
    finally:
        alice.screenshot(path=SCREENSHOTS["alice"])
        bob.screenshot(path=SCREENSHOTS["bob"])
        alice.context.close()
        bob.context.close()
    assert page_errors == []


def test_bad_phone_number_shows_the_api_error(browser: Browser, live_server: Any) -> None:
    page_errors: list[str] = []
    page = open_page(browser, page_errors)
    try:
        page.goto(live_server.base_url + "/")
        # What the API itself says about this number: the page must show exactly that.
        answer = page.request.post(live_server.base_url + "/client/v1/auth/request-code", data={"phone": "12345"})
        assert answer.status == 400
        message = answer.json()["error"]["message"]

        page.fill("#phone", "12345")
        page.click("#request-code")
        expect(page.locator("#sign-in-error")).to_have_text(message)
        expect(page.locator("#code-form")).to_be_hidden()
        expect(page.locator("#phone-form")).to_be_visible()
    finally:
        page.context.close()
    assert page_errors == []
