"""The key directory and the to-device relay, in the Matrix key-exchange formats the client libraries speak.

The server checks what it can without any secret: that uploaded keys are the caller's own device's and carry valid
self-signatures, that ciphertext is well-formed Olm, that a recipient exists. It never sees a private key or
plaintext.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any

import canonicaljson
import vodozemac
from sqlalchemy import Connection

from parley.accounts import Principal, UserRow, get_users
from parley.e2ee import repository as repo
from parley.kit.clock import Clock
from parley.kit.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from parley.kit.ids import IdGenerator, first_id_at
from parley.platform.bus import Bus
from parley.platform.db import Database

SERVER_NAME = "parley"
OLM = "m.olm.v1.curve25519-aes-sha2"
MEGOLM = "m.megolm.v1.aes-sha2"
KEY_ALGORITHM = "signed_curve25519"
MAX_USERS_PER_REQUEST = 1000
MAX_KEYS_PER_UPLOAD = 200
MAX_STORED_ONE_TIME_KEYS = 500
SYNC_BATCH = 200
# How long a device-list change keeps being listed to syncing devices (longer than any unit that notes one takes).
DEVICE_LIST_SETTLE_MS = 10_000


class OneTimeKeysExhaustedError(ConflictError):
    code = "one_time_keys_exhausted"


def matrix_user_id(user_id: int) -> str:
    return f"@{user_id}:{SERVER_NAME}"


def parse_matrix_user_id(raw: object) -> int | None:
    """The Parley user id inside `@<id>:parley`, or None."""
    if not isinstance(raw, str) or not raw.startswith("@") or not raw.endswith(":" + SERVER_NAME):
        return None
    local = raw[1 : -len(SERVER_NAME) - 1]
    return int(local) if 0 < len(local) <= 20 and local.isascii() and local.isdigit() else None


def _parse_device_id(raw: object) -> int | None:
    return int(raw) if isinstance(raw, str) and 0 < len(raw) <= 20 and raw.isascii() and raw.isdigit() else None


def _canonical(obj: dict[str, Any]) -> bytes:
    return bytes(
        canonicaljson.encode_canonical_json({k: v for k, v in obj.items() if k not in ("signatures", "unsigned")})
    )


def _curve_key(raw: object, what: str) -> str:
    try:
        if not isinstance(raw, str):
            raise TypeError
        return vodozemac.Curve25519PublicKey.from_base64(raw).to_base64()
    except Exception as error:
        raise InvalidInputError(f"{what} is not a curve25519 public key (unpadded base64 of 32 bytes)") from error


def _verify_signed(obj: object, matrix_user: str, device: str, ed25519: vodozemac.Ed25519PublicKey, what: str) -> None:
    if not isinstance(obj, dict):
        raise InvalidInputError(f"{what} must be an object")
    signatures = obj.get("signatures")
    mine = signatures.get(matrix_user) if isinstance(signatures, dict) else None
    signature = mine.get(f"ed25519:{device}") if isinstance(mine, dict) else None
    if not isinstance(signature, str):
        raise InvalidInputError(f"{what} must be signed by the device's ed25519 key (signatures.{matrix_user})")
    try:
        ed25519.verify_signature(_canonical(obj), vodozemac.Ed25519Signature.from_base64(signature))
    except Exception as error:
        raise InvalidInputError(f"{what} has a signature that does not verify") from error


class E2EEService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        ids: IdGenerator,
        bus: Bus,
        shared_chat_peers: Callable[[Connection, int, Sequence[int] | None], set[int]],
        user_topic: Callable[[int], str],
    ) -> None:
        self._db, self._clock, self._ids, self._bus = db, clock, ids, bus
        # Which of some users (None: of everyone) share a chat with a given user (messaging's, handed in).
        self._shared_chat_peers = shared_chat_peers
        self._user_topic = user_topic

    # --- the key directory ---------------------------------------------------------------------

    async def upload_keys(self, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
        me, device = matrix_user_id(principal.user_id), str(principal.device_id)
        now = self._clock.now_ms()
        change_id = self._ids.next_id()
        one_time = body.get("one_time_keys") or {}
        fallback = body.get("fallback_keys") or {}
        if not isinstance(one_time, dict) or not isinstance(fallback, dict):
            raise InvalidInputError("one_time_keys and fallback_keys must be objects")
        if len(one_time) > MAX_KEYS_PER_UPLOAD or len(fallback) > 4:
            raise InvalidInputError(f"upload at most {MAX_KEYS_PER_UPLOAD} one-time keys at a time")

        def unit(conn: Connection) -> tuple[dict[str, Any], bool]:
            changed = False
            stored = repo.device_keys_of(conn, [principal.device_id]).get(principal.device_id)
            device_keys = body.get("device_keys")
            if device_keys is not None:
                changed = self._accept_device_keys(conn, principal, device_keys, stored, now)
                stored = repo.device_keys_of(conn, [principal.device_id])[principal.device_id]
            if (one_time or fallback) and stored is None:
                raise InvalidInputError("upload the device's keys (device_keys) before or with its one-time keys")
            if stored is not None:
                ed25519 = vodozemac.Ed25519PublicKey.from_base64(stored.ed25519)
                fresh = self._signed_keys(conn, principal.device_id, one_time, me, device, ed25519, fallback=False)
                if repo.one_time_key_count(conn, principal.device_id) + len(fresh) > MAX_STORED_ONE_TIME_KEYS:
                    raise InvalidInputError(f"a device keeps at most {MAX_STORED_ONE_TIME_KEYS} one-time keys")
                repo.insert_one_time_keys(conn, principal.device_id, fresh, now, fallback=False)
                spare = self._signed_keys(conn, principal.device_id, fallback, me, device, ed25519, fallback=True)
                for key_id in spare:
                    repo.delete_fallback_keys(conn, principal.device_id, key_id.split(":", 1)[0])
                repo.insert_one_time_keys(conn, principal.device_id, spare, now, fallback=True)
            if changed:
                repo.note_device_list_change(conn, change_id, principal.user_id, now)
            counts = {"one_time_key_counts": {KEY_ALGORITHM: repo.one_time_key_count(conn, principal.device_id)}}
            return counts, changed

        answer, changed = await self._db.write("e2ee.upload_keys", unit)
        if changed:  # a re-upload of the same keys tells no one
            await self._announce_device_change(principal.user_id)
        return answer

    def _accept_device_keys(
        self, conn: Connection, principal: Principal, keys: object, stored: repo.DeviceKeysRow | None, now: int
    ) -> bool:
        """Store the device's signed identity keys; True when they are new (peers must re-query)."""
        me, device = matrix_user_id(principal.user_id), str(principal.device_id)
        if not isinstance(keys, dict):
            raise InvalidInputError("device_keys must be an object")
        if keys.get("user_id") != me or keys.get("device_id") != device:
            raise ForbiddenError(f"device_keys may only be uploaded for your own device ({me}, device {device})")
        identity = keys.get("keys")
        if not isinstance(identity, dict):
            raise InvalidInputError("device_keys.keys must hold the device's curve25519 and ed25519 keys")
        curve = _curve_key(identity.get(f"curve25519:{device}"), f"keys.curve25519:{device}")
        raw_ed = identity.get(f"ed25519:{device}")
        try:
            if not isinstance(raw_ed, str):
                raise TypeError
            ed25519 = vodozemac.Ed25519PublicKey.from_base64(raw_ed)
        except Exception as error:
            raise InvalidInputError(f"keys.ed25519:{device} is not an ed25519 public key") from error
        algorithms = keys.get("algorithms")
        if not isinstance(algorithms, list) or OLM not in algorithms:
            raise InvalidInputError(f"device_keys.algorithms must list {OLM}")
        _verify_signed(keys, me, device, ed25519, "device_keys")
        signed = json.dumps(keys, separators=(",", ":"), ensure_ascii=False)
        if stored is None:
            repo.insert_device_keys(
                conn, principal.device_id, principal.user_id, curve, ed25519.to_base64(), signed, now
            )
            return True
        if (stored.curve25519, stored.ed25519) != (curve, ed25519.to_base64()):
            raise ConflictError("this device's identity keys are published already; sign in a new device for new keys")
        repo.update_signed_device_keys(conn, principal.device_id, signed, now)
        return False

    def _signed_keys(
        self,
        conn: Connection,
        device_id: int,
        keys: dict[str, Any],
        me: str,
        device: str,
        ed25519: vodozemac.Ed25519PublicKey,
        *,
        fallback: bool,
    ) -> dict[str, str]:
        """The keys of an upload that are new, checked: `signed_curve25519:<id>` → the signed key object."""
        fresh: dict[str, str] = {}
        for key_id, key in keys.items():
            algorithm, _, name = key_id.partition(":")
            if algorithm != KEY_ALGORITHM or not 0 < len(name) <= 64:
                raise InvalidInputError(f"key ids look like '{KEY_ALGORITHM}:<id>' (got {key_id[:80]!r})")
            if not isinstance(key, dict):
                raise InvalidInputError(f"{key_id} must be a signed key object")
            _curve_key(key.get("key"), f"{key_id}.key")
            if bool(key.get("fallback", False)) != fallback:
                raise InvalidInputError(f'{key_id}: fallback keys go in fallback_keys with "fallback": true')
            _verify_signed(key, me, device, ed25519, key_id)
            fresh[key_id] = json.dumps(key, separators=(",", ":"), ensure_ascii=False)
        if not fallback and fresh:
            for key_id, earlier in repo.stored_keys(conn, device_id, fresh).items():
                if json.loads(earlier).get("key") != json.loads(fresh[key_id]).get("key"):
                    raise InvalidInputError(f"{key_id} was uploaded before with another key")
                del fresh[key_id]  # the same key again (a retried upload): kept once
        return fresh

    async def query_keys(self, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
        wanted = body.get("device_keys")
        if not isinstance(wanted, dict) or len(wanted) > MAX_USERS_PER_REQUEST:
            raise InvalidInputError(f"device_keys must map up to {MAX_USERS_PER_REQUEST} user ids to device lists")
        user_ids: dict[int, str] = {}
        for raw in wanted:
            user_id = parse_matrix_user_id(raw)
            if user_id is None:
                raise InvalidInputError(f"{str(raw)[:80]!r} is not a Parley user id (@<id>:{SERVER_NAME})")
            user_ids[user_id] = raw

        def unit(conn: Connection) -> dict[str, Any]:
            people = _people(get_users(conn, user_ids))
            found: dict[str, dict[str, Any]] = {raw: {} for raw in user_ids.values()}
            for row in repo.device_keys_of_users(conn, people):
                only = wanted[user_ids[row.user_id]]
                if isinstance(only, list) and only and str(row.device_id) not in only:
                    continue
                found[user_ids[row.user_id]][str(row.device_id)] = json.loads(row.device_keys)
            return found

        device_keys = await self._db.read(unit)
        return {
            "device_keys": device_keys,
            "failures": {},
            "master_keys": {},
            "self_signing_keys": {},
            "user_signing_keys": {},
        }

    async def claim_keys(self, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
        wanted = body.get("one_time_keys")
        if not isinstance(wanted, dict) or len(wanted) > MAX_USERS_PER_REQUEST:
            raise InvalidInputError(f"one_time_keys must map up to {MAX_USERS_PER_REQUEST} user ids to devices")
        requests: list[tuple[str, int, str, int]] = []
        for raw_user, devices in wanted.items():
            user_id = parse_matrix_user_id(raw_user)
            if user_id is None or not isinstance(devices, dict):
                raise InvalidInputError(f"{str(raw_user)[:80]!r} must be a Parley user id mapped to its devices")
            for raw_device, algorithm in devices.items():
                device_id = _parse_device_id(raw_device)
                if device_id is None or algorithm != KEY_ALGORITHM:
                    raise InvalidInputError(
                        f"claim '{KEY_ALGORITHM}' keys of device ids (got {str(raw_device)[:40]!r})"
                    )
                requests.append((raw_user, user_id, raw_device, device_id))
        if not requests:
            raise InvalidInputError("name at least one device to claim a key of")

        def unit(conn: Connection) -> dict[str, Any]:
            keys = repo.device_keys_of(conn, [d for _, _, _, d in requests])
            people = _people(get_users(conn, {u for _, u, _, _ in requests}))
            claimed: dict[str, dict[str, Any]] = {}
            exhausted: dict[str, list[str]] = {}
            for raw_user, user_id, raw_device, device_id in requests:
                known = keys.get(device_id)
                taken = None
                if known is not None and known.user_id == user_id and user_id in people:
                    taken = repo.claim_key(conn, device_id, KEY_ALGORITHM)
                if taken is None:
                    exhausted.setdefault(raw_user, []).append(raw_device)
                    continue
                claimed.setdefault(raw_user, {})[raw_device] = {taken[0]: json.loads(taken[1])}
            if not claimed:
                if not any(d in keys for _, _, _, d in requests):
                    raise NotFoundError("none of those devices has published keys")
                raise OneTimeKeysExhaustedError(
                    "those devices have no one-time key left (and no fallback key): ask again after they upload more"
                )
            failures = {} if not exhausted else {SERVER_NAME: {"error": "no one-time key left", "devices": exhausted}}
            return {"one_time_keys": claimed, "failures": failures}

        return await self._db.write("e2ee.claim_keys", unit)

    # --- the relay -----------------------------------------------------------------------------

    async def send_to_device(self, principal: Principal, event_type: str, txn_id: str, body: dict[str, Any]) -> None:
        if not 0 < len(event_type) <= 64 or not 0 < len(txn_id) <= 64:
            raise InvalidInputError("the event type and transaction id are 1 to 64 characters")
        messages = body.get("messages")
        if not isinstance(messages, dict) or not messages or len(messages) > MAX_USERS_PER_REQUEST:
            raise InvalidInputError("messages must map user ids to {device id or '*': content}")
        targets: list[tuple[int, str, dict[str, Any]]] = []
        for raw_user, devices in messages.items():
            user_id = parse_matrix_user_id(raw_user)
            if user_id is None or not isinstance(devices, dict):
                raise InvalidInputError(f"{str(raw_user)[:80]!r} must be a Parley user id mapped to its devices")
            for raw_device, content in devices.items():
                if not isinstance(content, dict):
                    raise InvalidInputError("each to-device message's content must be an object")
                if raw_device != "*" and _parse_device_id(raw_device) is None:
                    raise InvalidInputError(f"{str(raw_device)[:40]!r} is not a device id")
                targets.append((user_id, raw_device, content))
        now = self._clock.now_ms()

        def unit(conn: Connection) -> set[int]:
            people = _people(get_users(conn, {u for u, _, _ in targets}))
            missing = {u for u, _, _ in targets} - people
            if missing:
                raise NotFoundError(f"no such person: {matrix_user_id(min(missing))}")
            devices = {row.device_id: row for row in repo.device_keys_of_users(conn, people)}
            rows: list[dict[str, object]] = []
            for user_id, raw_device, content in targets:
                chosen = [
                    row
                    for row in devices.values()
                    if row.user_id == user_id and (raw_device == "*" or str(row.device_id) == raw_device)
                ]
                if raw_device != "*" and not chosen:
                    raise NotFoundError(f"{matrix_user_id(user_id)} has no device {raw_device} with published keys")
                for row in chosen:
                    if event_type == "m.room.encrypted":
                        _check_olm(content, row.curve25519)
                    rows.append(
                        {
                            "id": self._ids.next_id(),  # thread-safe: the unit may run on the database's thread
                            "recipient_device_id": row.device_id,
                            "sender_user_id": principal.user_id,
                            "sender_device_id": principal.device_id,
                            "type": event_type,
                            "content": json.dumps(content, separators=(",", ":"), ensure_ascii=False),
                            "txn_id": txn_id,
                            "created_at": now,
                        }
                    )
            repo.queue_to_device(conn, rows)
            return {int(str(r["recipient_device_id"])) for r in rows}

        recipients = await self._db.write("e2ee.send_to_device", unit)
        if recipients:
            owners = {u for u, _, _ in targets}
            await self._bus.publish_many(
                [(self._user_topic(u), {"type": "to_device", "devices": sorted(map(str, recipients))}) for u in owners]
            )

    async def sync(self, principal: Principal, since: str | None) -> dict[str, Any]:
        after_to_device, after_change = _parse_since(since)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> dict[str, Any]:
            if after_to_device:
                repo.ack_to_device(conn, principal.device_id, after_to_device)
            events = repo.hand_over_to_device(conn, principal.device_id, SYNC_BATCH)
            last_change = repo.last_device_list_change(conn)
            changed: list[str] = []
            if since is not None and last_change > after_change:
                candidates = sorted(repo.users_changed_since(conn, after_change))
                peers = self._shared_chat_peers(conn, principal.user_id, candidates) | (
                    {principal.user_id} & set(candidates)
                )
                changed = [matrix_user_id(u) for u in sorted(peers)]
            next_to_device = max([after_to_device, *(e.id for e in events)])
            # Changes newer than the settle window are listed again next time: one committed late by another
            # process, with a smaller id than the newest seen, is not skipped (a re-listed peer costs a key query).
            settled = min(last_change, first_id_at(now - DEVICE_LIST_SETTLE_MS) - 1)
            return {
                "next_batch": f"{next_to_device}_{max(settled, after_change)}",
                "to_device": {
                    "events": [
                        {"type": e.type, "sender": matrix_user_id(e.sender_user_id), "content": json.loads(e.content)}
                        for e in events
                    ]
                },
                "device_lists": {"changed": changed, "left": []},
                "device_one_time_keys_count": {KEY_ALGORITHM: repo.one_time_key_count(conn, principal.device_id)},
                "device_unused_fallback_key_types": repo.fallback_key_algorithms(conn, principal.device_id),
            }

        return await self._db.write("e2ee.sync", unit)

    # --- devices going away ---------------------------------------------------------------------

    def forget_devices_in(self, conn: Connection, user_id: int, device_ids: Sequence[int], now: int) -> None:
        """Inside the unit that signs devices out or erases a person: their keys and queues go, peers re-query
        (and their next room keys skip those devices)."""
        if repo.delete_device_keys(conn, device_ids):
            repo.note_device_list_change(conn, self._ids.next_id(), user_id, now)

    def forget_device_in(self, conn: Connection, user_id: int, device_id: int, now: int) -> None:
        """AccountService's sign-out observer."""
        self.forget_devices_in(conn, user_id, [device_id], now)

    async def _announce_device_change(self, user_id: int) -> None:
        def unit(conn: Connection) -> set[int]:
            return self._shared_chat_peers(conn, user_id, None)

        peers = await self._db.read(unit)
        event = {"type": "device_list", "user_id": matrix_user_id(user_id)}
        await self._bus.publish_many([(self._user_topic(u), event) for u in sorted(peers | {user_id})])


def _people(found: dict[int, UserRow]) -> set[int]:
    return {u.id for u in found.values() if u.kind == "person"}


def _parse_since(since: str | None) -> tuple[int, int]:
    if since is None:
        return 0, 0
    first, _, second = since.partition("_")
    if not (first.isascii() and first.isdigit() and second.isascii() and second.isdigit()) or len(since) > 45:
        raise InvalidInputError("since must be a next_batch token from an earlier sync")
    return int(first), int(second)


def _check_olm(content: dict[str, Any], recipient_curve: str) -> None:
    """Olm ciphertext for that device, well-formed; anything else is refused before it is queued."""
    if content.get("algorithm") != OLM:
        raise InvalidInputError(f"m.room.encrypted to-device messages use {OLM}")
    _curve_key(content.get("sender_key"), "sender_key")
    ciphertext = content.get("ciphertext")
    if not isinstance(ciphertext, dict) or recipient_curve not in ciphertext:
        raise InvalidInputError("ciphertext must hold a message for the recipient device's curve25519 key")
    message = ciphertext[recipient_curve]
    if not isinstance(message, dict) or message.get("type") not in (0, 1) or not isinstance(message.get("body"), str):
        raise InvalidInputError("each Olm message is {'type': 0 or 1, 'body': base64}")
    try:
        raw = base64.b64decode(message["body"] + "=" * (-len(message["body"]) % 4), validate=True)
        vodozemac.AnyOlmMessage.from_parts(message["type"], raw)
    except (binascii.Error, ValueError, vodozemac.DecodeException) as error:
        raise InvalidInputError("malformed Olm ciphertext") from error
