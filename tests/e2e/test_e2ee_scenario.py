"""Issue 16's browser scenario: person chats are end-to-end encrypted in the web client (Debian's Chromium against a
real `parley serve`).

Alice (1280 px) and Bob (390 px) exchange 1:1 texts and a picture and compare equal safety numbers; Alice, Bob and
Carol chat in a group; Carol is removed and her device holds no key for what follows (while it still reads what came
before); Alice signs in on a new device, which reads new messages but no history, and Bob's chat says her security
code changed; Bob finds a message by client-side search. Then the database file (every text column, and the raw
bytes with its WAL) and the media directory hold no plaintext of any message and no byte run of the picture.
"""

from __future__ import annotations

import base64
import random
import re
import sqlite3
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from parley.client import E2EEDevice, ParleyClient
from parley.client.safety import safety_number as safety_number_of
from tests.e2e.conftest import ServerProcess
from tests.e2e.page_checks import DESKTOP, PHONE, assert_accessible, assert_fits_width, sign_in_person, watch_errors

pytestmark = pytest.mark.e2e
expect.set_options(timeout=20_000)

ALICE, BOB, CAROL, DAVE = "+14155550101", "+14155550102", "+14155550103", "+14155550104"
SECRETS = {
    "t1": "Meet me at the lighthouse at dawn",
    "t2": "Bring the brass telescope",
    "caption": "Map of the smugglers cove",
    "g1": "Expedition starts Saturday morning",
    "g2": "Carol packs the quinoa salad",
    "g3": "After Carol left the treasure is under the oak",
    "t4": "Your new laptop can read this",
    "g4": "Welcome to the new device Alice",
    "t4b": "Your new laptop can read this edit",
}


@pytest.fixture
def server_env() -> dict[str, str]:
    """Alice signs in again on a new device within the minute."""
    return {"PARLEY_OTP__RESEND_INTERVAL_S": "0"}


def noisy_png(width: int = 48, height: int = 32) -> bytes:
    """A real PNG of random pixels, so any run of its bytes is unique to it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    noise = random.Random(16)
    rows = b"".join(b"\x00" + bytes(noise.randrange(256) for _ in range(width * 3)) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 0)) + chunk(b"IEND", b"")


def pixels_of(png: bytes) -> bytes:
    """The RGB bytes of a `noisy_png` (its rows without their filter byte)."""
    width, height = struct.unpack(">II", png[16:24])
    start = png.index(b"IDAT") + 4
    rows = zlib.decompressobj().decompress(png[start:])
    return b"".join(rows[y * (width * 3 + 1) + 1 : (y + 1) * (width * 3 + 1)] for y in range(height))


async def person(browser: Browser, server: ServerProcess, phone: str, viewport: Any, errors: list[str]) -> Page:
    """A browser profile of its own (one device), signed in with the code from the developer panel."""
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    watch_errors(page, errors, phone)
    await sign_in_person(page, server.base_url, phone)
    await expect(page.locator("#me-phone")).to_have_text(phone)
    # The chat list shows once this device's keys are published (the page starts encryption first).
    await expect(page.locator("#app")).not_to_have_attribute("aria-busy", "true")
    await expect(page.locator("#chat-list-empty, #chat-list .chat-item").first).to_be_visible()
    return page


async def api(page: Page, method: str, path: str, body: Any = None) -> Any:
    """The client API as this page's device (its token), for what a test reads that no screen shows: raw rows."""
    return await page.evaluate(
        """async ([method, path, body]) => {
          const headers = {Authorization: `Bearer ${localStorage.getItem("parley.token")}`};
          if (body !== null) headers["Content-Type"] = "application/json";
          const init = {method, headers, body: body === null ? undefined : JSON.stringify(body)};
          const r = await fetch("/client/v1" + path, init);
          return r.status === 204 ? null : r.json();
        }""",
        [method, path, body],
    )


async def send(page: Page, text: str) -> None:
    await page.fill("#composer-input", text)
    await page.click("#send")
    await expect(page.locator(".message.own", has_text=text)).to_have_attribute("data-message-id", re.compile(r"^\d+$"))


async def open_chat(page: Page, title: str) -> None:
    if await page.locator("#back").is_visible():
        await page.click("#back")
    title_is = page.locator(".chat-item-title", has_text=re.compile(f"^{re.escape(title)}$"))
    await page.locator(".chat-item", has=title_is).click()
    await expect(page.locator("#chat-title")).to_have_text(title)


