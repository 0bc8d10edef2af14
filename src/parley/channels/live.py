"""The live fan-out of channel posts in one process: channel id → this process's open streams of its followers.

A stream opening loads its person's followed (and run) channels in one indexed read; follows and unfollows, made
in any process, come over one bus topic. The process subscribes to `channel:{id}` only while it holds a stream
of one of that channel's followers, so with Redis each post reaches just the processes that need it. A post's
event is encoded once and the same text goes to every local stream; a subscriber-only post goes whole to
subscribers and admins and as a locked stub to the rest; an event addressed to the admins (the follower count) goes
to their local streams only. Nothing is written per follower.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

import orjson
from sqlalchemy import Connection

from parley.channels import repository as repo
from parley.channels.access import ChannelSubscriptions
from parley.channels.service import ADMINS_KEY, FOLLOWS_TOPIC, channel_topic, locked_stub
from parley.kit.clock import Clock
from parley.messaging import DeviceStream
from parley.platform.bus import Bus, Subscription
from parley.platform.db import Database

log = logging.getLogger(__name__)
Event = dict[str, Any]


class ChannelFanout:
    """A `StreamListener` of the messaging streams (messaging never imports channels)."""

    def __init__(self, db: Database, bus: Bus, clock: Clock, subscriptions: ChannelSubscriptions) -> None:
        self._db, self._bus, self._clock, self._subscriptions = db, bus, clock, subscriptions
        self._streams: dict[int, set[DeviceStream]] = {}  # user -> their open streams here
        self._channels_of: dict[int, set[int]] = {}  # user -> channels they follow or run (loaded users only)
        self._followers: dict[int, set[int]] = {}  # channel -> local users who follow or run it
        self._topics: dict[int, Subscription] = {}
        self._follows: Subscription | None = None
        self._loading: set[asyncio.Task[None]] = set()

    def use_subscriptions(self, subscriptions: ChannelSubscriptions) -> None:
        self._subscriptions = subscriptions

    def start(self) -> None:
        self._follows = self._bus.subscribe(FOLLOWS_TOPIC, self._on_follow)

    def close(self) -> None:
        if self._follows is not None:
            self._follows.cancel()
        for subscription in self._topics.values():
            subscription.cancel()
        self._topics.clear()
        for task in self._loading:
            task.cancel()

    def local_followers(self, channel_id: int) -> int:
        """How many people here hear `channel_id` live (for tests and the benchmark)."""
        return len(self._followers.get(channel_id, ()))

    # --- StreamListener ----------------------------------------------------------------------------------------

    def stream_opened(self, stream: DeviceStream) -> None:
        user_id = stream.user_id
        streams = self._streams.setdefault(user_id, set())
        streams.add(stream)
        if len(streams) == 1:
            self._channels_of.setdefault(user_id, set())  # follows made while loading are heard meanwhile
            task = asyncio.get_running_loop().create_task(self._load(user_id))
            self._loading.add(task)
            task.add_done_callback(self._loading.discard)

    def stream_closed(self, stream: DeviceStream) -> None:
        user_id = stream.user_id
        streams = self._streams.get(user_id)
        if streams is None or stream not in streams:
            return
        streams.discard(stream)
        if streams:
            return
        del self._streams[user_id]
        for channel_id in self._channels_of.pop(user_id, set()):
            self._drop(channel_id, user_id)

    async def _load(self, user_id: int) -> None:
        try:
            channel_ids = await self._db.read(lambda conn: repo.followed_channel_ids(conn, user_id))
        except Exception:
            log.exception("loading followed channels failed")
            return
        if user_id not in self._streams:  # gone while loading
            return
        known = self._channels_of.setdefault(user_id, set())
        for channel_id in channel_ids:  # merged with follows heard while loading
            if channel_id not in known:
                known.add(channel_id)
                self._add(channel_id, user_id)

    def _on_follow(self, event: Event) -> None:
        user_id, channel_id = int(event["user_id"]), int(event["channel_id"])
        known = self._channels_of.get(user_id)
        if known is None:  # not streaming here
            return
        if event.get("following"):
            if channel_id not in known:
                known.add(channel_id)
                self._add(channel_id, user_id)
        elif channel_id in known:
            known.discard(channel_id)
            self._drop(channel_id, user_id)

    def _add(self, channel_id: int, user_id: int) -> None:
        followers = self._followers.setdefault(channel_id, set())
        followers.add(user_id)
        if channel_id not in self._topics:
            handler = functools.partial(self._on_channel_event, channel_id)
            self._topics[channel_id] = self._bus.subscribe(channel_topic(channel_id), handler)

    def _drop(self, channel_id: int, user_id: int) -> None:
        followers = self._followers.get(channel_id)
        if followers is None:
            return
        followers.discard(user_id)
        if not followers:
            del self._followers[channel_id]
            subscription = self._topics.pop(channel_id, None)
            if subscription is not None:
                subscription.cancel()

    # --- delivery ----------------------------------------------------------------------------------------------

    def _on_channel_event(self, channel_id: int, event: Event) -> None:
        followers = self._followers.get(channel_id)
        if not followers:
            return
        if ADMINS_KEY in event:  # for the channel's admins only: a handful of streams, never the followers
            admins = {int(u) for u in event[ADMINS_KEY]} & followers
            text = orjson.dumps({k: v for k, v in event.items() if k != ADMINS_KEY}).decode()
            for user_id in admins:
                for stream in self._streams.get(user_id, ()):
                    stream.push_text(text)
            return
        post = event.get("post")
        if isinstance(post, dict) and post.get("exclusive"):
            task = asyncio.get_running_loop().create_task(self._deliver_exclusive(channel_id, event, set(followers)))
            self._loading.add(task)
            task.add_done_callback(self._loading.discard)
            return
        # After the current callback: with the in-process bus the publisher is the POST itself, whose answer
        # need not wait until thousands of streams are handed the post.
        asyncio.get_running_loop().call_soon(self._push_all, orjson.dumps(event).decode(), channel_id)

    def _push_all(self, text: str, channel_id: int) -> None:
        """The same encoded text to every local stream of the channel's followers."""
        for user_id in self._followers.get(channel_id, ()):
            for stream in self._streams.get(user_id, ()):
                stream.push_text(text)

    async def _deliver_exclusive(self, channel_id: int, event: Event, followers: set[int]) -> None:
        now = self._clock.now_ms()
        users = sorted(followers)

        def unit(conn: Connection) -> set[int]:
            readers = repo.admin_ids(conn, channel_id) & followers
            for u in users:
                if u not in readers and self._subscriptions.subscribed_channels_in(conn, u, [channel_id], now):
                    readers.add(u)
            return readers

        try:
            readers = await self._db.read(unit)
        except Exception:
            log.exception("checking subscribers of a channel post failed")
            return
        whole = orjson.dumps(event).decode()
        stub = orjson.dumps({**event, "post": locked_stub(event["post"])}).decode()
        for user_id in users:
            text = whole if user_id in readers else stub
            for stream in self._streams.get(user_id, ()):
                stream.push_text(text)
