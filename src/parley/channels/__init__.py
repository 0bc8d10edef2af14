"""Channels: one-way broadcasts to followers, a directory to find them, and posts that reach every online
follower without a row per follower."""

from parley.channels.access import ChannelSubscriptions, NoChannelSubscriptions
from parley.channels.live import ChannelFanout
from parley.channels.personal_data import (  # rights
    erase_person_in,
    personal_data_in,
)
from parley.channels.repository import (
    adjust_subscriber_count_in,
    channel_owner_in,
    channel_waba_in,
    is_channel_admin_in,
)
from parley.channels.service import CATEGORIES, ChannelService, channel_topic

__all__ = [
    "CATEGORIES",
    "ChannelFanout",
    "ChannelService",
    "ChannelSubscriptions",
    "NoChannelSubscriptions",
    "adjust_subscriber_count_in",
    "channel_owner_in",
    "channel_topic",
    "channel_waba_in",
    "erase_person_in",  # rights
    "is_channel_admin_in",
    "personal_data_in",  # rights
]