async def read_in_room(page: Page, room: str, message: dict[str, Any]) -> Any:
    """What this page's device makes of one message (its content, or null without a key for it)."""
    return await page.evaluate(
        "async ([room, message]) => (await import('/static/secure-chats.js')).decryptInRoom(room, message)",
        [room, message],
    )


async def safety_number(page: Page) -> str:
    await page.click("#chat-info")
    number = page.locator("#safety-number")
    await expect(number.locator(".safety-group")).to_have_count(12)
    await expect(page.locator("#safety-qr img")).to_be_visible()
    assert await page.locator("#safety-qr img").evaluate(
        "async (img) => { await img.decode(); return img.naturalWidth; }"
    )
    digits = await number.get_attribute("data-number") or ""
    groups = await number.locator(".safety-group").all_inner_texts()
    assert "".join(groups) == digits and re.fullmatch(r"\d{60}", digits), groups
    return digits


async def test_people_read_everything_and_the_server_holds_only_ciphertext(
    browser: Browser, live_server: ServerProcess
) -> None:
    ids = {
        phone: live_server.create_user(phone, name)["user_id"]
        for phone, name in [(ALICE, "Alice"), (BOB, "Bob"), (CAROL, "Carol")]
    }
    errors: list[str] = []
    picture = noisy_png()
    alice = await person(browser, live_server, ALICE, DESKTOP, errors)
    bob = await person(browser, live_server, BOB, PHONE, errors)
    carol = await person(browser, live_server, CAROL, DESKTOP, errors)

    # 1:1: Alice writes to Bob's number; Bob's list shows the decrypted preview, then the chat; he answers.
    await alice.fill("#new-chat-phone", BOB)
    await alice.click("#new-chat-open")
    await expect(alice.locator("#chat-e2ee-note")).to_have_text(re.compile("end-to-end encrypted"))
    await send(alice, SECRETS["t1"])
    await expect(bob.locator(".chat-item", has_text="Alice")).to_contain_text(SECRETS["t1"])
    await open_chat(bob, "Alice")
    await expect(bob.locator(".message.incoming", has_text=SECRETS["t1"])).to_be_visible()
    await send(bob, SECRETS["t2"])
    await expect(alice.locator(".message.incoming", has_text=SECRETS["t2"])).to_be_visible()

    # A picture: encrypted in Alice's browser, decrypted in Bob's to the very same bytes.
    await alice.set_input_files("#attach", files=[{"name": "cove.png", "mimeType": "image/png", "buffer": picture}])
    await alice.fill("#image-caption", SECRETS["caption"])
    await alice.locator(".image-preview-form button[type=submit]").click()
    shown = bob.locator(".message.incoming", has_text=SECRETS["caption"]).locator("img.media-image")
    await expect(shown).to_be_visible()
    await expect(shown).not_to_have_class(re.compile("loading"))
    # Pixel for pixel (the page's policy keeps even a test's fetch off blob: URLs, so read it off a canvas).
    seen = await shown.evaluate(
        """(img) => { const c = document.createElement("canvas");
          c.width = img.naturalWidth; c.height = img.naturalHeight;
          const g = c.getContext("2d"); g.drawImage(img, 0, 0);
          const rgba = g.getImageData(0, 0, c.width, c.height).data; let s = "";
          for (let i = 0; i < rgba.length; i += 4) s += String.fromCharCode(rgba[i], rgba[i + 1], rgba[i + 2]);
          return btoa(s); }"""
    )
    assert base64.b64decode(seen) == pixels_of(picture)

    # Safety numbers: the same 60 digits on both sides; the pages pass axe with the panel open at both widths.
    number = await safety_number(alice)
    assert await safety_number(bob) == number
    # ... and the same as the Python client works out from the directory's keys (parley.client, docs/e2ee.md).
    people = {f"@{ids[p]}:parley": [] for p in (ALICE, BOB)}
    directory = (await api(alice, "POST", "/keys/query", {"device_keys": people}))["device_keys"]
    keys = {
        mxid: [k for d in devices.values() for n, k in d["keys"].items() if n.startswith("ed25519:")]
        for mxid, devices in directory.items()
    }
    assert safety_number_of(ids[ALICE], keys[f"@{ids[ALICE]}:parley"], ids[BOB], keys[f"@{ids[BOB]}:parley"]) == number
    await assert_accessible(alice, "contact info with the safety number (1280 px)")
    await assert_accessible(bob, "contact info with the safety number (390 px)")
    await assert_fits_width(bob, "contact info with the safety number (390 px)")
    await bob.click("#contact-info-close")

    # A group of the three: everyone reads everyone.
    await alice.locator("#new-group summary").click()
    await alice.fill("#new-group-name", "Expedition")
    await alice.fill("#new-group-members", f"{BOB}, {CAROL}")
    await alice.click("#new-group-create")
    await expect(alice.locator("#chat-title")).to_have_text("Expedition")
    group_id = alice.url.partition("#chat=")[2]
    assert group_id.isdigit()
    await send(alice, SECRETS["g1"])
    for page in (bob, carol):
        await open_chat(page, "Expedition")
        await expect(page.locator(".message.incoming", has_text=SECRETS["g1"])).to_be_visible()
    await send(carol, SECRETS["g2"])
    for page in (alice, bob):
        await expect(page.locator(".message.incoming", has_text=SECRETS["g2"])).to_be_visible()
    await assert_accessible(carol, "an encrypted group chat (1280 px)")

    # Alice removes Carol in group info; what Alice says next is under a new key Carol's device never got.
    await alice.click("#chat-info")
    await alice.get_by_role("button", name="Remove Carol").click()
    await expect(alice.locator("#group-members .member")).to_have_count(2)
    await alice.click("#group-info-close")
    await send(alice, SECRETS["g3"])
    await expect(bob.locator(".message.incoming", has_text=SECRETS["g3"])).to_be_visible()
    rows = (await api(bob, "GET", f"/chats/{group_id}/messages?limit=50"))["messages"]
    before, after = sorted((m for m in rows if m["sender_id"] == ids[ALICE]), key=lambda m: int(m["id"]))  # g1, g3
    assert before["type"] == after["type"] == "encrypted"
    assert after["encrypted"]["session_id"] != before["encrypted"]["session_id"], "the room key did not rotate"
    room = f"!g{group_id}:parley"
    assert (await read_in_room(carol, room, before))["body"] == SECRETS["g1"]  # her device does hold the old key
    assert await read_in_room(carol, room, after) is None
    await expect(carol.locator(".chat-item", has_text="Expedition")).to_have_count(0)

    # Alice signs in on a new laptop: it reads what is sent from now on, not the history.
    laptop = await person(browser, live_server, ALICE, DESKTOP, errors)
    await open_chat(bob, "Alice")
    await send(bob, SECRETS["t4"])
    await open_chat(laptop, "Bob")
    await expect(laptop.locator(".message.incoming", has_text=SECRETS["t4"])).to_be_visible()
    await expect(laptop.locator(".message", has_text=SECRETS["t1"])).to_have_count(0)
    await expect(laptop.locator(".waiting-text").first).to_have_text(
        re.compile("^Sent before this device was set up. To read it here, send your chat history from your other")
    )
    await open_chat(alice, "Bob")
    await expect(alice.locator(".message.incoming", has_text=SECRETS["t4"])).to_be_visible()
    # Bob's chat with Alice says her security code changed (she has a device more).
    await expect(bob.locator(".security-notice")).to_contain_text("Alice's security code changed")
    # Bob corrects his message: the edit is new ciphertext, and both of Alice's devices read it.
    await bob.locator(".message.own", has_text=SECRETS["t4"]).click(button="right")
    await bob.get_by_role("menuitem", name="Edit").click()
    await bob.fill("#composer-input", SECRETS["t4b"])
    await bob.press("#composer-input", "Enter")
    for page in (laptop, alice):
        await expect(page.locator(".message.incoming", has_text=SECRETS["t4b"])).to_be_visible()
    # Bob forwards his own line into the group: a new encrypted send (the server can't copy what it can't read).
    await bob.locator(".message.own", has_text=SECRETS["t2"]).click(button="right")
    await bob.get_by_role("menuitem", name="Forward").click()
    await bob.get_by_role("checkbox", name="Expedition").check()
    await bob.get_by_role("button", name="Forward", exact=True).click()
    await open_chat(bob, "Expedition")
    await expect(bob.locator(".message.own", has_text=SECRETS["t2"])).to_be_visible()
    await send(bob, SECRETS["g4"])
    await open_chat(laptop, "Expedition")
    await expect(laptop.locator(".message.incoming", has_text=SECRETS["g4"])).to_be_visible()
    forwarded = laptop.locator(".message.incoming", has_text=SECRETS["t2"])
    await expect(forwarded.locator(".forwarded-mark")).to_have_text("Forwarded")

    # Search runs in the browser over what it decrypted.
    if await bob.locator("#back").is_visible():
        await bob.click("#back")
    await bob.fill("#search-input", "lighthouse")
    await expect(bob.locator("#search-results .search-hit")).to_contain_text(SECRETS["t1"])

    # The laptop signs out: its private keys leave the browser with it.
    stores = (
        "async () => (await indexedDB.databases()).map((db) => db.name).filter((n) => n.startsWith('parley-e2ee-'))"
    )
    assert await laptop.evaluate(stores)
    await laptop.click("#sign-out")
    await laptop.wait_for_url(re.compile(r"/$"))
    assert await laptop.evaluate(stores) == []

    # The server's side: no plaintext anywhere, no run of the picture's bytes.
    assert_no_plaintext(Path(live_server.data_dir), picture)
    assert errors == []


