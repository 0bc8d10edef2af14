"""End to end: a business's team answers people from the shared inbox in Debian's Chromium.

Two agents sign in, go online and get conversations round robin; one labels a conversation, answers with
a quick reply the person sees live, sends a template once the 24 h window has closed; business hours
send one away message; the reports page shows the first response time; hostile names stay text.
The live server runs in this test's event loop, so the test can move its clock.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.conftest import LiveServer, User
from tests.e2e.page_checks import watch_errors

pytestmark = pytest.mark.e2e

V = "/v23.0"
PASSWORD = "correct horse battery"
HOSTILE_NAME = '<img src=x onerror="window.__pwned=1">'
HOSTILE_TEXT = "<script>window.__pwned=1</script>"
THANKS = "Thanks {{name}}, we got your message! {{agent}} from {{business}}"
AWAY = "Thanks for writing! We are closed right now and answer as soon as we open."
expect.set_options(timeout=15_000)


async def agent_page(browser: Browser, server: LiveServer, email: str, name: str, errors: list[str]) -> Page:
    """An agent signs in through the form, in a browser profile of their own."""
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    watch_errors(page, errors)
    await page.goto(server.base_url + "/inbox")
    await page.wait_for_url(re.compile(r"/inbox/login"))
    await page.fill("#email", email)
    await page.fill("#password", "not the password")
    await page.click("#login-submit")
    await expect(page.locator("#login-error")).to_have_text("Wrong email or password.")
    await page.screenshot(path="/tmp/parley-inbox-login.png")
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_url(re.compile(r"/inbox$"))
    await expect(page.locator("#me-name")).to_have_text(name)
    return page


async def go_online(page: Page) -> None:
    await page.select_option("#availability", "online")
    await expect(page.locator("#availability")).to_have_attribute("data-availability", "online")


async def person_page(browser: Browser, server: LiveServer, person: User, errors: list[str]) -> Page:
    """The person's web client, signed in as after the one-time code."""
    context = await browser.new_context(viewport={"width": 1100, "height": 800})
    await context.add_init_script(f"localStorage.setItem('parley.token', {person.token!r});")
    page = await context.new_page()
    watch_errors(page, errors)
    await page.goto(server.base_url + "/app")
    await expect(page.locator("#me-phone")).to_have_text(person.phone)
    return page


async def person_sends(page: Page, text: str) -> None:
    await page.fill("#composer-input", text)
    await page.click("#send")
    sent = page.locator(".message.own", has_text=text).last
    await expect(sent).to_have_attribute("data-message-id", re.compile(r"^\d+$"))


async def person_writes(server: LiveServer, person: User, to_phone: str, text: str) -> None:
    """A person writing from another device (the client API), while the test watches the inbox."""
    response = await server.http.post(
        "/client/v1/messages",
        headers=person.headers,
        json={"to": to_phone, "type": "text", "text": {"body": text}, "client_id": uuid.uuid4().hex},
    )
    assert response.status_code == 200, response.text


async def approved_template(server: LiveServer, waba_id: str, token: str) -> None:
    """A utility template created through the Cloud API and approved by the review."""
    created = await server.http.post(
        f"{V}/{waba_id}/message_templates",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "name": "order_ready",
            "language": "en_US",
            "category": "UTILITY",
            "components": [
                {
                    "type": "BODY",
                    "text": "Hi {{1}}, your order {{2}} is ready for pickup.",
                    "example": {"body_text": [["Ada", "A-1"]]},
                }
            ],
        },
    )
    assert created.status_code == 200, created.text
    server.clock.advance(seconds=5)
    await server.container.templates.review_due_now()


def row(page: Page, text: str) -> Locator:
    return page.locator(".conversation-row", has_text=text)


async def shown_at(bubble: Locator) -> int:
    """A bubble's time in ms, as the page put it in its <time datetime>."""
    stamp = await bubble.locator("time").first.get_attribute("datetime")
    assert stamp is not None
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)


def hours_closed_now(server: LiveServer, timezone: str) -> str:
    """One opening hour a day, twelve hours away from now in the business's time zone."""
    local = datetime.fromtimestamp(server.clock.now_ms() / 1000, ZoneInfo(timezone))
    start = (local.hour + 12) % 24
    return f"{start:02d}:00-{start + 1:02d}:00" if start < 23 else "23:00-24:00"


