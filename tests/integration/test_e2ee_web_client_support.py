"""What the browser's end-to-end encryption needs from the web server beside the client API: the crypto library served
with the types a browser insists on (or said missing), and the safety number's QR code."""

from __future__ import annotations

import pytest

from parley.web import e2ee_pages
from tests.conftest import LiveServer


async def test_the_crypto_library_is_served_with_browser_types_or_said_missing(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    vendor = "/static/vendor/matrix-sdk-crypto-wasm"
    if e2ee_pages.crypto_library_dir() is not None:  # installed by `npm ci` (scripts/test.sh does it)
        module = await server.http.get(f"{vendor}/index.mjs")
        assert module.status_code == 200 and module.headers["content-type"].startswith("text/javascript")
        wasm = await server.http.get(f"{vendor}/pkg/matrix_sdk_crypto_wasm_bg.wasm")
        assert wasm.headers["content-type"] == "application/wasm" and wasm.content[:4] == b"\0asm"
    assert (await server.http.get(f"{vendor}/package.json")).status_code == 404  # only what the browser loads
    assert (await server.http.get(f"{vendor}/../../../pyproject.toml")).status_code == 404
    monkeypatch.setattr(e2ee_pages, "crypto_library_dir", lambda: None)  # a deployment that skipped `npm ci`
    missing = await server.http.get(f"{vendor}/index.mjs")
    assert missing.status_code == 404 and "npm ci" in missing.text
    page = await server.http.get("/app")
    assert "'wasm-unsafe-eval'" in page.headers["content-security-policy"]


async def test_the_safety_numbers_qr_code(server: LiveServer) -> None:
    number = "12345" * 12
    qr = await server.http.get("/safety-qr.svg", params={"number": number})
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in qr.content
    for bad in ("1234", "12345" * 11 + "1234x", "<script>"):
        refused = await server.http.get("/safety-qr.svg", params={"number": bad})
        assert refused.status_code == 400, bad