def assert_no_plaintext(data_dir: Path, picture: bytes) -> None:
    database = data_dir / "parley.db"
    needles = [text.encode() for text in SECRETS.values()]
    # Every text column of every table, decoded by SQLite (so a value split across pages is still whole).
    with sqlite3.connect(database) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        cells = 0
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):  # table names from sqlite_master
                for value in row:
                    if isinstance(value, str | bytes):
                        cells += 1
                        raw = value.encode() if isinstance(value, str) else value
                        found = [n.decode() for n in needles if n in raw]
                        assert not found, f"{table} holds {found}"
                        assert picture[40:104] not in raw, f"{table} holds the picture"
    assert cells > 100
    # The raw bytes of the database (and its write-ahead log) and of every stored file: the media directory too.
    files = [path for path in data_dir.rglob("*") if path.is_file()]
    assert any(path.parent.name == "media" or "media" in path.parts for path in files)
    for path in files:
        blob = path.read_bytes()
        found = [n.decode() for n in needles if n in blob]
        assert not found, f"{path} holds {found}"
        for start in range(8, len(picture) - 64, 64):
            assert picture[start : start + 64] not in blob, f"{path} holds bytes of the picture"


async def test_without_the_crypto_library_nothing_is_sent_in_the_clear(
    browser: Browser, live_server: ServerProcess
) -> None:
    live_server.create_user(ALICE, "Alice")
    live_server.create_user(BOB, "Bob")
    errors: list[str] = []
    context = await browser.new_context(viewport=PHONE)
    await context.route("**/static/vendor/**", lambda route: route.fulfill(status=404, body="not installed"))
    page = await context.new_page()
    watch_errors(page, errors, ALICE)
    await sign_in_person(page, live_server.base_url, ALICE)
    await page.fill("#new-chat-phone", BOB)
    await page.click("#new-chat-open")
    await expect(page.locator("#chat-e2ee-note")).to_have_text(re.compile("End-to-end encryption isn't installed"))
    await page.fill("#composer-input", "this must never reach the server")
    await page.click("#send")
    await expect(page.locator(".message.own .retry")).to_have_text("Not sent")
    await expect(page.locator("#chat-error")).to_contain_text("encryption isn't installed")
    assert (await api(page, "GET", "/chats"))["chats"] == []
    await assert_accessible(page, "a person chat without the crypto library (390 px)")
    assert errors == []


