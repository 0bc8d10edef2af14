"""Scenario (1) of issue 15 in Debian's Chromium: a creator makes a channel in the web client, a person on a phone
finds it in the directory, follows it and reacts; the creator sees the count live; neither page ever shows the
other's phone number; the pages pass axe at 390 and 1280 px and fit the screen; the ledger verifies."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from typer.testing import CliRunner

from parley.cli.main import app as parley_cli
from tests.conftest import LiveServer, User
from tests.e2e.page_checks import DESKTOP, PHONE, assert_accessible, assert_fits_width, watch_errors

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)
HOSTILE = '<img src=x onerror="window.hacked=1">Rio <b>Daily</b>'


async def channels_page(browser: Browser, server: LiveServer, person: User, errors: list[str], viewport: Any) -> Page:
    context = await browser.new_context(viewport=viewport)
    await context.add_init_script(f"localStorage.setItem('parley.token', {person.token!r});")
    page = await context.new_page()
    watch_errors(page, errors)
    await page.goto(server.base_url + "/channels")
    await expect(page.locator("#channels-app")).to_have_attribute("aria-busy", "false")
    return page


async def page_text(page: Page) -> str:
    return str(await page.evaluate("document.documentElement.outerHTML"))


async def test_creator_makes_a_channel_a_person_finds_follows_and_reacts(server: LiveServer, browser: Browser) -> None:
    errors: list[str] = []
    creator, person = await server.user("Carla Creator"), await server.user("Pedro Person")
    owner = await channels_page(browser, server, creator, errors, DESKTOP)
    await assert_accessible(owner, "channels page, desktop")

    # The creator makes the channel with the form, and posts.
    await owner.locator("#create-channel summary").click()
    await owner.fill("#create-name", HOSTILE)
    await owner.fill("#create-description", "Morning news from Rio")
    await owner.select_option("#create-category", "news")
    await owner.fill("#create-country", "BR")
    await owner.click("#create-submit")
    await expect(owner.locator("#channel-name")).to_have_text(HOSTILE)
    assert await owner.evaluate("window.hacked") is None  # the markup is text, never run
    await owner.fill("#post-text", "Good morning, Rio!")
    await owner.click("#post-submit")
    await expect(owner.locator(".post-text")).to_have_text("Good morning, Rio!")
    await assert_accessible(owner, "a channel, its owner's view, desktop")

    # A person on a phone finds it in the directory by searching, opens it, follows it and reacts.
    reader = await channels_page(browser, server, person, errors, PHONE)
    await assert_accessible(reader, "channels page, phone")
    await assert_fits_width(reader, "channels page, phone")
    await reader.fill("#directory-q", "rio <b>")
    found = reader.locator("#directory-list .channel-item", has_text="Rio <b>Daily</b>")
    await expect(found).to_have_count(1)
    await reader.locator("#category-chips .chip", has_text="News").click()
    await expect(found).to_have_count(1)
    await found.click()
    await expect(reader.locator("#channel-name")).to_have_text(HOSTILE)
    await reader.click("#channel-follow")
    await expect(reader.locator("#channel-follow")).to_have_text("Unfollow")
    await expect(reader.locator("#channel-followers")).to_have_text("1 follower")
    await expect(owner.locator("#channel-followers")).to_have_text("1 follower")  # live on the owner's page
    await reader.locator(".post .post-reaction", has_text="👍").click()
    await expect(reader.locator(".post .post-reaction", has_text="👍")).to_have_text("👍 1")
    await assert_accessible(reader, "a channel, a follower's view, phone")
    await assert_fits_width(reader, "a channel, phone")

    # The creator sees the count without reloading, and a new post reaches the follower live.
    await expect(owner.locator(".post .post-reaction", has_text="👍")).to_have_text("👍 1")
    await owner.fill("#post-text", "Second update")
    await owner.click("#post-submit")
    await expect(reader.locator(".post-text", has_text="Second update")).to_be_visible()
    # The owner corrects it; the follower sees the edit live. Followers get no Edit or Delete.
    await owner.locator(".post", has_text="Second update").locator(".post-edit").click()
    await owner.locator(".post-edit-field").fill("Second update, corrected")  # the one post being edited
    await owner.locator(".post-edit-form button", has_text="Save").click()
    await expect(reader.locator(".post-text", has_text="Second update, corrected")).to_be_visible()
    assert await reader.locator(".post-edit, .post-delete").count() == 0

    # The follower's list shows the channel; back on it nothing is unread.
    await reader.click("#channel-back")
    await expect(reader.locator("#followed-list .channel-item", has_text="Rio")).to_be_visible()

    # Neither page ever shows the other's phone number (nor its digits without the +).
    for page, other in ((owner, person), (reader, creator)):
        html = await page_text(page)
        assert other.phone not in html and other.phone.lstrip("+") not in html
    assert "Pedro Person" not in await page_text(owner)

    # The channel opens from its link, at the desktop width too.
    code = (await server.http.get("/client/v1/channels/mine", headers=creator.headers)).json()["channels"][0]["id"]
    channel = (await server.http.get(f"/client/v1/channels/{code}", headers=creator.headers)).json()
    await reader.set_viewport_size(DESKTOP)
    await reader.goto(f"{server.base_url}/c/{channel['invite_code']}")
    await expect(reader.locator("#channel-name")).to_have_text(HOSTILE)
    await assert_accessible(reader, "a channel from its link, desktop")
    await owner.set_viewport_size(PHONE)
    await assert_fits_width(owner, "a channel, its owner's view, phone")
    await assert_accessible(owner, "a channel, its owner's view, phone")

    env = {
        "PARLEY_DATABASE_URL": server.settings.resolved_database_url,
        "PARLEY_DATA_DIR": str(server.settings.data_dir),
    }
    result = await asyncio.to_thread(CliRunner().invoke, parley_cli, ["ledger", "verify"], env=env)
    assert result.exit_code == 0, result.output
    for page in (owner, reader):
        await page.context.close()
    assert not errors, errors


async def test_owner_invites_an_admin_who_accepts_and_posts_from_the_page(server: LiveServer, browser: Browser) -> None:
    errors: list[str] = []
    owner, helper = await server.user("Olga Owner"), await server.user("Hugo Helper")
    created = await server.http.post(
        "/client/v1/channels", headers=owner.headers, json={"name": "Team news", "category": "tech", "country": "US"}
    )
    code = created.json()["invite_code"]
    page = await channels_page(browser, server, owner, errors, DESKTOP)
    await page.goto(f"{server.base_url}/channels/c/{code}")
    await expect(page.locator("#channel-name")).to_have_text("Team news")
    await page.click("#channel-info-toggle")
    await page.fill("#admin-invite-phone", helper.phone)
    await page.locator("#admin-invite button").click()
    await expect(page.locator("#channel-admins")).to_contain_text("Hugo Helper · admin · invited")
    await assert_accessible(page, "channel info with admins, desktop")

    other = await channels_page(browser, server, helper, errors, PHONE)
    invitation = other.locator("#mine-list .channel-item", has_text="Team news")
    await expect(invitation).to_contain_text("Invited to be an admin")
    # The invitation also came as a message from the owner; its link opens the channel with "Accept" showing.
    chats = (await server.http.get("/client/v1/chats", headers=helper.headers)).json()["chats"]
    chat = next(c for c in chats if (c.get("peer") or {}).get("user_id") == owner.user_id)
    messages = (await server.http.get(f"/client/v1/chats/{chat['id']}/messages", headers=helper.headers)).json()
    text = messages["messages"][0]["text"]["body"]
    link = next(word for word in text.split() if "/channels/c/" in word)
    assert link.endswith(f"/channels/c/{code}")  # on the deployment's public URL
    await other.goto(server.base_url + link[link.index("/channels/c/") :])
    await expect(other.locator("#channel-name")).to_have_text("Team news")
    await expect(other.locator("#admin-accept")).to_be_visible()
    await other.click("#admin-accept")
    await expect(other.locator("#post-composer")).to_be_visible()
    await other.fill("#post-text", "Hello from the new admin")
    await other.click("#post-submit")
    await expect(page.locator(".post-text", has_text="Hello from the new admin")).to_be_visible()  # live, owner side
    await assert_accessible(other, "a channel, a new admin's view, phone")
    await assert_fits_width(other, "a channel, a new admin's view, phone")
    for viewer, them in ((page, helper), (other, owner)):
        html = await page_text(viewer)
        assert them.phone not in html and them.phone.lstrip("+") not in html
    for p in (page, other):
        await p.context.close()
    assert not errors, errors
