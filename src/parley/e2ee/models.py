"""Tables of the key directory (devices' identity keys, one-time and fallback keys), the to-device relay of
ciphertext between devices, and the log of device-list changes other devices learn about when they sync.

The server stores public keys and ciphertext only: it never holds a private key or a message's plaintext.
"""

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, String, Table, Text, false

from parley.kit.db import Id, metadata

# A device's signed identity keys (Matrix's `device_keys` object, stored as uploaded after its signature checks).
e2ee_device_keys = Table(
    "e2ee_device_keys",
    metadata,
    Column("device_id", Id, ForeignKey("devices.id"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("curve25519", String(64), nullable=False),
    Column("ed25519", String(64), nullable=False),
    Column("device_keys", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# Signed one-time keys (claimed once, then deleted) and each device's fallback key (kept until replaced).
e2ee_one_time_keys = Table(
    "e2ee_one_time_keys",
    metadata,
    Column("device_id", Id, ForeignKey("devices.id"), primary_key=True),
    Column("key_id", String(96), primary_key=True),  # "signed_curve25519:AAAAAQ"
    Column("key", Text, nullable=False),  # the signed key object, JSON
    Column("fallback", Boolean, nullable=False, server_default=false()),
    Column("created_at", BigInteger, nullable=False),
)
Index("ix_e2ee_one_time_keys_claim", e2ee_one_time_keys.c.device_id, e2ee_one_time_keys.c.fallback)

# Ciphertext from one device to another (room keys travel here, Olm-encrypted); deleted once the recipient
# device syncs past it. `id` orders a device's queue.
e2ee_to_device = Table(
    "e2ee_to_device",
    metadata,
    Column("id", Id, primary_key=True),
    Column("recipient_device_id", Id, ForeignKey("devices.id"), nullable=False),
    Column("sender_user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("sender_device_id", Id, nullable=False),
    Column("type", String(64), nullable=False),
    Column("content", Text, nullable=False),
    Column("txn_id", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # Handed to the device by a sync; deleted once a later sync acknowledges it. A message committed late with a
    # smaller id than one already handed over (two processes queueing at once) is still undelivered, so it is
    # handed over next time instead of being deleted unseen by the acknowledgement.
    Column("delivered", Boolean, nullable=False, server_default=false()),
)
Index("ix_e2ee_to_device_queue", e2ee_to_device.c.recipient_device_id, e2ee_to_device.c.id)
# A retried sendToDevice (same sender device and transaction id) queues nothing twice.
Index(
    "uq_e2ee_to_device_txn",
    e2ee_to_device.c.sender_device_id,
    e2ee_to_device.c.txn_id,
    e2ee_to_device.c.recipient_device_id,
    unique=True,
)

# One row each time a person's set of devices or their keys change: peers re-query that person's devices.
e2ee_device_list_changes = Table(
    "e2ee_device_list_changes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", BigInteger, nullable=False),
)
