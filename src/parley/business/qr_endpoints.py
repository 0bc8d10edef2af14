"""Meta's QR code API: `POST/GET /{phone_number_id}/message_qrdls`, `DELETE /{phone_number_id}/message_qrdls/{code}`."""

from __future__ import annotations

from parley.http import graph_router

router = graph_router("qr codes")
