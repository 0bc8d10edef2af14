"""What the web client needs for end-to-end encryption beside its own scripts: the crypto library (installed from npm
by `npm ci`, never committed) served with the right types, and the safety number's QR code as SVG."""

from __future__ import annotations

import io
import re
from pathlib import Path

import segno
from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, Response

from parley.kit.errors import InvalidInputError, NotFoundError

_PACKAGE = Path("node_modules") / "@matrix-org" / "matrix-sdk-crypto-wasm"
# The only files the browser loads (an ES module, its bindings, the WebAssembly): nothing else under node_modules.
_VENDOR_FILES = {
    "index.mjs": "text/javascript",
    "pkg/matrix_sdk_crypto_wasm_bg.js": "text/javascript",
    "pkg/matrix_sdk_crypto_wasm_bg.wasm": "application/wasm",
}
_SAFETY_DIGITS = re.compile(r"[0-9]{60}")


def crypto_library_dir() -> Path | None:
    """Where `npm ci` put the library: beside the checkout this code runs from, or in the working directory."""
    checkout = Path(__file__).resolve().parents[3]
    for root in (checkout, Path.cwd()):
        if (root / _PACKAGE / "index.mjs").is_file():
            return root / _PACKAGE
    return None


def build_e2ee_router() -> APIRouter:
    """`/static/vendor/matrix-sdk-crypto-wasm/…` (ahead of the /static mount) and `/safety-qr.svg`."""
    router = APIRouter(include_in_schema=False)

    @router.get("/static/vendor/matrix-sdk-crypto-wasm/{path:path}")
    async def crypto_library(path: str) -> Response:
        media_type = _VENDOR_FILES.get(path)
        library = crypto_library_dir()
        if media_type is None:
            raise NotFoundError("no such file in the crypto library")
        if library is None:
            raise NotFoundError("the end-to-end encryption library is not installed on this server: run `npm ci`")
        # The version is pinned in package.json, so a day's caching never serves a stale copy for long.
        return FileResponse(library / path, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})

    @router.get("/safety-qr.svg")
    async def safety_qr(number: str = Query(description="The chat's 60-digit safety number")) -> Response:
        if not _SAFETY_DIGITS.fullmatch(number):
            raise InvalidInputError("number must be the 60 digits of a safety number")
        buffer = io.BytesIO()
        segno.make(f"parley-safety:v1:{number}", error="m").save(buffer, kind="svg", scale=4, border=4)
        return Response(buffer.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})

    return router
