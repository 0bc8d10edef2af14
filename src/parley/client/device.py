"""`E2EEDevice`: one device's end-to-end encryption over a `ParleyClient`, in Matrix's formats (docs/e2ee.md).

Olm (vodozemac) carries room keys device to device; Megolm (vodozemac) encrypts chat messages, one outbound
session per chat, shared with every device of every member and rotated when a member leaves, after 100 messages
or after a week. Keys live in memory; `export_state` / `restore` keep a device across restarts.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, cast

import canonicaljson
import vodozemac

from parley.client.api import ParleyClient
from parley.client.attachments import decrypt_attachment, encrypt_attachment
from parley.client.ids import direct_room_id, group_room_id, user_id_of, user_mxid
from parley.client.safety import safety_number
from parley.kit.clock import Clock, SystemClock

OLM = "m.olm.v1.curve25519-aes-sha2"
MEGOLM = "m.megolm.v1.aes-sha2"
SIGNED_CURVE = "signed_curve25519"
ROTATE_AFTER_MESSAGES = 100
ROTATE_AFTER_MS = 7 * 24 * 3600 * 1000
# A person's own device sends another of theirs the room keys it holds (docs/e2ee.md § Chat history to a new device),
# in Matrix's key-export format, a batch per Olm message so each request stays under the server's 64 KiB body limit.
HISTORY_KEYS = "parley.history_keys"
HISTORY_BATCH = 40
_MAX_SYNC_PAGES = 50  # a bound on one sync's round trips; what is left waits for the next one


class DecryptionError(ValueError):
    """A message or to-device event this device cannot (or must not) decrypt; `reason` says why."""


@dataclass(frozen=True)
class PeerDevice:
    """A device of someone (or of oneself), with identity keys whose self-signature checked out."""

    user: str  # "@123:parley"
    device_id: str
    curve25519: str
    ed25519: str


@dataclass(frozen=True)
class RoomEvent:
    """A decrypted chat message: Matrix's `{"type", "content", "room_id"}` plus who sent it."""

    room_id: str
    type: str
    content: dict[str, Any]
    sender_user: str
    sender_key: str
    session_id: str
    message_index: int


@dataclass(frozen=True)
class ReadMessage:
    """A message of a chat as this device reads it: `event` when it decrypted, else `error`."""

    id: str
    sender_id: str
    timestamp: int
    event: RoomEvent | None
    error: str | None
    raw: dict[str, Any]

    @property
    def body(self) -> str | None:
        return None if self.event is None else cast("str | None", self.event.content.get("body"))


@dataclass
class _Outbound:
    session: vodozemac.GroupSession
    created_at: int
    shared_with: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class _Inbound:
    session: vodozemac.InboundGroupSession
    sender_user: str
    sender_key: str


def _canonical(obj: dict[str, Any]) -> bytes:
    return bytes(canonicaljson.encode_canonical_json(obj))


def _without_signatures(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}


def verify_signed(obj: dict[str, Any], user: str, device_id: str, ed25519: str) -> bool:
    """Whether `obj` carries a valid signature by that device's ed25519 key over its canonical JSON."""
    try:
        signature = obj["signatures"][user][f"ed25519:{device_id}"]
        key = vodozemac.Ed25519PublicKey.from_base64(ed25519)
        key.verify_signature(_canonical(_without_signatures(obj)), vodozemac.Ed25519Signature.from_base64(signature))
    except (KeyError, TypeError, ValueError):
        return False
    return True


