"""What channels need to know of subscriptions, as a seam: the subscriptions package implements it and the
container hands it to the channel service, so channels never import subscriptions (nor the reverse)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Connection


class ChannelSubscriptions(Protocol):
    def paid_channels_in(self, conn: Connection, channel_ids: Sequence[int]) -> set[int]:
        """Those of `channel_ids` that offer a subscription (the directory's diamond mark)."""
        ...

    def subscribed_channels_in(self, conn: Connection, user_id: int, channel_ids: Sequence[int], now: int) -> set[int]:
        """Those of `channel_ids` whose subscriber-only posts `user_id` may read at `now` (an active subscription,
        or a cancelled one inside its paid period)."""
        ...


class NoChannelSubscriptions:
    """No channel offers a subscription: what channels see when subscriptions are not wired in."""

    def paid_channels_in(self, conn: Connection, channel_ids: Sequence[int]) -> set[int]:
        return set()

    def subscribed_channels_in(self, conn: Connection, user_id: int, channel_ids: Sequence[int], now: int) -> set[int]:
        return set()
