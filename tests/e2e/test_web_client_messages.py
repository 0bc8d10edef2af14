"""End to end: two people use the web client's message tools, each seeing the other's actions live.

From a bubble's menu (keyboard, right-click or its button) they reply, react, edit, delete for everyone and
forward; they search chats and messages; a message sent offline is delivered once when the network is back;
a picture is attached from the keyboard and sent with a caption from its preview. Chromium, at a phone's
390×844 and a desktop's 1280×800, against a live server in this test's event loop.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import Browser, FileChooser, Locator, Page, ViewportSize, expect

from tests.conftest import LiveServer, User
from tests.e2e.page_checks import (
    DESKTOP,
    PHONE,
    VIEWPORTS,
    assert_accessible,
    assert_fits_width,
    assert_no_overlap,
    sign_in_person,
    watch_errors,
)
from tests.e2e.test_web_client import small_png

pytestmark = pytest.mark.e2e

API = "/client/v1"
expect.set_options(timeout=15_000)


async def signed_in(browser: Browser, server: LiveServer, person: User, viewport: Any, errors: list[str]) -> Page:
    """A browser profile of its own, signed in through the sign-in page with the developer panel's code."""
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    watch_errors(page, errors, label=person.name)
    await sign_in_person(page, server.base_url, person.phone)
    await expect(page.locator("#me-phone")).to_have_text(person.phone)
    return page


async def back_to_chats(page: Page) -> None:
    """On a phone one pane shows at a time: the open chat's back arrow leads to the chat list."""
    if await page.locator("#back").is_visible():
        await page.click("#back")


async def open_chat(page: Page, title: str) -> None:
    await back_to_chats(page)
    await page.locator(".chat-item", has_text=title).click()
    await expect(page.locator("#chat-title")).to_have_text(title)


async def send(page: Page, text: str) -> Locator:
    await page.fill("#composer-input", text)
    await page.press("#composer-input", "Enter")
    sent = page.locator(".message.own", has_text=text).last
    await expect(sent).to_have_attribute("data-message-id", re.compile(r"^\d+$"))
    return sent


def bubble(page: Page, message_id: str) -> Locator:
    return page.locator(f'.message[data-message-id="{message_id}"]')


async def menu_item(page: Page, bubble_: Locator, name: str) -> None:
    """Opens a bubble's menu with the mouse (its button shows on hover) and picks an item."""
    await bubble_.hover()
    await bubble_.get_by_role("button", name="Message options").click()
    await page.get_by_role("menu", name="Message options").get_by_role("menuitem", name=name).click()


async def history(server: LiveServer, user: User, chat_id: str) -> list[dict[str, Any]]:
    answer = await server.http.get(f"{API}/chats/{chat_id}/messages", headers=user.headers, params={"limit": 100})
    return list(answer.json()["messages"])


