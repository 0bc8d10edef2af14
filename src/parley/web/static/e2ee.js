// End-to-end encryption of person chats (docs/e2ee.md): a wrapper around matrix-sdk-crypto's OlmMachine (vodozemac
// compiled to WebAssembly, installed from npm and served from /static/vendor/). The server only relays ciphertext:
// this module uploads this device's keys, sends and receives room keys as Olm-encrypted to-device messages, and
// encrypts and decrypts messages (Megolm) and attachments (AES-CTR) in the browser.

const VENDOR = "/static/vendor/matrix-sdk-crypto-wasm/index.mjs";
const ROTATE_AFTER_MESSAGES = 100n;
const ROTATE_AFTER_MICROSECONDS = 7n * 24n * 3600n * 1000000n; // a week
const SAFETY_ROUNDS = 5200; // SHA-512 once, then 5199 more times (docs/e2ee.md)
// Chat history to another device of the same person (docs/e2ee.md): the room keys this device holds, in Matrix's
// key-export format, a batch per Olm message so each request stays under the server's 64 KiB body limit.
const HISTORY_KEYS = "parley.history_keys";
const HISTORY_BATCH = 40;

/** The crypto library is missing or could not start: the page says so and sends nothing in the clear. */
export class E2eeUnavailable extends Error {}

export const userIdOf = (uid) => `@${uid}:parley`;
const parleyIdOf = (matrixId) => matrixId.replace(/^@/, "").replace(/:parley$/, "");

/** The Matrix room id a chat's messages are encrypted for: known before a direct chat exists. */
export function roomIdFor(open, meId) {
  if (open.type === "group") return `!g${open.id}:parley`;
  const [a, b] = [BigInt(meId), BigInt(open.peer.user_id)].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  return `!dm-${a}-${b}:parley`;
}

/** Whether a chat's messages are end-to-end encrypted: people's chats are, a business's are not. */
export const isEncryptedChat = (open) => open.type === "group" || (open.type === "direct" && open.peer?.kind !== "business");

export class E2ee {
  /**
   * Loads the library and this device's OlmMachine (its keys live in IndexedDB, one store per device).
   * `call(method, path, body)` is the page's API caller; `onKeys()` runs after room keys arrived;
   * `onHistory(count)` after another device of this person sent its chat history.
   */
  static async start({ call, userId, deviceId, onKeys, onHistory }) {
    let sdk;
    try {
      sdk = await import(VENDOR);
      await sdk.initAsync();
    } catch (error) {
      console.warn("e2ee:", error);
      throw new E2eeUnavailable("End-to-end encryption isn't installed on this server, so messages to people can't be "
        + "sent from this browser. The server's operator runs `npm ci` to install it.");
    }
    const machine = await sdk.OlmMachine.initialize(new sdk.UserId(userIdOf(userId)), new sdk.DeviceId(String(deviceId)),
      `parley-e2ee-${userId}-${deviceId}`);
    const e2ee = new E2ee(sdk, machine, call, String(userId), String(deviceId), onKeys);
    e2ee.onHistory = onHistory || (() => {});
    await e2ee.sync();
    return e2ee;
  }

  constructor(sdk, machine, call, userId, deviceId, onKeys) {
    this.sdk = sdk;
    this.machine = machine;
    this.call = call;
    this.userId = userId;
    this.deviceId = deviceId;
    this.onKeys = onKeys || (() => {});
    this.outgoing = Promise.resolve(); // one batch of outgoing requests at a time
    this.syncing = null; //              the sync in flight, and whether another was asked for meanwhile
    this.syncAgain = false;
    this.rooms = new Map(); //           room id -> the promise of its last share + encrypt (one per room at a time)
    this.sinceKey = `parley.e2ee.since.${userId}.${deviceId}`;
  }

  // ---- talking to the key directory and the relay -------------------------------------------------

  /** Sends everything the machine has queued (key uploads, key queries, to-device messages), one batch at a time. */
  processOutgoing() {
    const run = this.outgoing.then(async () => {
      for (const request of await this.machine.outgoingRequests()) await this.send(request);
    });
    this.outgoing = run.catch(() => {});
    return run;
  }

