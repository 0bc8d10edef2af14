"""Checks a person would make by looking, done by the test: no serious accessibility violation (axe-core, run
in the page), nothing in a bar drawn over something else or past the screen's edge, no sideways scrolling."""

from __future__ import annotations

import re
from typing import Any

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import ConsoleMessage, Page, expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}

_AXE = Axe()
_BLOCKING = ("serious", "critical")


async def assert_accessible(page: Page, what: str = "") -> None:
    """axe-core's WCAG 2 A/AA rules on the page as it is now: no serious or critical violation."""
    options = {"resultTypes": ["violations"], "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa"]}}
    results = await _AXE.run(page, options=options)
    blocking = [v for v in results.response["violations"] if v.get("impact") in _BLOCKING]
    report = "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(
            " ".join(node["target"]) if isinstance(node["target"], list) else str(node["target"])
            for node in v["nodes"][:5]
        )
        for v in blocking
    )
    assert not blocking, f"{what or page.url}: accessibility violations\n{report}"


_BOXES_SCRIPT = """
(selector) => {
  const visible = (el) => {
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return style.visibility !== 'hidden' && style.display !== 'none' && box.width > 0 && box.height > 0;
  };
  const items = [...document.querySelectorAll(selector)].filter(visible);
  return items.map((el, index) => {
    const b = el.getBoundingClientRect();
    const name = el.id ? '#' + el.id : el.tagName.toLowerCase() + (el.className && typeof el.className === 'string'
      ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
    const ancestors = items.map((other, j) => (other !== el && other.contains(el)) ? j : -1).filter((j) => j >= 0);
    return {index, name, left: b.left, right: b.right, top: b.top, bottom: b.bottom, ancestors};
  });
}
"""


async def assert_no_overlap(page: Page, selector: str, what: str = "") -> None:
    """Every visible element matching `selector` lies inside the viewport's width, and no two of them (other
    than one inside the other) overlap by more than a pixel."""
    width = await page.evaluate("() => document.documentElement.clientWidth")
    boxes: list[dict[str, Any]] = await page.evaluate(_BOXES_SCRIPT, selector)
    assert boxes, f"{what}: nothing matches {selector!r}"
    problems = [
        f"{b['name']} spans {b['left']:.0f}–{b['right']:.0f}px of a {width}px viewport"
        for b in boxes
        if b["left"] < -1 or b["right"] > width + 1
    ]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            if a["index"] in b["ancestors"] or b["index"] in a["ancestors"]:
                continue
            overlap_x = min(a["right"], b["right"]) - max(a["left"], b["left"])
            overlap_y = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
            if overlap_x > 1 and overlap_y > 1:
                problems.append(f"{a['name']} overlaps {b['name']} by {overlap_x:.0f}×{overlap_y:.0f}px")
    assert not problems, f"{what or page.url}: " + "; ".join(problems)


async def assert_fits_width(page: Page, what: str = "") -> None:
    """The page does not scroll sideways: nothing is wider than the screen."""
    widths = await page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] + 1, f"{what or page.url}: the page is {widths[0]}px wide on a {widths[1]}px screen"


async def assert_looks_right(page: Page, bars_selector: str, what: str = "") -> None:
    """The three checks at once: accessible, no sideways scrolling, nothing in the bars drawn over another."""
    await assert_accessible(page, what)
    await assert_fits_width(page, what)
    await assert_no_overlap(page, bars_selector, what)


def watch_errors(page: Page, errors: list[str], label: str = "") -> None:
    """Script errors and CSP refusals on `page` go to `errors` (prefixed with `label`, else the page's address),
    so the test can fail on them: the pages must work under their own policy."""

    def where() -> str:
        return label or page.url

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            errors.append(f"{where()}: {message.text}")

    page.on("pageerror", lambda error: errors.append(f"{where()}: {error}"))
    page.on("console", on_console)


async def sign_in_agent(
    page: Page, base_url: str, email: str, password: str, start: str | None = "/inbox/login"
) -> None:
    """An agent signs in through the /inbox/login form: opens `start` (the form, or a page that sends there; None
    when the form is already open), fills it in and lands in the inbox."""
    if start is not None:
        await page.goto(base_url + start)
        await page.wait_for_url(re.compile(r"/inbox/login"))
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("#login-submit")
    await page.wait_for_url(re.compile(r"/inbox$"))


async def sign_in_person(page: Page, base_url: str, phone: str, start: str | None = "/", lands: str = "/app") -> None:
    """A person signs in through the web client's sign-in page with the code the developer panel shows (`start`:
    where to open it; None when the page is already there; `lands`: the path the sign-in goes to)."""
    if start is not None:
        await page.goto(base_url + start)
    await page.fill("#phone", phone)
    await page.click("#request-code")
    await expect(page.locator("#code")).to_be_visible()
    panel = page.locator("#dev-panel")
    await expect(panel).to_be_visible()
    if await panel.get_attribute("open") is None:
        await page.click("#dev-panel-toggle")
    code = page.locator(f'.dev-code[data-phone="{phone}"] .dev-code-value').first
    await expect(code).to_have_text(re.compile(r"\S+"))
    await page.fill("#code", (await code.inner_text()).strip())
    await page.click("#verify")
    await page.wait_for_url(re.compile(re.escape(lands)))