async def two_people_chatting(
    browser: Browser, server: LiveServer, viewport: Any, errors: list[str]
) -> tuple[User, User, Page, Page]:
    """Alice and Bob, each in their own browser, with Alice's "Hello Bob" open in both."""
    alice_user, bob_user = await server.user("Alice"), await server.user("Bob")
    alice = await signed_in(browser, server, alice_user, viewport, errors)
    bob = await signed_in(browser, server, bob_user, viewport, errors)
    await alice.fill("#new-chat-phone", bob_user.phone)
    await alice.click("#new-chat-open")
    await expect(alice.locator("#chat-title")).to_have_text("Bob")
    await send(alice, "Hello Bob")
    await open_chat(bob, "Alice")
    await expect(bob.locator(".message.incoming", has_text="Hello Bob")).to_be_visible()
    return alice_user, bob_user, alice, bob


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
async def test_reply_and_react_from_the_message_menu(
    server: LiveServer, browser: Browser, viewport: ViewportSize
) -> None:
    errors: list[str] = []
    _, _, alice, bob = await two_people_chatting(browser, server, viewport, errors)
    width = viewport["width"]
    try:
        hello = bob.locator(".message.incoming", has_text="Hello Bob")
        hello_id = str(await hello.get_attribute("data-message-id"))

        # Bob reaches the bubble's menu button with Tab (backwards from the attach button) and opens it with Enter.
        await bob.focus("#attach-button")
        await bob.keyboard.press("Shift+Tab")
        menu_button = hello.get_by_role("button", name="Message options")
        await expect(menu_button).to_be_focused()
        await bob.keyboard.press("Enter")
        menu = bob.get_by_role("menu", name="Message options")
        await expect(menu).to_be_visible()
        await expect(menu.get_by_role("menuitem", name="Reply")).to_be_focused()
        await expect(menu.get_by_role("menuitem", name="Delete for everyone")).to_have_count(0)  # not his
        await assert_accessible(bob, f"/app with a chat and its message menu open at {width}px")
        await bob.screenshot(path=f"/tmp/webclient-messages-menu-{width}.png")
        # Arrow keys move through the items, Escape closes and gives the focus back to the button.
        await bob.keyboard.press("ArrowDown")
        await expect(menu.get_by_role("menuitem", name="Copy")).to_be_focused()
        await bob.keyboard.press("Escape")
        await expect(menu).to_be_hidden()
        await expect(menu_button).to_be_focused()

        # Reply: the composer shows the quote (with a way to cancel it), and the reply carries it to both.
        await bob.keyboard.press("Enter")
        await bob.keyboard.press("Enter")
        quote_bar = bob.locator("#composer-bar")
        await expect(quote_bar).to_contain_text("Replying to Alice")
        await expect(quote_bar).to_contain_text("Hello Bob")
        await expect(bob.locator("#composer-input")).to_be_focused()
        await assert_fits_width(bob, f"the composer with a reply's quote at {width}px")
        await assert_no_overlap(bob, "#composer-bar, #composer-bar *, #composer > *", "the reply bar and composer")
        await bob.keyboard.type("Hi Alice, good to hear from you")
        await bob.keyboard.press("Enter")
        await expect(quote_bar).to_be_hidden()
        reply = bob.locator(".message.own", has_text="good to hear from you")
        await expect(reply).to_have_attribute("data-message-id", re.compile(r"^\d+$"))
        await expect(reply.locator(".quote")).to_contain_text("Hello Bob")
        alice_reply = alice.locator(".message.incoming", has_text="good to hear from you")
        await expect(alice_reply.locator(".quote-sender")).to_have_text("You")
        await expect(alice_reply.locator(".quote-text")).to_have_text("Hello Bob")
        # A reply can be cancelled before it is sent: then nothing is quoted.
        await menu_item(bob, hello, "Reply")
        await quote_bar.get_by_role("button", name="Cancel reply").click()
        await expect(quote_bar).to_be_hidden()

        # React: Alice picks 👍 from the menu's row; Bob sees it live; the same again takes it back.
        reply_id = str(await alice_reply.get_attribute("data-message-id"))
        await menu_item(alice, alice_reply, "React 👍")
        bob_reply = bubble(bob, reply_id)
        await expect(bob_reply.locator(".reaction")).to_have_text("👍")
        await menu_item(alice, alice_reply, "React 👍 (yours: removes it)")
        await expect(bob_reply.locator(".reaction")).to_have_count(0)
        # The small picker, by right-click on the bubble: any emoji of the grid.
        await alice_reply.click(button="right")
        await alice.get_by_role("menuitem", name="More reactions").click()
        picker = alice.get_by_role("dialog", name="Pick a reaction")
        await picker.get_by_role("button", name="🎉").click()
        await expect(bob_reply.locator(".reaction")).to_have_text("🎉")
        await expect(alice_reply.locator(".reaction.mine")).to_have_text("🎉")
        await expect(bubble(alice, hello_id)).to_be_visible()
        await bob.screenshot(path=f"/tmp/webclient-messages-bob-{width}.png")
        await alice.screenshot(path=f"/tmp/webclient-messages-alice-{width}.png")
    finally:
        await alice.context.close()
        await bob.context.close()
    assert errors == []


