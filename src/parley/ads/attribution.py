"""Attribution: which ad a conversation, an order or a payment came from.

A chat opened from an ad's link is a ConversationStarted of that ad's click. Orders and payments go to the ad of
the person's last click on that business's ads within the click window, else to the ad of the last impression
their viewer id saw within the view window. Everything is written inside the unit that stored the message or
captured the order, so it commits with it; a replay of the same event id is counted once."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Connection

from parley.ads import attribution_repository as repo
from parley.ads import repository as accounts
from parley.ads.viewers import ViewerIds
from parley.business import ConversationMessage
from parley.config import AdsSettings
from parley.kit.ids import IdGenerator
from parley.payments import OrderRow

DAY_MS = 86_400_000


class AdClickObserver(Protocol):  # signals
    def on_ad_click_in(self, conn: Connection, person_id: int, at: int) -> None:
        """A person opened a chat from an ad's click: from now on the click is known to be theirs."""


class AdAttribution:
    """A business ConversationObserver and a merchant-payments capture observer."""

    def __init__(self, ids: IdGenerator, viewers: ViewerIds, settings: AdsSettings) -> None:
        self._ids = ids
        self._viewers = viewers
        self._click_ms = settings.click_window_days * DAY_MS
        self._view_ms = settings.view_window_days * DAY_MS
        self._click_observers: list[AdClickObserver] = []  # signals

    def add_click_observer(self, observer: AdClickObserver) -> None:  # signals
        self._click_observers.append(observer)  # signals

    def on_conversation_message(self, conn: Connection, message: ConversationMessage) -> None:
        # The hot path: most messages carry neither a referral nor an order, and cost nothing here.
        if message.direction != "in":
            return
        if message.link_code is not None and message.ctwa_clid is not None:
            self._started_in(conn, message)
        if message.order_value is not None:
            total, currency = message.order_value
            self.attribute_in(
                conn,
                message.number.waba_id,
                message.person_id,
                "OrderCreated",
                "order",
                str(message.message_id),
                total,
                currency,
                message.at,
            )

    def on_order_captured(self, conn: Connection, order: OrderRow, now: int) -> None:
        self.attribute_in(
            conn, order.waba_id, order.person_id, "Purchase", "payment", order.reference_id, order.total,
            order.currency, now,
        )  # fmt: skip

    def _started_in(self, conn: Connection, message: ConversationMessage) -> None:
        assert message.link_code is not None and message.ctwa_clid is not None
        ad = repo.ad_of_link(conn, message.link_code)
        if ad is None or ad.waba_id != message.number.waba_id:
            return  # not an ad's link, or (never) another business's ad
        recorded = self._record_in(
            conn, ad, message.ctwa_clid, "click", "chat", "ConversationStarted", message.ctwa_clid, 0, None,
            message.person_id, message.at,
        )  # fmt: skip
        for observer in self._click_observers if recorded else ():  # signals: a replayed click counts once
            observer.on_ad_click_in(conn, message.person_id, message.at)  # signals

    def attribute_in(
        self,
        conn: Connection,
        waba_id: int,
        person_id: int,
        event_name: str,
        source: str,
        event_id: str,
        value: int,
        currency: str | None,
        now: int,
    ) -> bool:
        """Records `event_name` against the ad this person last clicked (or, failing that, saw) of this business's
        ads; False when none qualifies or the event was already recorded."""
        account = accounts.account_of_waba(conn, waba_id)
        if account is None:
            return False  # the business does not advertise
        account_id = int(account["id"])
        if repo.has_conversion(conn, account_id, source, event_id):
            return False
        viewer = self._viewers.of_person(person_id)
        click = repo.last_click(conn, account_id, viewer, person_id, now - self._click_ms)
        if click is not None:
            ad = repo.ad_of(conn, click.ad_id)
            clid: str | None = click.ctwa_clid
            attribution = "click"
        else:
            seen = repo.last_impression_ad(conn, account_id, viewer, now - self._view_ms) if self._view_ms else None
            ad = None if seen is None else repo.ad_of(conn, seen)
            clid, attribution = None, "view"
        if ad is None or ad.waba_id != waba_id:
            return False
        return self._record_in(
            conn, ad, clid, attribution, source, event_name, event_id, value, currency, person_id, now
        )

    def _record_in(
        self,
        conn: Connection,
        ad: repo.AdRef,
        clid: str | None,
        attribution: str,
        source: str,
        event_name: str,
        event_id: str,
        value: int,
        currency: str | None,
        person_id: int | None,
        at: int,
    ) -> bool:
        return repo.insert_conversion(
            conn,
            repo.ConversionRow(
                id=self._ids.next_id(),
                account_id=ad.account_id,
                campaign_id=ad.campaign_id,
                ad_set_id=ad.ad_set_id,
                ad_id=ad.ad_id,
                ctwa_clid=clid,
                attribution=attribution,
                source=source,
                event_name=event_name,
                event_id=event_id,
                value=value,
                currency=currency,
                person_id=person_id,
                event_time=at,
                created_at=at,
            ),
        )
