"""Accounts: people (and later businesses) identified by phone number, their devices and tokens."""

from parley.accounts.models import users as users_table
from parley.accounts.repository import (
    DeviceRow,
    UserRow,
    get_device,
    get_user_by_phone,
    get_users,
    insert_user,
    next_inbox_seqs,
    note_token_revoked,
    revocation_counter_sql,
)
from parley.accounts.sender import CodeSender, DevCodeSender, HttpSmsSender, NoCodeSender
from parley.accounts.service import AccountService, Principal, Session, device_topic

__all__ = [
    "AccountService",
    "CodeSender",
    "DevCodeSender",
    "DeviceRow",
    "HttpSmsSender",
    "NoCodeSender",
    "Principal",
    "Session",
    "UserRow",
    "device_topic",
    "get_device",
    "get_user_by_phone",
    "get_users",
    "insert_user",
    "next_inbox_seqs",
    "note_token_revoked",
    "revocation_counter_sql",
    "users_table",
]