class E2EEDevice:
    """The encryption state of the device `api` is signed in as; every I/O goes through `api`."""

    def __init__(
        self,
        api: ParleyClient,
        *,
        clock: Clock | None = None,
        one_time_keys: int = 50,
        fallback_key: bool = True,
    ) -> None:
        if api.user_id is None or api.device_id is None:
            raise ValueError("sign the client in first")
        self.api = api
        self.user = user_mxid(api.user_id)
        self.device_id = api.device_id
        self._clock: Clock = clock or SystemClock()
        self._target_otks = one_time_keys
        self._fallback = fallback_key
        self.account = vodozemac.Account()
        self._olm: dict[str, list[vodozemac.Session]] = {}  # peer curve25519 -> sessions, most recent last
        self._devices: dict[str, dict[str, PeerDevice]] = {}  # user -> device id -> device (trust on first use)
        self._outbound: dict[str, _Outbound] = {}  # room id -> this device's Megolm session there
        self._inbound: dict[tuple[str, str], _Inbound] = {}  # (room id, session id) -> session
        self._seen: dict[tuple[str, str, int], str] = {}  # (room, session, message index) -> first message id
        self._since: str | None = None
        self._peer_ids: dict[str, str] = {}  # phone -> user id
        self.identity_changes: list[str] = []  # users whose published device keys changed (a notice in the chat)
        self.history_imported = 0  # room keys another device of this person sent (chat history it can now read)

    # --- keeping a device across restarts ----------------------------------------------------------

    def export_state(self, pickle_key: bytes) -> str:
        """Everything this device holds (account, Olm and Megolm sessions, known devices) as one JSON string;
        the secret parts are vodozemac pickles encrypted with `pickle_key` (32 bytes). Keep it as safe as a key."""
        return json.dumps(
            {
                "v": 1,
                "user": self.user,
                "device_id": self.device_id,
                "account": self.account.pickle(pickle_key),
                "olm": {curve: [x.pickle(pickle_key) for x in sessions] for curve, sessions in self._olm.items()},
                "devices": {
                    user: {d.device_id: [d.curve25519, d.ed25519] for d in devices.values()}
                    for user, devices in self._devices.items()
                },
                "outbound": {
                    room: [o.session.pickle(pickle_key), o.created_at, sorted(o.shared_with)]
                    for room, o in self._outbound.items()
                },
                "inbound": [
                    [room, sid, i.session.pickle(pickle_key), i.sender_user, i.sender_key]
                    for (room, sid), i in self._inbound.items()
                ],
                "seen": [[*key, message_id] for key, message_id in self._seen.items()],
                "since": self._since,
                "peer_ids": self._peer_ids,
            }
        )

    @classmethod
    def restore(
        cls, api: ParleyClient, state: str, pickle_key: bytes, *, clock: Clock | None = None, one_time_keys: int = 50
    ) -> E2EEDevice:
        """The device `export_state` saved, signed in through `api` (the same user and device)."""
        data = json.loads(state)
        device = cls(api, clock=clock, one_time_keys=one_time_keys)
        if (data["user"], data["device_id"]) != (device.user, device.device_id):
            raise ValueError("this state belongs to another device")
        device.account = vodozemac.Account.from_pickle(data["account"], pickle_key)
        device._olm = {
            curve: [vodozemac.Session.from_pickle(x, pickle_key) for x in sessions]
            for curve, sessions in data["olm"].items()
        }
        device._devices = {
            user: {dev: PeerDevice(user, dev, curve, ed) for dev, (curve, ed) in devices.items()}
            for user, devices in data["devices"].items()
        }
        device._outbound = {
            room: _Outbound(
                vodozemac.GroupSession.from_pickle(pickled, pickle_key),
                int(created_at),
                {(str(u), str(d)) for u, d in shared},
            )
            for room, (pickled, created_at, shared) in data["outbound"].items()
        }
        device._inbound = {
            (room, sid): _Inbound(vodozemac.InboundGroupSession.from_pickle(pickled, pickle_key), user, key)
            for room, sid, pickled, user, key in data["inbound"]
        }
        device._seen = {(room, sid, int(index)): message_id for room, sid, index, message_id in data["seen"]}
        device._since = data["since"]
        device._peer_ids = dict(data["peer_ids"])
        return device

    # --- identity ----------------------------------------------------------------------------------

    @property
    def curve25519(self) -> str:
        return self.account.curve25519_key.to_base64()

    @property
    def ed25519(self) -> str:
        return self.account.ed25519_key.to_base64()

    def _sign(self, obj: dict[str, Any]) -> dict[str, Any]:
        signature = self.account.sign(_canonical(_without_signatures(obj))).to_base64()
        return obj | {"signatures": {self.user: {f"ed25519:{self.device_id}": signature}}}

    def device_keys(self) -> dict[str, Any]:
        """Matrix's signed `device_keys` object for this device."""
        return self._sign(
            {
                "user_id": self.user,
                "device_id": self.device_id,
                "algorithms": [OLM, MEGOLM],
                "keys": {f"curve25519:{self.device_id}": self.curve25519, f"ed25519:{self.device_id}": self.ed25519},
            }
        )

    def _signed_keys(self, keys: dict[str, vodozemac.Curve25519PublicKey], *, fallback: bool) -> dict[str, Any]:
        extra = {"fallback": True} if fallback else {}
        return {
            f"{SIGNED_CURVE}:{key_id}": self._sign({"key": key.to_base64()} | extra) for key_id, key in keys.items()
        }

    async def publish(self) -> int:
        """Upload the device keys, one-time keys and a fallback key; the server's count of one-time keys."""
        self.account.generate_one_time_keys(self._target_otks)
        body: dict[str, Any] = {
            "device_keys": self.device_keys(),
            "one_time_keys": self._signed_keys(self.account.one_time_keys, fallback=False),
        }
        if self._fallback:
            # The stubs of vodozemac 0.10.0 omit the fallback-key methods the binding has.
            account: Any = self.account
            account.generate_fallback_key()
            body["fallback_keys"] = self._signed_keys(account.fallback_key, fallback=True)
        answer = await self.api.keys_upload(body)
        self.account.mark_keys_as_published()
        return int(answer["one_time_key_counts"].get(SIGNED_CURVE, 0))

    async def _replenish(self, count: int) -> None:
        # Top up once the server holds half or less, so claims rarely fall back to the fallback key.
        if count > self._target_otks // 2:
            return
        self.account.generate_one_time_keys(self._target_otks - count)
        await self.api.keys_upload({"one_time_keys": self._signed_keys(self.account.one_time_keys, fallback=False)})
        self.account.mark_keys_as_published()

    # --- the device directory ----------------------------------------------------------------------

    async def query_devices(self, users: list[str]) -> dict[str, dict[str, PeerDevice]]:
        """Every device of `users` whose keys are self-signed; a device whose keys changed is dropped."""
        answer = await self.api.keys_query(users)
        found: dict[str, dict[str, PeerDevice]] = {}
        for user in users:
            devices: dict[str, PeerDevice] = {}
            for device_id, keys in (answer.get("device_keys", {}).get(user) or {}).items():
                device = self._check_device(user, device_id, keys)
                if device is not None:
                    devices[device_id] = device
            known = self._devices.get(user)
            if known is not None and set(known) != set(devices):
                self.identity_changes.append(user)
            self._devices[user] = devices
            found[user] = devices
        return found

    def _check_device(self, user: str, device_id: str, keys: dict[str, Any]) -> PeerDevice | None:
        try:
            if keys["user_id"] != user or keys["device_id"] != device_id:
                return None
            curve = keys["keys"][f"curve25519:{device_id}"]
            ed = keys["keys"][f"ed25519:{device_id}"]
        except (KeyError, TypeError):
            return None
        if not verify_signed(keys, user, device_id, ed):
            return None
        known = self._devices.get(user, {}).get(device_id)
        if known is not None and (known.curve25519, known.ed25519) != (curve, ed):
            return None  # identity keys never change: a different key under a known id is an impostor
        return PeerDevice(user, device_id, curve, ed)

    async def safety_number_with(self, user_id: str) -> str:
        """The 60 digits this person and `user_id` compare (docs/e2ee.md), from both people's device keys."""
        me, peer = self.user, user_mxid(user_id)
        devices = await self.query_devices([me, peer])
        mine = [d.ed25519 for d in devices[me].values()]
        theirs = [d.ed25519 for d in devices[peer].values()]
        return safety_number(user_id_of(me), mine, int(user_id), theirs)

    # --- Olm: to-device ----------------------------------------------------------------------------

    async def _ensure_olm(self, devices: list[PeerDevice]) -> None:
        """Claim one-time keys and open an outbound Olm session for each device that has none yet."""
        missing = [d for d in devices if d.curve25519 not in self._olm]
        if not missing:
            return
        wanted: dict[str, dict[str, str]] = {}
        for d in missing:
            wanted.setdefault(d.user, {})[d.device_id] = SIGNED_CURVE
        answer = await self.api.keys_claim(wanted)
        claimed = answer.get("one_time_keys", {})
        for d in missing:
            for key_obj in (claimed.get(d.user, {}).get(d.device_id) or {}).values():
                if not verify_signed(key_obj, d.user, d.device_id, d.ed25519):
                    continue  # a key the device did not sign could be the server's own
                self.open_olm_session(d, str(key_obj["key"]))
                break

    def open_olm_session(self, device: PeerDevice, one_time_key: str) -> None:
        """An outbound Olm session to `device` from one of its (claimed, signature-checked) one-time keys."""
        session = self.account.create_outbound_session(
            vodozemac.Curve25519PublicKey.from_base64(device.curve25519),
            vodozemac.Curve25519PublicKey.from_base64(one_time_key),
        )
        self._olm[device.curve25519] = [session]

    def olm_encrypt(self, device: PeerDevice, event_type: str, content: dict[str, Any]) -> dict[str, Any]:
        """The `m.room.encrypted` to-device content carrying `content` to `device` (an Olm session must exist)."""
        payload = {
            "type": event_type,
            "content": content,
            "sender": self.user,
            "sender_device": self.device_id,
            "keys": {"ed25519": self.ed25519},
            "recipient": device.user,
            "recipient_keys": {"ed25519": device.ed25519},
        }
        session = self._olm[device.curve25519][-1]
        message_type, body = session.encrypt(json.dumps(payload).encode()).to_parts()
        return {
            "algorithm": OLM,
            "sender_key": self.curve25519,
            "ciphertext": {device.curve25519: {"type": message_type, "body": _b64(body)}},
        }

    def _olm_decrypt(self, sender_key: str, message_type: int, body: bytes) -> bytes:
        message = vodozemac.AnyOlmMessage.from_parts(message_type, body)
        sessions = self._olm.setdefault(sender_key, [])
        pre_key = message.to_pre_key() if message_type == 0 else None
        for session in reversed(sessions):
            if pre_key is not None and not session.session_matches(pre_key):
                continue
            try:
                plaintext = session.decrypt(message)
            except vodozemac.OlmDecryptionException:
                continue
            sessions.remove(session)
            sessions.append(session)  # the session that worked is the one to answer on
            return plaintext
        if pre_key is None:
            raise DecryptionError("no Olm session with that device decrypts this message")
        try:
            session, plaintext = self.account.create_inbound_session(
                vodozemac.Curve25519PublicKey.from_base64(sender_key), pre_key
            )
        except (vodozemac.SessionCreationException, vodozemac.KeyException) as error:
            raise DecryptionError(f"cannot open an Olm session: {error}") from error
        sessions.append(session)
        return plaintext

    def decrypt_to_device(self, event: dict[str, Any]) -> dict[str, Any]:
        """The checked plaintext (`type`, `content`, ...) of an Olm-encrypted to-device event."""
        content = event.get("content") or {}
        if event.get("type") != "m.room.encrypted" or content.get("algorithm") != OLM:
            raise DecryptionError("not an Olm-encrypted event")
        try:
            sender_key = str(content["sender_key"])
            mine = content["ciphertext"][self.curve25519]
            body = _unb64(str(mine["body"]))
            plaintext = json.loads(self._olm_decrypt(sender_key, int(mine["type"]), body))
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, DecryptionError):
                raise
            raise DecryptionError(f"malformed Olm event: {error}") from error
        if not isinstance(plaintext, dict):
            raise DecryptionError("the Olm payload is not a JSON object")
        # The checks Matrix's OlmMachine makes: the payload names us and the sender the server says.
        if (
            plaintext.get("recipient") != self.user
            or (plaintext.get("recipient_keys") or {}).get("ed25519") != self.ed25519
            or plaintext.get("sender") != event.get("sender")
        ):
            raise DecryptionError("the Olm payload names another recipient or sender")
        known = self._devices.get(str(event.get("sender")), {}).get(str(plaintext.get("sender_device")))
        claimed_ed25519 = (plaintext.get("keys") or {}).get("ed25519")
        if known is not None and (known.curve25519 != sender_key or known.ed25519 != claimed_ed25519):
            raise DecryptionError("the Olm payload's keys are not the sending device's")
        result: dict[str, Any] = plaintext | {"sender_key": sender_key}
        return result

    async def sync(self) -> list[dict[str, Any]]:
        """Drain this device's to-device queue (each page acknowledges the one before): take room keys in, top up
        one-time keys; the decrypted events."""
        received: list[dict[str, Any]] = []
        history: list[dict[str, Any]] = []
        for _ in range(_MAX_SYNC_PAGES):
            answer = await self.api.keys_sync(self._since)
            self._since = answer.get("next_batch", self._since)
            events = answer.get("to_device", {}).get("events", [])
            for event in events:
                try:
                    plaintext = self.decrypt_to_device(event)
                except DecryptionError:
                    continue  # one bad or forged event must not stop the queue
                if plaintext.get("type") == "m.room_key":
                    self.accept_room_key(plaintext)
                elif plaintext.get("type") == HISTORY_KEYS:
                    history.append(plaintext)
                received.append(plaintext)
            if not events:
                break
        if history:
            await self.query_devices([self.user])  # which devices are this person's, as the directory says now
            self.history_imported += sum(self.accept_history_keys(p) for p in history)
        await self._replenish(int(answer.get("device_one_time_keys_count", {}).get(SIGNED_CURVE, 0)))
        return received

    def accept_room_key(self, plaintext: dict[str, Any]) -> None:
        """Keep the Megolm session of a decrypted `m.room_key` event (from `decrypt_to_device`)."""
        content = plaintext.get("content") or {}
        if content.get("algorithm") != MEGOLM:
            return
        try:
            session = vodozemac.InboundGroupSession(vodozemac.SessionKey(str(content["session_key"])))
            room_id = str(content["room_id"])
        except (KeyError, ValueError):
            return
        if session.session_id != content.get("session_id"):
            return
        key = (room_id, session.session_id)
        if key not in self._inbound:  # never let a later copy replace an earlier (lower-index) one
            self._inbound[key] = _Inbound(session, str(plaintext["sender"]), str(plaintext["sender_key"]))

    # --- chat history to another device of this person ----------------------------------------------

    def exported_room_keys(self) -> list[dict[str, Any]]:
        """Every Megolm session this device can read, from the first message it can read, in Matrix's key-export
        format (what `importExportedRoomKeys` of matrix-sdk-crypto reads, so a browser device takes them too)."""
        exported: list[dict[str, Any]] = []
        for (room_id, session_id), inbound in self._inbound.items():
            session = inbound.session
            session_key = session.export_at(session.first_known_index)
            if session_key is None:
                continue
            sender = self._devices.get(inbound.sender_user, {})
            claimed = next((d.ed25519 for d in sender.values() if d.curve25519 == inbound.sender_key), None)
            if inbound.sender_key == self.curve25519:
                claimed = self.ed25519
            exported.append(
                {
                    "algorithm": MEGOLM,
                    "room_id": room_id,
                    "sender_key": inbound.sender_key,
                    "session_id": session_id,
                    "session_key": session_key.to_base64(),
                    "sender_claimed_keys": {} if claimed is None else {"ed25519": claimed},
                    "forwarding_curve25519_key_chain": [],
                    # Parley's addition (other readers ignore it): who the sender is, as this device checked it.
                    "parley_sender": inbound.sender_user,
                }
            )
        return exported

    async def transfer_history(self, device_id: str) -> int:
        """Send another device of this person every room key this one holds, so it reads the chats' past messages
        (the server relays Olm ciphertext, as for room keys). How many keys were sent."""
        await self.sync()  # room keys still queued for this device travel too
        own = (await self.query_devices([self.user]))[self.user]
        target = own.get(device_id)
        if target is None or device_id == self.device_id:
            raise ValueError(f"{device_id!r} is not another device of this person with published keys")
        await self._ensure_olm([target])
        if target.curve25519 not in self._olm:
            raise ValueError("that device has no one-time key left to start a session with; try again later")
        keys = self.exported_room_keys()
        for start in range(0, len(keys), HISTORY_BATCH):
            content = {"keys": keys[start : start + HISTORY_BATCH]}
            message = self.olm_encrypt(target, HISTORY_KEYS, content)
            await self.api.send_to_device("m.room.encrypted", {self.user: {device_id: message}}, uuid.uuid4().hex)
        return len(keys)

    def accept_history_keys(self, plaintext: dict[str, Any]) -> int:
        """Keep the room keys a decrypted `parley.history_keys` event carries, when another device of this person sent
        it (a known device of ours, its Olm key matching); how many were new. Anyone else's are ignored."""
        mine = self._devices.get(self.user, {}).get(str(plaintext.get("sender_device")))
        if plaintext.get("sender") != self.user or mine is None or mine.curve25519 != plaintext.get("sender_key"):
            return 0
        imported = 0
        for key in (plaintext.get("content") or {}).get("keys") or []:
            try:
                if key["algorithm"] != MEGOLM:
                    continue
                session = vodozemac.InboundGroupSession.import_session(
                    vodozemac.ExportedSessionKey(str(key["session_key"]))
                )
                room_id, sender_key = str(key["room_id"]), str(key["sender_key"])
            except (KeyError, TypeError, ValueError):
                continue
            held = self._inbound.get((room_id, session.session_id))
            if session.session_id != key.get("session_id") or (
                held is not None and held.session.first_known_index <= session.first_known_index
            ):
                continue  # a copy that reads no further back than the one held
            sender_user = self._sender_of(sender_key) or key.get("parley_sender")
            if not isinstance(sender_user, str):
                continue
            self._inbound[(room_id, session.session_id)] = _Inbound(session, sender_user, sender_key)
            imported += 1
        return imported

    def _sender_of(self, curve25519: str) -> str | None:
        if curve25519 == self.curve25519:
            return self.user
        for user, devices in self._devices.items():
            if any(d.curve25519 == curve25519 for d in devices.values()):
                return user
        return None

    # --- Megolm: chat messages ---------------------------------------------------------------------

    @property
    def as_peer(self) -> PeerDevice:
        """This device as others see it in the directory."""
        return PeerDevice(self.user, self.device_id, self.curve25519, self.ed25519)

    def room_key(self, room_id: str) -> dict[str, Any]:
        """The `m.room_key` content of this device's Megolm session in the room, from its current message index
        (a device given it cannot read what was sent before)."""
        outbound = self._outbound.get(room_id) or self._new_outbound(room_id)
        return {
            "algorithm": MEGOLM,
            "room_id": room_id,
            "session_id": outbound.session.session_id,
            "session_key": outbound.session.session_key.to_base64(),
        }

    def _new_outbound(self, room_id: str) -> _Outbound:
        session = vodozemac.GroupSession()
        # Our own devices read what this one sends: keep an inbound copy from index 0.
        self._inbound[(room_id, session.session_id)] = _Inbound(
            vodozemac.InboundGroupSession(session.session_key), self.user, self.curve25519
        )
        outbound = _Outbound(session, self._clock.now_ms())
        self._outbound[room_id] = outbound
        return outbound

    async def share_room_key(self, room_id: str, member_ids: list[str]) -> _Outbound:
        """This device's Megolm session for the room, rotated if needed and shared with every device of every
        member that does not have it yet (a new session when anyone who had it is no longer a recipient)."""
        users = sorted({user_mxid(m) for m in member_ids} | {self.user})
        directory = await self.query_devices(users)
        recipients = {
            (d.user, d.device_id): d
            for devices in directory.values()
            for d in devices.values()
            if (d.user, d.device_id) != (self.user, self.device_id)
        }
        outbound = self._outbound.get(room_id)
        if outbound is None or self._stale(outbound) or not outbound.shared_with <= set(recipients):
            outbound = self._new_outbound(room_id)
        pending = [d for key, d in recipients.items() if key not in outbound.shared_with]
        if pending:
            await self._ensure_olm(pending)
            reachable = [d for d in pending if d.curve25519 in self._olm]
            room_key = self.room_key(room_id)
            messages: dict[str, dict[str, Any]] = {}
            for d in reachable:
                messages.setdefault(d.user, {})[d.device_id] = self.olm_encrypt(d, "m.room_key", room_key)
            if messages:
                await self.api.send_to_device("m.room.encrypted", messages, uuid.uuid4().hex)
            outbound.shared_with |= {(d.user, d.device_id) for d in reachable}
        return outbound

    def _stale(self, outbound: _Outbound) -> bool:
        return (
            outbound.session.message_index >= ROTATE_AFTER_MESSAGES
            or self._clock.now_ms() - outbound.created_at >= ROTATE_AFTER_MS
        )

    def megolm_encrypt(
        self, room_id: str, content: dict[str, Any], event_type: str = "m.room.message"
    ) -> dict[str, Any]:
        """The `encrypted` field of a send: Megolm ciphertext of Matrix's `{"type", "content", "room_id"}`."""
        outbound = self._outbound.get(room_id) or self._new_outbound(room_id)
        plaintext = json.dumps({"type": event_type, "content": content, "room_id": room_id}).encode()
        return {
            "algorithm": MEGOLM,
            "sender_key": self.curve25519,
            "ciphertext": outbound.session.encrypt(plaintext).to_base64(),
            "session_id": outbound.session.session_id,
            "device_id": self.device_id,
        }

    def megolm_decrypt(
        self, room_id: str, encrypted: dict[str, Any], sender_id: str | None = None, message_id: str | None = None
    ) -> RoomEvent:
        """A chat message's plaintext; DecryptionError when this device never got its room key, or when the same
        ciphertext (session and message index) shows up again as another message: a replay."""
        try:
            if encrypted["algorithm"] != MEGOLM:
                raise DecryptionError(f"unsupported algorithm {encrypted['algorithm']!r}")
            session_id = str(encrypted["session_id"])
            message = vodozemac.MegolmMessage.from_base64(str(encrypted["ciphertext"]))
        except (KeyError, TypeError, vodozemac.DecodeException) as error:
            raise DecryptionError(f"malformed Megolm content: {error}") from error
        inbound = self._inbound.get((room_id, session_id))
        if inbound is None:
            raise DecryptionError("unknown session: this device never received the room key")
        if inbound.sender_key != encrypted.get("sender_key") or (
            sender_id is not None and inbound.sender_user != user_mxid(sender_id)
        ):
            raise DecryptionError("the room key came from another device than the message claims")
        try:
            decrypted = inbound.session.decrypt(message)
            event = json.loads(decrypted.plaintext)
        except (vodozemac.MegolmDecryptionException, ValueError) as error:
            raise DecryptionError(f"cannot decrypt: {error}") from error
        if not isinstance(event, dict) or event.get("room_id") != room_id:
            raise DecryptionError("the message was encrypted for another chat")
        if message_id is not None:
            first = self._seen.setdefault((room_id, session_id, decrypted.message_index), message_id)
            if first != message_id:
                raise DecryptionError(f"replayed: the same ciphertext as message {first}")
        return RoomEvent(
            room_id,
            str(event.get("type")),
            dict(event.get("content") or {}),
            inbound.sender_user,
            inbound.sender_key,
            session_id,
            decrypted.message_index,
        )

    # --- sending and reading -----------------------------------------------------------------------

    async def peer_id(self, phone: str) -> str:
        if phone not in self._peer_ids:
            self._peer_ids[phone] = str((await self.api.lookup(phone))["user_id"])
        return self._peer_ids[phone]

    async def _room(self, to: str | None, group_id: str | None) -> tuple[str, list[str]]:
        """The room id and the members' user ids of a send target."""
        me = str(self.api.user_id)
        if to is not None:
            peer = await self.peer_id(to)
            return direct_room_id(me, peer), [me, peer]
        if group_id is None:
            raise ValueError("give exactly one of 'to' and 'group_id'")
        group = await self.api.group(group_id)
        return group_room_id(group_id), [str(m["user_id"]) for m in group["members"]]

    async def send_content(
        self, content: dict[str, Any], *, to: str | None = None, group_id: str | None = None
    ) -> dict[str, Any]:
        """Share the room key where needed, encrypt `content` (Parley's message) and send it."""
        encrypted = await self._encrypt_for(content, to, group_id)
        return await self.api.send_encrypted(encrypted, to=to, group_id=group_id)

    async def _encrypt_for(self, content: dict[str, Any], to: str | None, group_id: str | None) -> dict[str, Any]:
        await self.sync()  # room keys and key news first
        room_id, members = await self._room(to, group_id)
        await self.share_room_key(room_id, members)
        return self.megolm_encrypt(room_id, content)

    async def edit_text(
        self, message_id: str, body: str, *, to: str | None = None, group_id: str | None = None
    ) -> dict[str, Any]:
        """Replace a message's text with new ciphertext (the chat's current session, shared first if needed)."""
        encrypted = await self._encrypt_for({"msgtype": "m.text", "body": body}, to, group_id)
        return await self.api.edit_encrypted(message_id, encrypted)

    async def send_text(self, body: str, *, to: str | None = None, group_id: str | None = None) -> dict[str, Any]:
        return await self.send_content({"msgtype": "m.text", "body": body}, to=to, group_id=group_id)

    async def send_file(
        self,
        data: bytes,
        *,
        mimetype: str,
        body: str,
        to: str | None = None,
        group_id: str | None = None,
        msgtype: str = "m.image",
    ) -> dict[str, Any]:
        """Encrypt `data` with a fresh key, upload the ciphertext, and send the key inside the encrypted message."""
        ciphertext, file = encrypt_attachment(data)
        uploaded = await self.api.upload_media(ciphertext)
        content = {
            "msgtype": msgtype,
            "body": body,
            "file": file | {"url": f"parley-media://{uploaded['id']}"},
            "info": {"mimetype": mimetype, "size": len(data)},
        }
        return await self.send_content(content, to=to, group_id=group_id)

    async def download_file(self, content: dict[str, Any]) -> bytes:
        """The plaintext bytes of an `m.image` / `m.file` message's attachment."""
        url = str(content["file"]["url"])
        if not url.startswith("parley-media://"):
            raise DecryptionError(f"not a Parley media url: {url!r}")
        return decrypt_attachment(await self.api.download_media(url.removeprefix("parley-media://")), content["file"])

    async def room_of_chat(self, chat_id: str) -> str:
        for chat in await self.api.chats():
            if chat["id"] == chat_id:
                if chat["type"] == "group":
                    return group_room_id(chat_id)
                return direct_room_id(str(self.api.user_id), str(chat["peer"]["user_id"]))
        raise ValueError(f"no chat {chat_id} for this person")

    async def read_chat(self, chat_id: str, *, limit: int = 100) -> list[ReadMessage]:
        """The chat's latest messages, oldest first, each decrypted when this device holds its room key."""
        await self.sync()
        room_id = await self.room_of_chat(chat_id)
        page = await self.api.messages(chat_id, limit=limit)
        read: list[ReadMessage] = []
        for message in reversed(page["messages"]):
            event: RoomEvent | None = None
            error: str | None = None
            if message.get("encrypted"):
                try:
                    event = self.megolm_decrypt(
                        room_id, message["encrypted"], str(message["sender_id"]), str(message["id"])
                    )
                except DecryptionError as failure:
                    error = str(failure)
            else:
                error = "not encrypted"
            read.append(
                ReadMessage(
                    str(message["id"]), str(message["sender_id"]), int(message["timestamp"]), event, error, message
                )
            )
        return read


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")  # Matrix's unpadded base64


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