async def test_a_python_client_and_a_browser_read_each_other(browser: Browser, live_server: ServerProcess) -> None:
    """parley.client (vodozemac in Python) and the web client (matrix-sdk-crypto in WebAssembly) interoperate."""
    live_server.create_user(ALICE, "Alice")
    errors: list[str] = []
    alice = await person(browser, live_server, ALICE, DESKTOP, errors)
    async with ParleyClient(base_url=live_server.base_url) as api:
        await api.sign_in_with_dev_code(DAVE, name="Dave")
        dave = E2EEDevice(api)
        await dave.publish()
        await dave.send_text("Hello from a Python device", to=ALICE)
        await open_chat(alice, "Dave")
        await expect(alice.locator(".message.incoming", has_text="Hello from a Python device")).to_be_visible()
        await send(alice, "And hello back from Chromium")
        picture = noisy_png(24, 16)
        await dave.send_file(picture, mimetype="image/png", body="A tiny map", to=ALICE)
        shown = alice.locator(".message.incoming", has_text="A tiny map").locator("img.media-image")
        await expect(shown).not_to_have_class(re.compile("loading"))
        [chat] = await api.chats()
        read = await dave.read_chat(str(chat["id"]))
        assert [m.body for m in read] == ["Hello from a Python device", "And hello back from Chromium", "A tiny map"]
    assert errors == []
