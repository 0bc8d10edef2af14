"""People's ad preferences: interests a person chose to see ads about. Opt-in only: the consent is the person's
`ads_personalisation` consent (parley.signals, one ledger of consent events); without it (or after it is
withdrawn, from here or from the privacy page) no interest of theirs is stored and the ad server targets them by
market and language alone. A number in the EU/EEA never has interests stored, whatever the consent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from parley.ads import repository as repo
from parley.ads.manager import CHANGED_TOPIC
from parley.ads.segments import SEGMENTS, segment_list
from parley.ads.viewers import ViewerIds
from parley.kit.clock import Clock
from parley.kit.errors import InvalidInputError
from parley.platform.bus import Bus
from parley.platform.db import Database
from parley.signals import ADS_PERSONALISATION, Consents  # signals


class AdsPreferences:
    def __init__(self, db: Database, bus: Bus, clock: Clock, viewers: ViewerIds, consents: Consents) -> None:
        self._db, self._bus, self._clock, self._viewers = db, bus, clock, viewers
        self._consents = consents  # signals
        consents.add_observer(self)  # signals: a withdrawal on the privacy page forgets the topics too

    def _answer_in(self, conn: Connection, user_id: int) -> dict[str, Any]:
        row = repo.get_preferences(conn, self._viewers.of_person(user_id))
        consented = self._consents.granted_in(conn, user_id, ADS_PERSONALISATION)
        market_only = self._consents.market_in(conn, user_id).eu_eea
        kept = consented and not market_only and row is not None and row["consented_at"] is not None
        interests = [i for i in (row["interests"].split(",") if kept and row else []) if i]
        return {"consented": consented, "interests": interests, "segments": segment_list(), "market_only": market_only}

    async def of_person(self, user_id: int) -> dict[str, Any]:
        """`GET /client/v1/ads/preferences`."""
        return await self._db.read(lambda conn: self._answer_in(conn, user_id))

    # --- parley.signals ConsentObserver ----------------------------------------------------------------------

    def on_consent_in(self, conn: Connection, user_id: int, purpose: str, granted: bool) -> None:
        if purpose == ADS_PERSONALISATION and not granted:
            repo.save_preferences(conn, self._viewers.of_person(user_id), "", None, self._clock.now_ms())

    async def after_consent(self, user_id: int, purpose: str, granted: bool) -> None:
        if purpose == ADS_PERSONALISATION:
            await self._bus.publish(CHANGED_TOPIC, {"account_id": 0})  # the ad servers forget them at once

    async def set_for_person(self, user_id: int, body: Any) -> dict[str, Any]:
        """`PUT /client/v1/ads/preferences` {consented, interests}: withdrawing consent clears the interests."""
        if not isinstance(body, dict) or set(body) - {"consented", "interests"}:
            raise InvalidInputError("send {consented: true|false, interests: [segment names]}")
        consented = body.get("consented")
        if not isinstance(consented, bool):
            raise InvalidInputError("consented must be true or false")
        interests = body.get("interests", [])
        if not isinstance(interests, list) or not all(isinstance(i, str) for i in interests):
            raise InvalidInputError("interests must be a list of segment names")
        unknown = sorted(set(interests) - set(SEGMENTS))
        if unknown:
            raise InvalidInputError(f"interests: unknown segment '{unknown[0][:40]}'")
        if not consented and interests:
            raise InvalidInputError("interests need consented: true (interest-based ads are opt-in)")
        chosen = ",".join(name for name in SEGMENTS if name in interests)
        viewer = self._viewers.of_person(user_id)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> dict[str, Any]:
            if chosen and self._consents.market_in(conn, user_id).eu_eea:
                raise InvalidInputError(
                    "interest-based ads are never used for numbers in the EU/EEA: ads are picked by country and "
                    "language only"
                )
            self._consents.record_in(conn, user_id, ADS_PERSONALISATION, consented)  # signals: the one consent
            current = repo.get_preferences(conn, viewer)
            since = current["consented_at"] if current is not None and current["consented_at"] is not None else now
            repo.save_preferences(conn, viewer, chosen if consented else "", since if consented else None, now)
            return self._answer_in(conn, user_id)

        saved = await self._db.write("ads.preferences", unit)
        # The ad servers hold consented interests in memory: a new choice counts from the next slot, not in 10 s.
        await self._bus.publish(CHANGED_TOPIC, {"account_id": 0})
        return saved

    def interests_in(self, conn: Connection, viewer: str) -> frozenset[str]:
        """`interests_of` inside the caller's unit."""
        row = repo.get_preferences(conn, viewer)
        if row is None or row["consented_at"] is None or not row["interests"]:
            return frozenset()
        return frozenset(row["interests"].split(","))

    async def interests_of(self, viewer: str) -> frozenset[str]:
        """The segments a viewer opted into (empty: no consent, or none chosen) — the ad server's targeting input."""
        return await self._db.read(lambda conn: self.interests_in(conn, viewer))