async def test_edit_delete_forward_and_search(server: LiveServer, browser: Browser) -> None:
    errors: list[str] = []
    alice_user, bob_user, alice, bob = await two_people_chatting(browser, server, DESKTOP, errors)
    carol = await server.user("Carol")
    try:
        # Edit: Alice changes her message from the menu; both see the new words, marked "edited".
        plan = await send(alice, "See you at 8")
        plan_id = str(await plan.get_attribute("data-message-id"))
        await menu_item(alice, plan, "Edit")
        await expect(alice.locator("#composer-input")).to_have_value("See you at 8")
        await alice.fill("#composer-input", "See you at 9")
        await alice.press("#composer-input", "Enter")
        for page in (alice, bob):
            await expect(bubble(page, plan_id)).to_contain_text("See you at 9")
            await expect(bubble(page, plan_id).locator(".edited")).to_have_text("edited")

        # Delete for everyone, after confirming: both see the placeholder.
        await menu_item(alice, bubble(alice, plan_id), "Delete for everyone")
        confirm = alice.get_by_role("dialog", name="Delete this message for everyone?")
        await confirm.get_by_role("button", name="Delete for everyone").click()
        for page in (alice, bob):
            await expect(bubble(page, plan_id)).to_contain_text("This message was deleted")
        await expect(bubble(bob, plan_id).get_by_role("button", name="Message options")).to_have_count(0)

        # Forward: Carol's news, forwarded by Alice to Bob, arrives marked "Forwarded" in Bob's open chat.
        await server.send_text(carol, "The hike moved to Sunday", to=alice_user)
        await open_chat(alice, "Carol")
        news = alice.locator(".message.incoming", has_text="hike moved")
        await menu_item(alice, news, "Forward")
        dialog = alice.get_by_role("dialog", name="Forward message")
        await dialog.get_by_role("checkbox", name="Bob").check()
        await alice.screenshot(path="/tmp/webclient-messages-forward-1280.png")
        await assert_accessible(alice, "/app with the forward dialog open")
        await dialog.get_by_role("button", name="Forward").click()
        await expect(dialog).to_be_hidden()
        forwarded = bob.locator(".message.incoming", has_text="hike moved")
        await expect(forwarded.locator(".forwarded-mark")).to_have_text("Forwarded")

        # Search: a chat by name, and a message far back in a long chat, opened scrolled to and highlighted.
        older = await server.send_text(alice_user, "The cabin code is 4711", to=bob_user)
        for n in range(60):
            await server.send_text(alice_user, f"chatter {n}", to=bob_user)
        await server.send_text(carol, "Are you coming?", to=bob_user)
        await open_chat(bob, "Carol")
        await back_to_chats(bob)
        search = bob.get_by_role("searchbox", name="Search chats and messages")
        await search.fill("caro")
        await expect(bob.locator(".chat-item")).to_have_text([re.compile("Carol")])
        await search.fill("cabin code")
        await expect(bob.locator(".chat-item")).to_have_count(0)
        hit = bob.get_by_role("region", name="Messages found").locator(".search-hit")
        await expect(hit).to_have_count(1)
        await expect(hit).to_contain_text("The cabin code is 4711")
        await hit.click()
        found = bubble(bob, older["id"])
        await expect(found).to_be_in_viewport()
        await expect(found).to_have_class(re.compile("highlight"))
        await expect(bob.locator("#chat-title")).to_have_text("Alice")
        await bob.screenshot(path="/tmp/webclient-messages-search-1280.png")

        # A reply to that old message: Alice's page has only the newest messages loaded, yet shows the quote.
        await menu_item(bob, found, "Reply")
        await send(bob, "Got it, thanks")
        await open_chat(alice, "Bob")
        answer = alice.locator(".message.incoming", has_text="Got it, thanks")
        await expect(answer.locator(".quote-sender")).to_have_text("You")
        await expect(answer.locator(".quote-text")).to_have_text("The cabin code is 4711")
        await expect(bubble(alice, older["id"])).to_have_count(0)  # not loaded: the server described it
    finally:
        await alice.context.close()
        await bob.context.close()
    assert errors == []


