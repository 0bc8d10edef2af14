"""End to end: two people chat through the web client, in Debian's Chromium, against a real `parley serve`."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, FilePayload, Page, ViewportSize, expect, sync_playwright

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ALICE = "+14155550101"
BOB = "+14155550102"
CAROL = "+14155550103"
SCREENSHOTS = {"alice": "/tmp/parley-web-alice.png", "bob": "/tmp/parley-web-bob.png"}

# Realtime hops (send -> stream -> ack -> receipt) take well under a second; leave room for slow CI.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


DESKTOP: ViewportSize = {"width": 1200, "height": 760}
PHONE: ViewportSize = {"width": 390, "height": 844}


def open_page(browser: Browser, page_errors: list[str], viewport: ViewportSize = DESKTOP) -> Page:
    """A fresh browser profile (its own localStorage), so each person is a separate device."""
    context = browser.new_context(viewport=viewport)
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


def small_png(width: int = 64, height: int = 40) -> bytes:
    """A real PNG (a colour gradient), made here so the test ships no binary file."""
    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 160)) for x in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def api_as(page: Page, base_url: str, token: str, method: str, path: str, body: Any = None) -> Any:
    """Calls the client API as someone else (another device), to change things under the page's feet."""
    answer = page.request.fetch(
        f"{base_url}/client/v1{path}", method=method, data=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.ok, answer.text()
    return answer.json() if answer.status != 204 else None


def test_group_picture_and_live_changes(browser: Browser, live_server: Any) -> None:
    live_server.create_user(ALICE, "Alice")
    live_server.create_user(BOB, "Bob")
    carol = live_server.create_user(CAROL, "Carol")  # Carol uses another app: only her token here
    base = live_server.base_url
    page_errors: list[str] = []
    alice = open_page(browser, page_errors)
    bob = open_page(browser, page_errors)
    try:
        sign_in(alice, base, ALICE)
        sign_in(bob, base, BOB)

        # Alice creates a group; it shows up on Bob's page without a message or a reload.
        alice.click("#new-group summary")
        alice.fill("#new-group-name", "Weekend hike")
        alice.fill("#new-group-members", f"{BOB}, {CAROL}")
        alice.click("#new-group-create")
        expect(alice.locator("#chat-title")).to_have_text("Weekend hike")
        expect(alice.locator("#chat-subtitle")).to_contain_text("Carol")
        bob_group = bob.locator(".chat-item", has_text="Weekend hike")
        expect(bob_group).to_be_visible()

        # A picture with a caption: uploaded, sent, and shown from a blob: URL (media need the token).
        alice.fill("#composer-input", "Sunset!")
        sunset: FilePayload = {"name": "sunset.png", "mimeType": "image/png", "buffer": small_png()}
        alice.set_input_files("#attach", files=[sunset])
        # The picture shows in a preview first, its caption taken from what was typed; Send sends it.
        preview = alice.get_by_role("dialog", name="Send a photo")
        expect(preview.get_by_role("textbox", name="Caption")).to_have_value("Sunset!")
        preview.get_by_role("button", name="Send").click()
        picture = alice.locator(".message.own.has-media", has_text="Sunset!")
        expect(picture).to_have_attribute("data-message-id", re.compile(r"^\d+$"))
        expect(picture.locator("img")).to_have_attribute("src", re.compile(r"^blob:"))
        alice.fill("#composer-input", "See you at 8")
        alice.click("#send")
        plan = alice.locator(".message.own", has_text="See you at 8")
        expect(plan).to_have_attribute("data-message-id", re.compile(r"^\d+$"))

        expect(bob_group.locator(".unread-badge")).to_have_text("2")
        bob_group.click()
        bob_picture = bob.locator(".message.incoming.has-media", has_text="Sunset!")
        expect(bob_picture.locator("img")).to_have_attribute("src", re.compile(r"^blob:"))
        expect(bob_picture.locator(".sender")).to_have_text("Alice")

        # Bob has read both, Carol neither: a group message is read only once everyone has read it.
        expect(bob_group.locator(".unread-badge")).to_have_count(0)
        expect(plan).not_to_have_attribute("data-status", "read")
        plan_id = plan.get_attribute("data-message-id")
        api_as(bob, base, carol["token"], "POST", f"/messages/{plan_id}/read")
        expect(plan).to_have_attribute("data-status", "read")
        expect(picture).to_have_attribute("data-status", "read")

        # Changes made elsewhere show up live: an edit (end-to-end encrypted: made in Alice's page), a reaction,
        # a deletion.
        alice_token = alice.evaluate("localStorage.getItem('parley.token')")
        plan.click(button="right")
        alice.get_by_role("menuitem", name="Edit").click()
        alice.fill("#composer-input", "See you at 9")
        alice.press("#composer-input", "Enter")
        bob_plan = bob.locator(f'.message[data-message-id="{plan_id}"]')
        expect(bob_plan).to_contain_text("See you at 9")
        expect(bob_plan.locator(".edited")).to_have_text("edited")
        api_as(bob, base, carol["token"], "POST", f"/messages/{plan_id}/reactions", {"emoji": "👍"})
        expect(bob_plan.locator(".reaction")).to_have_count(1)
        picture_id = picture.get_attribute("data-message-id")
        api_as(alice, base, alice_token, "DELETE", f"/messages/{picture_id}")
        expect(bob.locator(f'.message[data-message-id="{picture_id}"]')).to_contain_text("This message was deleted")
    finally:
        alice.screenshot(path="/tmp/parley-web-group-alice.png")
        bob.screenshot(path="/tmp/parley-web-group-bob.png")
        alice.context.close()
        bob.context.close()
    assert page_errors == []


def test_reconnects_and_retries_after_a_server_crash(browser: Browser, live_server: Any) -> None:
    live_server.create_user(ALICE, "Alice")
    bob = live_server.create_user(BOB, "Bob")  # Bob uses another app: only his token here
    base = live_server.base_url
    page_errors: list[str] = []
    alice = open_page(browser, page_errors)
    try:
        sign_in(alice, base, ALICE)
        alice.fill("#new-chat-phone", BOB)
        alice.click("#new-chat-open")
        alice.fill("#composer-input", "Before the crash")
        alice.click("#send")
        expect(alice.locator(".message.own", has_text="Before the crash")).to_have_attribute("data-status", "sent")

        # The server dies: the page says so, and a message sent meanwhile is kept as "not sent".
        live_server.kill()
        expect(alice.locator("#connection")).to_contain_text("Not connected")
        alice.fill("#composer-input", "While it was down")
        alice.click("#send")
        stranded = alice.locator(".message.own", has_text="While it was down")
        expect(stranded).to_have_attribute("data-status", "failed")

        # It comes back: the socket reconnects on its own, and events flow again.
        live_server.start()
        # On its own schedule: the back-off has grown while the server was down (at most 30 s, +20 % jitter).
        expect(alice.locator("#connection")).to_be_hidden(timeout=45_000)
        hello = {"to": ALICE, "type": "text", "text": {"body": "I'm back"}, "client_id": "bob-1"}
        api_as(alice, base, bob["token"], "POST", "/messages", hello)
        expect(alice.locator(".message.incoming", has_text="I'm back")).to_be_visible()

        # The page sends it again by itself once connected (with the same client_id, so never a copy).
        expect(stranded).to_have_attribute("data-status", "sent")
        expect(stranded).to_have_attribute("data-message-id", re.compile(r"^\d+$"))
        alice.reload()
        expect(alice.locator(".message.own", has_text="While it was down")).to_have_count(1)
    finally:
        alice.context.close()
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


def test_a_second_window_takes_the_stream_and_use_here_takes_it_back(browser: Browser, live_server: Any) -> None:
    live_server.create_user(ALICE, "Alice")
    page_errors: list[str] = []
    first = open_page(browser, page_errors)
    try:
        sign_in(first, live_server.base_url, ALICE)
        second = first.context.new_page()  # the same browser profile: the same device token
        second.goto(live_server.base_url + "/app")
        expect(second.locator("#me-phone")).to_have_text(ALICE)
        banner = first.locator("#connection")
        expect(banner).to_contain_text("open in another window")
        banner.get_by_role("button", name="Use here").click()
        expect(banner).to_be_hidden()
        expect(second.locator("#connection")).to_contain_text("open in another window")
    finally:
        first.context.close()
    assert page_errors == []


def back_to_chats(page: Page) -> None:
    """On a phone one pane shows at a time: the open chat's back arrow leads to the chat list."""
    if page.locator("#back").is_visible():
        page.click("#back")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_nobody_may_add_me_so_i_join_from_the_invitation(
    browser: Browser, live_server: Any, viewport: ViewportSize
) -> None:
    alice_api = live_server.create_user(ALICE, "Alice")["token"]  # Alice's phone, besides her browser
    live_server.create_user(BOB, "Bob")
    live_server.create_user(CAROL, "Carol")
    base = live_server.base_url
    page_errors: list[str] = []
    alice = open_page(browser, page_errors, viewport)
    bob = open_page(browser, page_errors, viewport)
    try:
        sign_in(alice, base, ALICE)
        sign_in(bob, base, BOB)

        # Bob opens the settings from the sidebar and says nobody may add him to groups; it sticks.
        bob.get_by_role("button", name="Settings").click()
        panel = bob.get_by_role("region", name="Settings")
        choice = panel.get_by_role("radiogroup", name="Who can add me to groups")
        expect(choice.get_by_role("radio", name="Everyone")).to_be_checked()
        choice.get_by_role("radio", name="Nobody").check()
        expect(panel.locator("#settings-status")).to_have_text("Saved")  # (the panel has the rights' status too)
        bob_token = bob.evaluate("localStorage.getItem('parley.token')")
        assert api_as(bob, base, bob_token, "GET", "/privacy")["group_add"] == "nobody"
        bob.reload()
        bob.get_by_role("button", name="Settings").click()
        expect(choice.get_by_role("radio", name="Nobody")).to_be_checked()
        bob.keyboard.press("Escape")
        expect(panel).to_be_hidden()

        # An invitation that lapses: Alice invites Bob to a group, then leaves it (Carol is its admin now).
        old = api_as(alice, base, alice_api, "POST", "/groups", {"name": "Old plan", "members": [BOB, CAROL]})
        assert [person["phone"] for person in old["invited"]] == [BOB]
        api_as(alice, base, alice_api, "POST", f"/groups/{old['id']}/leave")

        # Alice creates a group with Bob from her page: he is invited instead, and her page says why.
        alice.click("#new-group summary")
        alice.fill("#new-group-name", "Weekend hike")
        alice.fill("#new-group-members", BOB)
        alice.click("#new-group-create")
        expect(alice.locator("#chat-title")).to_have_text("Weekend hike")
        expect(alice.locator("#chat-error")).to_contain_text("privacy settings")
        alice.fill("#composer-input", "Meet at 8 at the station")
        alice.click("#send")
        expect(alice.locator(".message.own", has_text="Meet at 8")).to_have_attribute("data-status", "sent")

        # Alice's own copies say the invitations were sent, and offer her nothing to press.
        back_to_chats(alice)
        alice.locator(".chat-item", has_text="Bob").click()
        sent = alice.locator(".message.own.business-group_invite")
        expect(sent).to_have_count(2)
        expect(sent.filter(has_text="Weekend hike")).to_contain_text("Invitation sent")
        expect(sent.get_by_role("button")).to_have_count(0)

        # Bob finds both invitations in his chat with Alice, which arrived live.
        bob.locator(".chat-item", has_text="Alice").click()
        invitations = bob.locator(".message.incoming.business-group_invite")
        expect(invitations).to_have_count(2)

        # The lapsed one: exactly what the API says about it shows where the page shows errors, and the
        # button says it can't be used.
        [lapsed_invite] = old["invited"]
        refused = bob.request.post(
            f"{base}/client/v1/group-invites/{lapsed_invite['invite_id']}/accept",
            headers={"Authorization": f"Bearer {bob_token}"},
        )
        assert refused.status == 404, refused.text()
        bob.get_by_role("button", name="Join group: Old plan").click()
        expect(bob.locator("#chat-error")).to_have_text(refused.json()["error"]["message"])
        unusable = invitations.filter(has_text="Old plan").get_by_role("button")
        expect(unusable).to_have_text("This invitation can't be used")
        expect(unusable).to_be_disabled()

        # The other, pressed from the keyboard: Bob joins, and the group opens with Alice's message in it. It is
        # end-to-end encrypted and was sent before he joined, so his device never got its key (no history from
        # before joining, as in WhatsApp): it waits. What she says now, he reads.
        join = bob.get_by_role("button", name="Join group: Weekend hike")
        join.focus()
        bob.keyboard.press("Enter")
        expect(bob.locator("#chat-title")).to_have_text("Weekend hike")
        welcome = bob.locator(".message.incoming", has_text="Waiting for this message")
        expect(welcome).to_be_visible()
        expect(welcome.locator(".sender")).to_have_text("Alice")
        back_to_chats(alice)
        alice.locator('.chat-item[data-chat-type="group"]', has_text="Weekend hike").click()
        alice.fill("#composer-input", "Meet at 8 at the station, Bob")
        alice.click("#send")
        expect(bob.locator(".message.incoming", has_text="Meet at 8 at the station, Bob")).to_be_visible()
        expect(bob.locator("#chat-subtitle")).to_contain_text("Alice")
        back_to_chats(bob)
        expect(bob.locator('.chat-item[data-chat-type="group"]', has_text="Weekend hike")).to_be_visible()
    finally:
        name = viewport["width"]
        alice.screenshot(path=f"/tmp/parley-web-invite-alice-{name}.png")
        bob.screenshot(path=f"/tmp/parley-web-invite-bob-{name}.png")
        alice.context.close()
        bob.context.close()
    assert page_errors == []
