"""End to end: the people's basics of the web client in Debian's Chromium, at a phone's and a desktop's width.

Click-to-chat signed in and signed out (the chat opens with the link's text, and the business's webhook gets the
referral); group info (add, remove, admin, leave) seen live by another member; the settings panel (name, photo,
who sees my last seen) and the other person's header (online / last seen / nothing); and the page checks a person
would make by looking: no accessibility violation, nothing past the screen's edge, nothing drawn over another.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import LiveServer, User
from tests.e2e.page_checks import DESKTOP, PHONE, assert_accessible, assert_fits_width, assert_no_overlap, watch_errors
from tests.integration.business_helpers import V, create_business, inbound
from tests.integration.test_media import png

pytestmark = pytest.mark.e2e
API = "/client/v1"
expect.set_options(timeout=15_000)
HOSTILE = '<img src=x onerror="window.hacked=1">Hi & <b>welcome</b>'
SIDEBAR_HEADER = "#me, #settings-open, #sign-out"
CHAT_HEADER = "#back, #chat-avatar, #chat-heading, #chat-info"
CHAT_ROWS = ".chat-item-row > *"


async def new_page(
    browser: Browser, errors: list[str], viewport: Any, person: User | None = None, **options: Any
) -> Page:
    """A browser profile of its own; signed in as `person` (their device token) when given."""
    context = await browser.new_context(viewport=viewport, **options)
    if person is not None:
        await context.add_init_script(f"localStorage.setItem('parley.token', {person.token!r});")
    page = await context.new_page()
    watch_errors(page, errors)
    return page


async def person_page(browser: Browser, server: LiveServer, person: User, errors: list[str], viewport: Any) -> Page:
    page = await new_page(browser, errors, viewport, person)
    await page.goto(server.base_url + "/app")
    await expect(page.locator("#me-phone")).to_have_text(person.phone)
    return page


async def open_chat(page: Page, title: str) -> None:
    await page.locator(".chat-item", has_text=title).click()
    await expect(page.locator("#chat-title")).to_have_text(title)


async def back_to_chats(page: Page) -> None:
    if await page.locator("#back").is_visible():
        await page.click("#back")
    await expect(page.locator("#chat-list")).to_be_visible()


async def check_layout(page: Page, what: str) -> None:
    await assert_fits_width(page, what)
    if await page.locator("#chat-list").is_visible():
        await assert_no_overlap(page, SIDEBAR_HEADER, f"{what}: sidebar header")
        await assert_no_overlap(page, CHAT_ROWS, f"{what}: chat list rows")
    if await page.locator("#chat-view").is_visible():
        await assert_no_overlap(page, CHAT_HEADER, f"{what}: chat header")


async def looks_again(page: Page) -> None:
    """The person comes back to the window (the header's presence is refreshed then, and every 10 s anyway)."""
    await page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")


async def click_to_chat_link(server: LiveServer) -> tuple[Any, str]:
    biz = await create_business(server, "Acme Coffee")
    created = await server.http.post(
        f"{V}/{biz.phone_number_id}/referral_links",
        headers=biz.headers,
        json={"headline": "Summer latte", "source_url": "https://ads.example/latte", "prefilled_text": HOSTILE},
    )
    assert created.status_code == 200, created.text
    return biz, created.json()["code"]


async def sends_prefilled_text(page: Page) -> None:
    """The chat is open with the link's text in the composer, as text; sending it sends it."""
    await expect(page.locator("#chat-view")).to_be_visible()
    await expect(page.locator("#composer-input")).to_have_value(HOSTILE)
    assert await page.evaluate("() => window.hacked") is None
    await page.click("#send")
    sent = page.locator(".message.own", has_text="welcome").last
    await expect(sent).to_have_attribute("data-message-id", re.compile(r"^\d+$"))
    await expect(sent.locator(".text")).to_have_text(HOSTILE)
    assert await page.locator(".message img[src='x']").count() == 0
    await expect(page.locator(".chat-item", has_text="Acme Coffee")).to_have_count(1)


async def test_click_to_chat_opens_the_chat_with_the_text_signed_in_and_after_signing_in(
    server: LiveServer, browser: Browser
) -> None:
    biz, code = await click_to_chat_link(server)
    ada, bea = await server.user("Ada"), await server.user("Bea")
    errors: list[str] = []

    # Signed in, on a phone: the link opens the business's chat (new to her) with the text ready to send.
    page = await new_page(browser, errors, PHONE, ada)
    await page.goto(f"{server.base_url}/c/{code}?ref=summer")
    await expect(page.locator("#chat-title")).to_have_text("Acme Coffee")
    await check_layout(page, "phone, chat from a link")
    await page.screenshot(path="/tmp/webclient-people-link-phone.png")
    await sends_prefilled_text(page)
    [first] = await inbound(server, biz)
    referral = first["messages"][0]["referral"]
    assert referral["headline"] == "Summer latte" and referral["source_url"] == "https://ads.example/latte"
    assert first["messages"][0]["text"]["body"] == HOSTILE
    clid = referral["ctwa_clid"]
    # The number may also come as bare digits: the same chat opens (no second chat, no click id to send).
    await page.goto(f"{server.base_url}/app#chat={biz.phone.lstrip('+')}&text=One%20more%2C%20please")
    await page.reload()  # a hash change alone does not load the page again
    await expect(page.locator("#composer-input")).to_have_value("One more, please")
    await expect(page.locator(".message.own", has_text="welcome")).to_have_count(1)
    await page.context.close()

    # Signed out, at a desktop (another browser: a click of its own): the sign-in, then the same chat.
    page = await new_page(browser, errors, DESKTOP, user_agent="Parley-e2e second browser")
    await page.goto(f"{server.base_url}/c/{code}")
    await page.wait_for_url(re.compile(r"/$"))
    await assert_accessible(page, "desktop sign-in")
    await page.fill("#phone", bea.phone)
    await page.click("#request-code")
    await expect(page.locator("#code")).to_be_visible()
    code_value = page.locator(f'.dev-code[data-phone="{bea.phone}"] .dev-code-value').first
    await expect(code_value).to_have_text(re.compile(r"\d{6}"))
    await page.fill("#code", (await code_value.inner_text()).strip())
    await page.click("#verify")
    await expect(page.locator("#chat-title")).to_have_text("Acme Coffee")
    assert "text=" not in page.url  # the prefill happens once: a reload does not bring it back
    await sends_prefilled_text(page)
    second = (await inbound(server, biz))[1]["messages"][0]
    assert second["from"] == bea.phone.lstrip("+")
    assert second["referral"]["headline"] == "Summer latte" and second["referral"]["ctwa_clid"] != clid
    await page.screenshot(path="/tmp/webclient-people-link-desktop.png")
    await page.context.close()
    assert errors == []


async def test_group_info_changes_are_seen_live_by_another_member(server: LiveServer, browser: Browser) -> None:
    ada, bob, cy = await server.user("Ada"), await server.user("Bob"), await server.user("Cy")
    await server.send_text(ada, "hi Cy", to=cy)  # Cy is one of Ada's contacts
    created = await server.http.post(
        f"{API}/groups", headers=ada.headers, json={"name": "Hike crew", "members": [bob.phone]}
    )
    assert created.status_code == 200, created.text
    errors: list[str] = []
    admin = await person_page(browser, server, ada, errors, DESKTOP)
    member = await person_page(browser, server, bob, errors, PHONE)
    try:
        for page in (admin, member):
            await open_chat(page, "Hike crew")
            await check_layout(page, "group chat")  # its header has the group info button too
            await page.click("#chat-heading")
            await expect(page.locator("#group-info")).to_be_visible()
            await expect(page.locator("#group-info-name")).to_have_text("Hike crew")
        await expect(admin.locator(".member")).to_have_count(2)
        await expect(admin.locator('.member[data-role="admin"] .member-name')).to_have_text("You")
        # Bob is no admin: he can leave, but he cannot add, remove or promote.
        await expect(member.locator("#group-add-member")).to_be_hidden()
        await expect(member.locator(".member-remove")).to_have_count(0)
        await assert_accessible(admin, "desktop group info")
        await assert_fits_width(member, "phone group info")

        # Ada adds Cy from her contacts: both panels list Cy.
        await expect(admin.locator("#group-add-contacts option")).to_have_attribute("value", cy.phone)
        await admin.fill("#group-add-phone", cy.phone)
        await admin.click("#group-add-submit")
        await expect(admin.locator(".member")).to_have_count(3)
        await expect(member.locator(".member", has_text="Cy")).to_be_visible()
        await member.screenshot(path="/tmp/webclient-people-group-phone.png")

        # Ada makes Bob an admin: his panel now offers him the admin's actions.
        bob_row = admin.locator(f'.member[data-user-id="{bob.user_id}"]')
        await bob_row.get_by_role("button", name="Make Bob an admin").click()
        await expect(bob_row).to_have_attribute("data-role", "admin")
        await expect(member.locator(f'.member[data-user-id="{bob.user_id}"]')).to_have_attribute("data-role", "admin")
        await expect(member.locator("#group-add-member")).to_be_visible()
        await bob_row.get_by_role("button", name="Dismiss Bob as admin").click()
        await expect(member.locator("#group-add-member")).to_be_hidden()

        # Ada removes Cy; Bob sees it. Then Bob leaves: the group is gone from his chats, and Ada's panel says so.
        await admin.locator(f'.member[data-user-id="{cy.user_id}"]').get_by_role("button", name="Remove Cy").click()
        await expect(member.locator(".member")).to_have_count(2)
        await admin.screenshot(path="/tmp/webclient-people-group-desktop.png")
        await member.click("#group-leave")
        await expect(member.locator(".chat-item", has_text="Hike crew")).to_have_count(0)
        await expect(admin.locator(".member")).to_have_count(1)
        group = (await server.http.get(f"{API}/groups/{created.json()['id']}", headers=ada.headers)).json()
        assert [m["user_id"] for m in group["members"]] == [ada.user_id]
    finally:
        await admin.context.close()
        await member.context.close()
    assert errors == []


async def test_settings_change_profile_and_last_seen_which_the_other_header_follows(
    server: LiveServer, browser: Browser
) -> None:
    ada, bob = await server.user("Ada"), await server.user("Bob")
    await server.send_text(ada, "hi Bob", to=bob)
    await server.send_text(bob, "hi Ada, shall we hike?", to=ada)
    errors: list[str] = []
    watcher = await person_page(browser, server, ada, errors, DESKTOP)
    other = await person_page(browser, server, bob, errors, PHONE)
    try:
        for page, what in ((watcher, "desktop"), (other, "phone")):
            await check_layout(page, f"{what} chat list")
            await assert_accessible(page, f"{what} chat list")
        await open_chat(watcher, "Bob")
        subtitle = watcher.locator("#chat-subtitle")
        await expect(subtitle).to_have_text("online")  # Bob's page holds a live stream

        # Bob changes his name and photo in the settings panel (no prompt), at a phone's width.
        await other.click("#me")
        await expect(other.locator("#settings")).to_be_visible()
        await expect(other.locator("#profile-name")).to_be_focused()
        await other.fill("#profile-name", "Bobby Tables")
        await other.click("#profile-save")
        await expect(other.locator("#me-name")).to_have_text("Bobby Tables")
        await other.set_input_files(
            "#photo-input", files=[{"name": "me.png", "mimeType": "image/png", "buffer": png(8, 8)}]
        )
        await expect(other.locator("#me-avatar img.avatar-photo")).to_be_visible()
        await expect(other.locator("#photo-remove")).to_be_visible()
        await check_layout(other, "phone settings")
        await assert_accessible(other, "phone settings")
        await other.screenshot(path="/tmp/webclient-people-settings-phone.png")

        # Bob hides his last seen: Ada's header shows nothing of it, and the API tells her nothing either.
        await other.locator('#last-seen input[value="nobody"]').check()
        await expect(other.locator("#settings-status")).to_have_text("Saved")
        await looks_again(watcher)
        await expect(subtitle).not_to_have_text(re.compile("online|last seen"))
        seen = await server.http.get(f"{API}/users/{bob.user_id}/presence", headers=ada.headers)
        assert seen.json() == {"online": False, "last_seen": None}

        # Shared again, then Bob closes his page: "last seen today at …" in Ada's local time.
        await other.locator('#last-seen input[value="everyone"]').check()
        await expect(other.locator("#settings-status")).to_have_text("Saved")
        await looks_again(watcher)
        await expect(subtitle).to_have_text("online")
        await other.context.close()
        # Within one refresh (10 s) without Ada doing anything.
        await expect(subtitle).to_have_text(re.compile(r"^last seen today at \d"), timeout=25_000)

        # Ada reloads: Bob's new name and photo are in her chat list and header.
        await watcher.reload()
        await open_chat(watcher, "Bobby Tables")
        await expect(watcher.locator("#chat-avatar img.avatar-photo")).to_be_visible()
        await expect(watcher.locator(".chat-item", has_text="Bobby Tables").locator("img.avatar-photo")).to_be_visible()

        # Ada hides her own: as on WhatsApp she no longer sees Bob's.
        await watcher.click("#settings-open")
        await watcher.locator('#last-seen input[value="nobody"]').check()
        await expect(subtitle).not_to_have_text(re.compile("last seen"))
        await check_layout(watcher, "desktop chat and settings")
        await assert_accessible(watcher, "desktop chat and settings")
        await watcher.screenshot(path="/tmp/webclient-people-settings-desktop.png")
    finally:
        await watcher.context.close()
        if not other.is_closed():
            await other.context.close()
    assert errors == []


async def test_phone_shows_the_list_or_the_chat_and_both_widths_fit(server: LiveServer, browser: Browser) -> None:
    long_name = "Maximilian Alexander Fitzgerald-Montgomery"
    ada, bob = await server.user(long_name), await server.user("Bob")
    errors: list[str] = []
    for viewport, what in ((PHONE, "phone"), (DESKTOP, "desktop")):
        for text in ("one", "two", "three"):
            await server.send_text(bob, f"{text} ({what})", to=ada)  # an unread badge and a time in the row
        signed_out = await new_page(browser, errors, viewport)
        await signed_out.goto(server.base_url + "/")
        await assert_accessible(signed_out, f"{what} sign-in")
        await assert_fits_width(signed_out, f"{what} sign-in")
        await signed_out.context.close()

        page = await person_page(browser, server, ada, errors, viewport)
        try:
            await expect(page.locator(".unread-badge")).to_have_text("3")
            await check_layout(page, f"{what} chat list")
            await assert_accessible(page, f"{what} chat list")
            await open_chat(page, "Bob")
            await check_layout(page, f"{what} open chat")
            await assert_accessible(page, f"{what} open chat")
            if viewport is PHONE:
                # One pane at a time: the chat, with a way back to the list.
                await expect(page.locator("#chat-list")).to_be_hidden()
                await back_to_chats(page)
                await expect(page.locator("#chat-view")).to_be_hidden()
            else:
                await expect(page.locator("#chat-list")).to_be_visible()
            await page.screenshot(path=f"/tmp/webclient-people-layout-{what}.png")
        finally:
            await page.context.close()
    assert errors == []
