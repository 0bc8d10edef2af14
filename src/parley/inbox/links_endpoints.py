"""The inbox's chat links with QR codes and the business profile editor (`/inbox/api/links`, `/inbox/api/profile`)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/inbox/api", tags=["team inbox"])