def report_duration(ms: int) -> str:
    """A duration as the reports page prints it: "45 s", "1 min 5 s", "2 h 3 min", rounded down."""
    minutes, seconds = divmod(ms // 1000, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    if minutes:
        return f"{minutes} min" + (f" {seconds} s" if seconds else "")
    return f"{seconds} s"


async def test_a_team_answers_people_from_the_shared_inbox(server: LiveServer, browser: Browser) -> None:
    shop_phone = server.next_phone()
    shop = await server.container.business.create_business("Parley Shop", shop_phone)
    waba_id = int(shop.waba_id)
    inbox = server.container.inbox
    await inbox.create_agent(waba_id, email="grace@shop.example", name="Grace", role="admin", password=PASSWORD)
    await inbox.create_agent(waba_id, email="alan@shop.example", name="Alan", role="agent", password=PASSWORD)
    await approved_template(server, str(shop.waba_id), shop.access_token)
    ada, bob = await server.user("Ada"), await server.user("Bob")
    errors: list[str] = []
    grace = await agent_page(browser, server, "grace@shop.example", "Grace", errors)
    alan = await agent_page(browser, server, "alan@shop.example", "Alan", errors)
    ada_page = await person_page(browser, server, ada, errors)
    pages = {"grace": grace, "alan": alan, "ada": ada_page}
    try:
        # The admin adds a quick reply in the settings.
        await grace.click("#nav-settings")
        await grace.click(".settings-tab[data-section=quick-replies]")
        await grace.fill("#qr-shortcut", "thanks")
        await grace.fill("#qr-body", THANKS)
        await grace.click("#qr-add")
        await expect(grace.locator(".qr-row .qr-shortcut-edit")).to_have_value("thanks")
        await grace.screenshot(path="/tmp/parley-inbox-settings.png")
        await grace.click("#nav-inbox")

        # 1. Both agents go online; Ada writes from the web client, Bob from his phone: one each.
        await go_online(grace)
        await go_online(alan)
        await ada_page.fill("#new-chat-phone", shop_phone)
        await ada_page.click("#new-chat-open")
        await expect(ada_page.locator("#chat-title")).to_have_text("Parley Shop")
        await person_sends(ada_page, "Hello, is the blue bike still available?")
        await person_writes(server, bob, shop_phone, "Do you ship to Lyon?")
        for page in (grace, alan):
            await page.click(".assignee-tab[data-assignee=mine]")
            await expect(page.locator(".conversation-row")).to_have_count(1)
            await expect(page.locator("#count-mine")).to_have_text("1")
        await expect(alan.locator("#nav-settings")).to_be_hidden()  # settings are for admins
        ada_agent, other = (grace, alan) if await row(grace, "Ada").count() else (alan, grace)
        await expect(row(ada_agent, "Ada")).to_contain_text("is the blue bike still available?")
        await expect(row(other, "Bob")).to_contain_text("Do you ship to Lyon?")
        await expect(row(ada_agent, "Ada").locator(".unread-badge")).to_have_text("1")
        # Bob's agent resolves his question; it moves to the Resolved tab, and back when reopened.
        await row(other, "Bob").click()
        await other.click("#status-resolve")
        await expect(other.locator("#conv-status")).to_have_text("resolved")
        await expect(row(other, "Bob")).to_have_count(0)
        await other.click(".status-tab[data-status=resolved]")
        await expect(row(other, "Bob")).to_have_count(1)
        await other.click("#status-reopen")
        await expect(other.locator("#conv-status")).to_have_text("open")
        await other.click(".status-tab[data-status=open]")
        await expect(row(other, "Bob")).to_have_count(1)

        # 2. The agent opens it, labels it and answers with the quick reply, a minute later.
        await row(ada_agent, "Ada").click()
        await expect(ada_agent.locator("#conv-title")).to_have_text("Ada")
        await expect(ada_agent.locator("#window-state")).to_have_text(re.compile(r"^Window open · closes in 2[34] h"))
        await expect(row(ada_agent, "Ada").locator(".unread-badge")).to_have_count(0)
        await ada_agent.select_option("#add-label", label="Prospect")
        await expect(ada_agent.locator("#conv-labels .label-chip-name")).to_have_text(["Prospect"])
        await expect(row(ada_agent, "Ada").locator(".label-chip")).to_have_text(["Prospect"])
        server.clock.advance(seconds=65)
        await ada_agent.fill("#reply-text", "/than")
        choice = ada_agent.locator(".quick-reply[data-shortcut=thanks]")
        await expect(choice).to_contain_text("Thanks Ada, we got your message!")
        await choice.click()
        agent_name = "Grace" if ada_agent is grace else "Alan"
        filled = f"Thanks Ada, we got your message! {agent_name} from Parley Shop"
        await expect(ada_agent.locator("#reply-text")).to_have_value(filled)
        await ada_agent.click("#reply-send")
        answer = ada_agent.locator(".message.own", has_text=filled)
        await expect(answer).to_have_attribute("data-message-id", re.compile(r"\S"))
        await expect(ada_page.locator(".message.incoming", has_text=filled)).to_be_visible()
        question = ada_agent.locator(".message.incoming", has_text="blue bike")
        first_response_ms = await shown_at(answer) - await shown_at(question)
        assert first_response_ms >= 65_000
        # A private note, for the team only.
        await ada_agent.click("#mode-note")
        await ada_agent.fill("#reply-text", "She wants it before the weekend.")
        await ada_agent.click("#reply-send")
        await expect(ada_agent.locator(".note .note-body")).to_have_text("She wants it before the weekend.")
        await expect(ada_page.locator(".message", has_text="before the weekend")).to_have_count(0)
        await ada_agent.click("#mode-reply")
        # The contact card: the team names her properly and keeps a note.
        await ada_agent.click("#toggle-contact")
        await expect(ada_agent.locator("#contact-phone")).to_have_text(ada.phone)
        await ada_agent.fill("#contact-name", "Ada Lovelace")
        await ada_agent.fill("#contact-notes", "Regular customer, rides to work.")
        await ada_agent.click("#contact-save")
        await expect(ada_agent.locator("#conv-title")).to_have_text("Ada Lovelace")
        await expect(row(ada_agent, "Ada").locator(".row-name")).to_have_text("Ada Lovelace")
        await ada_agent.screenshot(path="/tmp/parley-inbox-conversation.png")
        await ada_agent.click("#toggle-contact")

        # 3. A day later the window has closed: only an approved template can go out.
        server.clock.advance(hours=25)
        await row(ada_agent, "Ada").click()
        await expect(ada_agent.locator("#window-state")).to_have_text("Window closed: only templates")
        await expect(ada_agent.locator("#reply-text")).to_be_disabled()
        await expect(ada_agent.locator("#template-picker")).to_be_visible()
        await expect(ada_agent.locator("#template-select option")).to_have_count(1)
        await expect(ada_agent.locator("#template-select")).to_contain_text("order_ready")
        await expect(ada_agent.locator("#template-price")).to_have_text(re.compile(r"^(\d+\.\d+ [A-Z]{3}|No charge)$"))
        variables = ada_agent.locator(".template-var")
        await expect(variables).to_have_count(2)
        await variables.nth(0).fill("Ada")
        await variables.nth(1).fill("A-7")
        ready = "Hi Ada, your order A-7 is ready for pickup."
        await expect(ada_agent.locator("#template-preview")).to_have_text(ready)
        await ada_agent.click("#template-send")
        await expect(ada_agent.locator(".message.own", has_text=ready)).to_be_visible()
        await expect(ada_page.locator(".message.incoming", has_text=ready)).to_be_visible()
        await ada_agent.screenshot(path="/tmp/parley-inbox-template.png")

        # 4. Closed now, with an away message: Ada writes twice and hears it once.
        await grace.click("#nav-settings")
        await grace.click(".settings-tab[data-section=hours]")
        await expect(grace.locator("#hours-open-now")).to_have_text("You are open now.")
        timezone = await grace.locator("#hours-timezone").input_value()
        await grace.uncheck("#hours-always")
        for day in await grace.locator(".hours-day").all():
            await day.fill(hours_closed_now(server, timezone))
        await grace.check("#away-enabled")
        await grace.fill("#away-text", AWAY)
        await grace.click("#hours-save")
        await expect(grace.locator("#hours-open-now")).to_have_text("You are closed now.")
        await grace.screenshot(path="/tmp/parley-inbox-hours.png")
        await grace.click("#nav-inbox")
        await person_sends(ada_page, "Great, can I come tonight?")
        await expect(ada_page.locator(".message.incoming", has_text=AWAY)).to_have_count(1)
        await person_sends(ada_page, "Or tomorrow morning?")
        await expect(ada_agent.locator(".message.incoming", has_text="Or tomorrow morning?")).to_be_visible()
        await inbox.run_automations_now()  # anything the second message planned has gone out now
        await expect(ada_agent.locator(".message.own", has_text=AWAY)).to_have_count(1)
        await expect(ada_page.locator(".message.incoming", has_text=AWAY)).to_have_count(1)
        await ada_page.screenshot(path="/tmp/parley-inbox-person.png")

        # 5. The reports page shows the first response time of step 2.
        zone = ZoneInfo(timezone)
        today = datetime.fromtimestamp(server.clock.now_ms() / 1000, zone).date()
        answered = datetime.fromtimestamp((server.clock.now_ms() - 25 * 3600 * 1000) / 1000, zone).date()
        reports = await grace.context.new_page()
        watch_errors(reports, errors)
        await reports.goto(f"{server.base_url}/inbox/reports?from={answered.isoformat()}&to={today.isoformat()}")
        await expect(reports.locator("body")).to_contain_text(report_duration(first_response_ms))
        await reports.screenshot(path="/tmp/parley-inbox-reports.png", full_page=True)
        await reports.close()

        # 6. A hostile name and message are shown as text, and run nothing.
        mallory = await server.user(HOSTILE_NAME)
        await person_writes(server, mallory, shop_phone, HOSTILE_TEXT)
        await grace.click(".assignee-tab[data-assignee=all]")
        hostile = row(grace, HOSTILE_NAME)
        await expect(hostile.locator(".row-name")).to_have_text(HOSTILE_NAME)  # its preview is the away message
        await hostile.click()
        await expect(grace.locator("#conv-title")).to_have_text(HOSTILE_NAME)
        await expect(grace.locator(".message.incoming .text", has_text=HOSTILE_TEXT)).to_have_count(1)
        await grace.click("#toggle-contact")
        await expect(grace.locator("#contact-profile-name")).to_have_text(HOSTILE_NAME)
        await grace.screenshot(path="/tmp/parley-inbox-xss.png")
        assert await grace.locator("img[src=x]").count() == 0
        assert await grace.evaluate("() => window.__pwned") is None

        # Search finds a conversation by the name the team gave the contact.
        await grace.fill("#search", "Lovelace")
        await expect(grace.locator(".conversation-row .row-name")).to_have_text(["Ada Lovelace"])
    finally:
        for name, page in pages.items():
            await page.screenshot(path=f"/tmp/parley-inbox-{name}.png")
            await page.context.close()
    assert errors == []


async def test_an_admin_runs_the_team_from_the_settings(server: LiveServer, browser: Browser) -> None:
    shop = await server.container.business.create_business("Parley Shop", server.next_phone())
    await server.container.inbox.create_agent(
        int(shop.waba_id), email="grace@shop.example", name="Grace", role="admin", password=PASSWORD
    )
    errors: list[str] = []
    grace = await agent_page(browser, server, "grace@shop.example", "Grace", errors)
    linus: Page | None = None
    try:
        # Invite an agent; they open the link, choose a password and land in the inbox, signed in.
        await grace.click("#nav-settings")
        await expect(grace.locator(".agent-row")).to_have_count(1)
        await grace.fill("#invite-name", "Linus")
        await grace.fill("#invite-email", "linus@shop.example")
        await grace.click("#invite-send")
        link = grace.locator("#invite-url")
        await expect(link).to_have_text(re.compile(r"/inbox/invite/\S+$"))
        invited = grace.locator(".agent-row", has_text="Linus")
        await expect(invited.locator(".pill.invited")).to_have_text("Invited")
        linus = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
        watch_errors(linus, errors)
        await linus.goto(str(await link.get_attribute("href")))
        await expect(linus.locator("#invite-heading")).to_have_text("Welcome, Linus")
        await linus.fill("#password", PASSWORD)
        await linus.fill("#password_confirm", PASSWORD + "!")
        await linus.click("#invite-submit")
        await expect(linus.locator("#invite-error")).to_have_text("The two passwords differ.")
        await linus.fill("#password", PASSWORD)
        await linus.fill("#password_confirm", PASSWORD)
        await linus.click("#invite-submit")
        await linus.wait_for_url(re.compile(r"/inbox$"))
        await expect(linus.locator("#me-name")).to_have_text("Linus")
        await expect(linus.locator("#me-role")).to_have_text("Agent")
        await expect(linus.locator("#nav-settings")).to_be_hidden()
        await expect(linus.locator("#no-conversation")).to_be_visible()

        # The admin sets Linus's capacity; it sticks.
        await grace.click(".settings-tab[data-section=agents]")
        await expect(invited.locator(".pill.invited")).to_have_count(0)
        await invited.locator(".agent-capacity").fill("3")
        await invited.locator(".agent-capacity").press("Enter")
        await expect(grace.locator("#settings-ok")).to_have_text("Linus updated.")
        await grace.click(".settings-tab[data-section=labels]")
        await grace.click(".settings-tab[data-section=agents]")
        await expect(invited.locator(".agent-capacity")).to_have_value("3")

        # A new label shows in the settings and in the inbox's label filter.
        await grace.click(".settings-tab[data-section=labels]")
        await expect(grace.locator(".label-row .label-chip-name")).to_contain_text(["Prospect"])
        await grace.fill("#label-name", "VIP")
        await grace.click("#label-add")
        await expect(grace.locator(".label-row .label-chip-name", has_text="VIP")).to_have_count(1)
        await expect(grace.locator("#filter-label option", has_text="VIP")).to_have_count(1)

        # Routing: manual for the number.
        await grace.click(".settings-tab[data-section=routing]")
        policy = grace.locator(".routing-policy")
        await expect(policy).to_have_value("round_robin")
        await policy.select_option("manual")
        await expect(grace.locator("#settings-ok")).to_have_text("Routing saved.")
        await grace.click(".settings-tab[data-section=labels]")
        await grace.click(".settings-tab[data-section=routing]")
        await expect(policy).to_have_value("manual")

        # A click-to-chat link with its QR code.
        await grace.click(".settings-tab[data-section=links]")
        await grace.fill("#link-message", "Hi! I saw your poster")
        await grace.click("#link-add")
        created = grace.locator(".link-row")
        await expect(created).to_have_count(1)
        await expect(created.locator(".link-url")).to_have_text(re.compile(r"/c/\S+$"))
        await expect(created).to_contain_text("Hi! I saw your poster")
        qr = created.locator("img.link-qr")
        await expect(qr).to_have_attribute("src", re.compile(r"^/inbox/api/links/\S+/qr\.svg$"))
        await grace.wait_for_function("() => document.querySelector('img.link-qr').naturalWidth > 0")

        # The business profile.
        await grace.click(".settings-tab[data-section=profile]")
        await grace.fill("#profile-about", "Bikes, repairs and rentals")
        await grace.select_option("#profile-vertical", "RETAIL")
        await grace.click("#profile-save")
        await expect(grace.locator("#settings-ok")).to_have_text("Profile saved.")
        await grace.click(".settings-tab[data-section=labels]")
        await grace.click(".settings-tab[data-section=profile]")
        await expect(grace.locator("#profile-about")).to_have_value("Bikes, repairs and rentals")
        await expect(grace.locator("#profile-vertical")).to_have_value("RETAIL")
        await grace.screenshot(path="/tmp/parley-inbox-profile.png")
        await grace.click(".settings-tab[data-section=links]")
        await expect(grace.locator("img.link-qr")).to_be_visible()
        await grace.screenshot(path="/tmp/parley-inbox-links.png")
    finally:
        await grace.screenshot(path="/tmp/parley-inbox-settings-admin.png")
        await grace.context.close()
        if linus is not None:
            await linus.screenshot(path="/tmp/parley-inbox-invited.png")
            await linus.context.close()
    assert errors == []