async def test_offline_send_is_retried_once_and_a_picture_goes_from_the_keyboard(
    server: LiveServer, browser: Browser
) -> None:
    errors: list[str] = []
    alice_user, bob_user, alice, bob = await two_people_chatting(browser, server, PHONE, errors)
    # Listening from the start: Playwright then intercepts every file chooser the page opens.
    choosers: asyncio.Queue[FileChooser] = asyncio.Queue()
    alice.on("filechooser", choosers.put_nowait)
    try:
        # A full chat, scrolled to its newest message.
        for n in range(15):
            await server.send_text(bob_user, f"line {n}", to=alice_user)
        await expect(alice.locator(".message.incoming", has_text="line 14")).to_be_in_viewport()

        # The network drops: the send fails and says so, with the error bar below it, not over it.
        await alice.context.set_offline(True)
        await alice.fill("#composer-input", "Sent while offline")
        await alice.press("#composer-input", "Enter")
        stranded = alice.locator(".message.own", has_text="Sent while offline")
        await expect(stranded).to_have_attribute("data-status", "failed")
        await expect(stranded.locator(".retry")).to_have_text("Not sent · Tap to retry")
        error_bar = alice.locator("#chat-error")
        await expect(error_bar).to_be_visible()
        await alice.wait_for_timeout(300)  # the list follows its newest message after the bar appeared
        bubble_box, bar_box, pane_box = (
            await stranded.bounding_box(),
            await error_bar.bounding_box(),
            await alice.locator("#messages").bounding_box(),
        )
        assert bubble_box and bar_box and pane_box
        assert bubble_box["y"] + bubble_box["height"] <= min(bar_box["y"], pane_box["y"] + pane_box["height"]) + 1
        await alice.screenshot(path="/tmp/webclient-messages-offline-390.png")

        # Back online: it goes by itself, exactly once, and Bob gets it.
        await alice.context.set_offline(False)
        await expect(stranded).to_have_attribute("data-status", re.compile("sent|delivered|read"))
        await expect(bob.locator(".message.incoming", has_text="Sent while offline")).to_have_count(1)
        await expect(error_bar).to_be_hidden(timeout=2000)  # at once, not when it would time out (8 s)
        chat_id = str((await server.http.get(f"{API}/chats", headers=bob_user.headers)).json()["chats"][0]["id"])
        # End-to-end encrypted, so the server holds it unread: Alice's "Hello Bob" and this one, each once.
        sent = [m for m in await history(server, bob_user, chat_id) if m["sender_id"] == alice_user.user_id]
        assert [m["type"] for m in sent] == ["encrypted", "encrypted"]

        # The emoji button, from the keyboard: a grid, arrow keys, Enter puts one in the message.
        await alice.focus("#composer-input")
        await alice.keyboard.press("Shift+Tab")
        await expect(alice.get_by_role("button", name="Emoji")).to_be_focused()
        await alice.keyboard.press("Enter")
        grid = alice.get_by_role("dialog", name="Emoji")
        await expect(grid).to_be_visible()
        await alice.screenshot(path="/tmp/webclient-messages-emoji-390.png")
        await alice.keyboard.press("ArrowRight")
        await alice.keyboard.press("Enter")
        await expect(grid).to_be_hidden()
        await expect(alice.locator("#composer-input")).to_have_value("😃")
        await alice.fill("#composer-input", "")

        # Attach from the keyboard: Tab to the button, Enter opens the chooser; the preview takes a caption.
        await alice.keyboard.press("Shift+Tab")
        await alice.keyboard.press("Shift+Tab")
        await expect(alice.get_by_role("button", name="Attach a file")).to_be_focused()
        await alice.keyboard.press("Enter")
        chooser = await asyncio.wait_for(choosers.get(), 15)
        await chooser.set_files(files=[{"name": "sunset.png", "mimeType": "image/png", "buffer": small_png(120, 80)}])
        preview = alice.get_by_role("dialog", name="Send a photo")
        await expect(preview.locator("img")).to_have_attribute("src", re.compile(r"^blob:"))
        await expect(preview.get_by_role("textbox", name="Caption")).to_be_focused()
        await alice.screenshot(path="/tmp/webclient-messages-preview-390.png")
        await alice.keyboard.type("Sunset at the lake")
        await alice.keyboard.press("Enter")
        await expect(preview).to_be_hidden()
        picture = bob.locator(".message.incoming.has-media", has_text="Sunset at the lake")
        await expect(picture.locator("img")).to_have_attribute("src", re.compile(r"^blob:"))
        await bob.screenshot(path="/tmp/webclient-messages-picture-390.png")
    finally:
        await alice.context.close()
        await bob.context.close()
    assert errors == [], errors