  async send(request) {
    const { RequestType } = this.sdk;
    const body = JSON.parse(request.body);
    let answer;
    switch (request.type) {
      case RequestType.KeysUpload:
        answer = await this.call("POST", "/keys/upload", body);
        break;
      case RequestType.KeysQuery:
        answer = await this.call("POST", "/keys/query", { device_keys: body.device_keys });
        break;
      case RequestType.KeysClaim:
        try {
          answer = await this.call("POST", "/keys/claim", { one_time_keys: body.one_time_keys });
        } catch (error) {
          // Every device asked for is out of keys: nothing to set up now, a later send asks again.
          if (error.code !== "one_time_keys_exhausted") throw error;
          answer = { one_time_keys: {}, failures: {} };
        }
        break;
      case RequestType.ToDevice:
        answer = await this.call("PUT", `/sendToDevice/${encodeURIComponent(request.event_type)}/${encodeURIComponent(request.txn_id)}`, body);
        break;
      default:
        answer = {}; // signatures and key backups: Parley has no cross-signing or server-side backup
    }
    await this.machine.markRequestAsSent(request.id, request.type, JSON.stringify(answer));
  }

  /**
   * Fetches this device's to-device queue and key news (GET /keys/sync) and feeds them to the machine.
   * Called at start, when the stream says `to_device` or `device_list`, and before retrying a message it could
   * not decrypt yet. Calls made while one runs collapse into one more run.
   */
  sync() {
    if (this.syncing) {
      this.syncAgain = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      try {
        do {
          this.syncAgain = false;
          await this.syncOnce();
        } while (this.syncAgain);
      } finally {
        this.syncing = null;
      }
    })();
    return this.syncing;
  }

  async syncOnce() {
    const { DeviceLists, UserId } = this.sdk;
    const since = localStorage.getItem(this.sinceKey);
    const answer = await this.call("GET", `/keys/sync${since ? `?since=${encodeURIComponent(since)}` : ""}`);
    const events = answer.to_device?.events || [];
    const lists = answer.device_lists || {};
    const changes = new DeviceLists((lists.changed || []).map((u) => new UserId(u)), (lists.left || []).map((u) => new UserId(u)));
    const counts = new Map(Object.entries(answer.device_one_time_keys_count || {}));
    const fallbacks = new Set(answer.device_unused_fallback_key_types || []);
    const processed = await this.machine.receiveSyncChanges(JSON.stringify(events), changes, counts, fallbacks);
    const imported = await this.importHistory(processed);
    // Only now that the machine has stored what came: the next sync acknowledges (deletes) it on the server.
    localStorage.setItem(this.sinceKey, answer.next_batch);
    await this.processOutgoing();
    if (imported) this.onHistory(imported);
    if (events.length) this.onKeys();
  }

  /** Room keys another device of this person sent (`parley.history_keys`): imported; anyone else's ignored. */
  async importHistory(processed) {
    const { ProcessedToDeviceEventType } = this.sdk;
    let imported = 0;
    for (const item of processed || []) {
      if (item.type !== ProcessedToDeviceEventType.Decrypted) continue;
      const event = JSON.parse(item.rawEvent);
      const fromDevice = item.encryptionInfo?.senderDevice?.toString();
      // The Olm session authenticates the sending device; it must be one of this person's own, and not this one.
      if (event.type !== HISTORY_KEYS || event.sender !== userIdOf(this.userId) || !fromDevice || fromDevice === this.deviceId) continue;
      const keys = Array.isArray(event.content?.keys) ? event.content.keys : [];
      if (!keys.length) continue;
      try {
        const result = await this.machine.importExportedRoomKeys(JSON.stringify(keys), () => {});
        imported += Number(result.importedCount);
      } catch (error) {
        console.warn("e2ee: chat history could not be imported", error);
      }
    }
    return imported;
  }

  /**
   * Sends another device of this person every room key this one holds, so it reads the chats' past messages.
   * `onProgress(sent, total)` after each batch. Answers how many keys were sent.
   */
  async transferHistory(deviceId, onProgress = () => {}) {
    const { UserId, DeviceId, CollectStrategy } = this.sdk;
    const me = userIdOf(this.userId);
    await this.machine.updateTrackedUsers([new UserId(me)]);
    await this.send(this.machine.queryKeysForUsers([new UserId(me)])); // the person's devices as listed now
    const device = await this.machine.getDevice(new UserId(me), new DeviceId(String(deviceId)));
    if (!device || String(deviceId) === this.deviceId) {
      throw new Error("That device hasn't set up encryption yet: open Parley on it first, then try again.");
    }
    const claim = await this.machine.getMissingSessions([new UserId(me)]);
    if (claim) {
      await this.outgoing;
      await this.send(claim);
    }
    const keys = JSON.parse(await this.machine.exportRoomKeys(() => true));
    onProgress(0, keys.length);
    for (let start = 0; start < keys.length; start += HISTORY_BATCH) {
      const batch = keys.slice(start, start + HISTORY_BATCH);
      const content = JSON.parse(await device.encryptToDeviceEvent(HISTORY_KEYS, { keys: batch }, CollectStrategy.allDevices()));
      const txn = crypto.randomUUID();
      await this.call("PUT", `/sendToDevice/m.room.encrypted/${txn}`, { messages: { [me]: { [String(deviceId)]: content } } });
      onProgress(Math.min(start + batch.length, keys.length), keys.length);
    }
    return keys.length;
  }

  // ---- messages ---------------------------------------------------------------------------------

  /**
   * Encrypts `content` (Parley's m.room.message content) for every device of `memberIds` (the chat's people,
   * this person included): sessions are set up and the room key shared first. Answers the `encrypted` field of a
   * send. The machine starts a new room key when someone left the chat, after 100 messages, and after a week.
   */
  encrypt(roomId, memberIds, content) {
    const previous = this.rooms.get(roomId) || Promise.resolve();
    const run = previous.catch(() => {}).then(() => this.encryptNow(roomId, memberIds, content));
    this.rooms.set(roomId, run);
    return run;
  }

  async encryptNow(roomId, memberIds, content) {
    const { UserId, RoomId, EncryptionSettings, CollectStrategy } = this.sdk;
    await this.sync(); // a device someone added a moment ago gets this message's key too
    const people = [...new Set([...memberIds.map(String), this.userId])].map(userIdOf);
    const users = () => people.map((u) => new UserId(u)); // the machine consumes the ids it is given
    await this.machine.updateTrackedUsers(users());
    await this.processOutgoing(); // their devices' keys (a key query) before sessions can be set up
    // Someone whose devices were looked up before they had any (before sharing a chat, the server sends no news
    // about them): ask the directory again rather than send a message they could never read.
    const unknown = [];
    for (const person of people) {
      if ((await this.machine.getUserDevices(new UserId(person))).devices().length === 0) unknown.push(person);
    }
    if (unknown.length) await this.send(this.machine.queryKeysForUsers(unknown.map((u) => new UserId(u))));
    const claim = await this.machine.getMissingSessions(users());
    if (claim) {
      await this.outgoing;
      await this.send(claim);
    }
    const settings = new EncryptionSettings();
    settings.rotationPeriodMessages = ROTATE_AFTER_MESSAGES;
    settings.rotationPeriod = ROTATE_AFTER_MICROSECONDS;
    settings.sharingStrategy = CollectStrategy.allDevices();
    const shares = await this.machine.shareRoomKey(new RoomId(roomId), users(), settings);
    for (const request of shares) await this.send(request);
    const encrypted = await this.machine.encryptRoomEvent(new RoomId(roomId), "m.room.message", JSON.stringify(content));
    return JSON.parse(encrypted);
  }

  /** Decrypts a message object's `encrypted` field; answers its content, or null while its room key is missing. */
  async decrypt(roomId, message) {
    const { RoomId, DecryptionSettings, TrustRequirement } = this.sdk;
    const event = {
      type: "m.room.encrypted",
      content: message.encrypted,
      sender: userIdOf(message.sender_id),
      event_id: `$${message.id}`,
      origin_server_ts: message.timestamp,
      room_id: roomId,
    };
    try {
      const decrypted = await this.machine.decryptRoomEvent(JSON.stringify(event), new RoomId(roomId),
        new DecryptionSettings(TrustRequirement.Untrusted));
      const plain = JSON.parse(decrypted.event);
      return plain.content && typeof plain.content === "object" ? plain.content : null;
    } catch (error) {
      // No key for it (yet, or ever: sent before this device existed, or after its person left).
      console.debug("e2ee: can't decrypt", message.id, error?.code, error?.description || error);
      return null;
    }
  }

  // ---- attachments ------------------------------------------------------------------------------

  /** Encrypts a file's bytes with a fresh key: answers {data (the ciphertext to upload), info (EncryptedFile)}. */
  encryptAttachment(bytes) {
    const encrypted = this.sdk.Attachment.encrypt(bytes);
    const info = JSON.parse(encrypted.mediaEncryptionInfo);
    const data = encrypted.encryptedData;
    encrypted.free();
    return { data, info };
  }

  /** Decrypts downloaded ciphertext with the EncryptedFile a message carried (its hash is checked). */
  decryptAttachment(bytes, file) {
    const { url, ...info } = file; // eslint-disable-line no-unused-vars
    const encrypted = new this.sdk.EncryptedAttachment(bytes, JSON.stringify(info));
    return this.sdk.Attachment.decrypt(encrypted);
  }

  // ---- safety numbers ---------------------------------------------------------------------------

  /** The ed25519 keys of every device of a person, as this device knows them (fresh from the directory). */
  async identityKeys(uid) {
    const { UserId } = this.sdk;
    await this.machine.updateTrackedUsers([new UserId(userIdOf(uid))]);
    await this.send(this.machine.queryKeysForUsers([new UserId(userIdOf(uid))])); // what the directory says now
    const devices = await this.machine.getUserDevices(new UserId(userIdOf(uid)));
    const keys = devices.devices().map((device) => device.ed25519Key?.toBase64()).filter(Boolean);
    if (String(uid) === this.userId) {
      const own = this.machine.identityKeys.ed25519.toBase64();
      if (!keys.includes(own)) keys.push(own);
    }
    return keys.sort();
  }

  /** The 60-digit safety number of this person and `peerId` (docs/e2ee.md), and both sides' keys. */
  async safetyNumber(peerId) {
    const mine = await this.identityKeys(this.userId);
    const theirs = await this.identityKeys(peerId);
    const halves = [[BigInt(this.userId), await safetyHalf(this.userId, mine)], [BigInt(peerId), await safetyHalf(String(peerId), theirs)]];
    halves.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    return { number: halves[0][1] + halves[1][1], peerKeys: theirs };
  }

  /** Signed out: this device is gone from the directory, so its private keys and sync position go from here too. */
  async forget() {
    this.machine.close();
    localStorage.removeItem(this.sinceKey);
    const prefix = `parley-e2ee-${this.userId}-${this.deviceId}`;
    const stores = indexedDB.databases ? await indexedDB.databases() : [];
    await Promise.all(stores.filter((db) => db.name?.startsWith(prefix)).map((db) => new Promise((done) => {
      const request = indexedDB.deleteDatabase(db.name);
      request.onsuccess = request.onerror = request.onblocked = () => done();
    })));
  }
}

/** One person's 30 digits: SHA-512 iterated over their user id and sorted device keys (WebCrypto). */
export async function safetyHalf(uid, keys) {
  const input = new TextEncoder().encode(`parley-safety-v1\n${uid}\n${[...keys].sort().join("\n")}`);
  let hash = new Uint8Array(await crypto.subtle.digest("SHA-512", input));
  for (let round = 1; round < SAFETY_ROUNDS; round += 1) {
    const joined = new Uint8Array(hash.length + input.length);
    joined.set(hash);
    joined.set(input, hash.length);
    hash = new Uint8Array(await crypto.subtle.digest("SHA-512", joined));
  }
  let digits = "";
  for (let chunk = 0; chunk < 6; chunk += 1) {
    let value = 0n;
    for (const byte of hash.slice(chunk * 5, chunk * 5 + 5)) value = (value << 8n) | BigInt(byte);
    digits += String(value % 100000n).padStart(5, "0");
  }
  return digits;
}

export { parleyIdOf };
