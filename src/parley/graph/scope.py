"""What a Cloud API access token grants: one WABA, everything under it and nothing else."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GraphScope:
    waba_id: int
    token_id: int
    app_id: int
