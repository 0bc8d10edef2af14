"""Accounts: people (and later businesses) identified by phone number, their devices and tokens."""

from parley.accounts.models import users as users_table
from parley.accounts.personal_data import (  # rights
    ERASED_NAME,
    ErasedAccount,
    erase_account_in,
    erased_among_in,
    personal_data_in,
    pseudonym_phone,
)
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
    "ERASED_NAME",  # rights
    "AccountService",
    "CodeSender",
    "DevCodeSender",
    "DeviceRow",
    "ErasedAccount",  # rights
    "HttpSmsSender",
    "NoCodeSender",
    "Principal",
    "Session",
    "UserRow",
    "device_topic",
    "erase_account_in",  # rights
    "erased_among_in",  # rights, signals
    "get_device",
    "get_user_by_phone",
    "get_users",
    "insert_user",
    "next_inbox_seqs",
    "note_token_revoked",
    "personal_data_in",  # rights
    "pseudonym_phone",  # rights
    "revocation_counter_sql",
    "users_table",
]
