// People's chats are end-to-end encrypted (docs/e2ee.md): this module turns what the page shows and sends into
// ciphertext and back. Messages of type "encrypted" are decrypted into the shapes the rest of the page draws
// (text, image, document); sends, edits and forwards in person chats are encrypted first; pictures are encrypted
// before upload and decrypted after download; the contact panel shows the safety number and its QR code, and a chat
// says so when the other person's security code changed. Business chats are not touched.

import { E2ee, E2eeUnavailable, isEncryptedChat, roomIdFor } from "./e2ee.js";
import { el } from "./render.js";

const $ = (id) => document.getElementById(id);

export const WAITING_TEXT = "Waiting for this message. This may take a while.";
const RETRY_WAITING_MS = [2000, 5000, 15000];

let app = null;
let e2ee = null;
let unavailable = null; // why encryption can't run in this browser (then person chats refuse to send)
const revealed = new Map(); //   ciphertext -> decrypted content (an edit carries new ciphertext)
const files = new Map(); //      media id -> {file (EncryptedFile), mimetype}: how to decrypt a downloaded blob
const plain = new Map(); //      message id -> the decrypted message shown, for client-side search
const waiting = new Set(); //    message ids whose room key has not arrived yet
let contactPeer = null; //       the person whose contact panel is open
let deviceSince = 0; //          when this device signed in: older messages need the chat history sent to it

/** hooks: {call, me(), open(), chats(), group(id) -> Promise<group>, keysArrived(), showError(id, text)} */
export async function initSecureChats(hooks) {
  app = hooks;
  buildContactPanel();
  try {
    const { devices } = await app.call("GET", "/devices");
    const current = devices.find((device) => device.current);
    deviceSince = current.created_at;
    e2ee = await E2ee.start({
      call: app.call, userId: app.me().user_id, deviceId: current.id, onKeys: keysArrived, onHistory: historyArrived,
    });
  } catch (error) {
    unavailable = error instanceof E2eeUnavailable ? error.message
      : `End-to-end encryption could not start in this browser: ${error.message}`;
    console.warn("e2ee:", error);
  }
}

/** Signing out: this device's keys are deleted from the browser (the server dropped them from its directory). */
export async function forgetDevice() {
  if (e2ee) await e2ee.forget().catch((error) => console.warn("e2ee:", error));
  e2ee = null;
}

/** Why person chats can't be used from this browser, or null when encryption runs. */
export const encryptionProblem = () => unavailable;

/** The stream said this device has something queued (`to_device`) or someone's devices changed (`device_list`). */
export function onStreamEvent(event) {
  if (!e2ee) return;
  // The stream names the devices something was queued for; the person's other devices have nothing to fetch.
  if (event.type === "to_device" && Array.isArray(event.devices) && !event.devices.map(String).includes(e2ee.deviceId)) return;
  e2ee.sync().catch((error) => console.warn("e2ee sync:", error));
  if (event.type === "device_list") checkSecurityCode(app.open());
}

function keysArrived() {
  app.keysArrived(); // the page reveals the waiting messages it shows again
}

/** Another device of this person sent the chat history: the past messages it holds keys for can be read now. */
function historyArrived() {
  const note = $("history-note");
  if (note) {
    note.textContent = "Your chat history arrived from your other device.";
    note.hidden = false;
    setTimeout(() => { note.hidden = true; }, 15000);
  }
}

/**
 * Sends another device of this person the keys to every chat message this browser can read (Settings → Your
 * devices). `onProgress(sent, total)`; answers how many keys went. Throws when encryption does not run here.
 */
export async function transferHistory(deviceId, onProgress) {
  if (!e2ee) throw new Error(unavailable || "End-to-end encryption isn't running in this browser.");
  return e2ee.transferHistory(deviceId, onProgress);
}

// ---- reading ----------------------------------------------------------------------------------

function roomOf(message) {
  const chat = app.chats().find((c) => c.id === message.chat_id);
  const open = app.open();
  const where = chat || (open?.id === message.chat_id ? open : null);
  if (where) return roomIdFor(where, app.me().user_id);
  return null;
}

/**
 * The message as the page draws it: an encrypted one decrypted into text or media, or a "waiting" placeholder
 * until its room key arrives. Anything else is answered unchanged.
 */
export async function reveal(message) {
  if (!message || message.deleted || !message.encrypted) return message;
  const key = message.encrypted.ciphertext;
  let content = revealed.get(key);
  if (!content && e2ee) {
    const room = roomOf(message);
    content = room ? await e2ee.decrypt(room, message) : null;
    if (content) revealed.set(key, content);
  }
  if (!content) {
    waiting.add(message.id);
    return { ...message, text: null, media: null, waiting: true, beforeDevice: message.timestamp < deviceSince };
  }
  waiting.delete(message.id);
  const shown = { ...message, ...shapeOf(content), waiting: false };
  if (content.forwarded) shown.forwarded = true;
  plain.set(message.id, shown);
  return shown;
}

/** This device's reading of one message of `roomId`: its content, or null when it holds no key for it. */
export async function decryptInRoom(roomId, message) {
  return e2ee ? e2ee.decrypt(roomId, message) : null;
}

/** Whether some message on screen still waits for its key (worth another sync and reveal). */
export const anyWaiting = () => waiting.size > 0;

/** Before revealing waiting messages again: fetch what may have been queued for this device meanwhile. */
export async function syncBeforeRetry() {
  if (e2ee) await e2ee.sync().catch(() => {});
}

let retryTimer = null;
let retryStep = 0;
/** Tries the waiting messages again a few times, then leaves them to the next `to_device` news. */
export function scheduleRetry() {
  clearTimeout(retryTimer);
  if (!anyWaiting() || retryStep >= RETRY_WAITING_MS.length) return;
  retryTimer = setTimeout(async () => {
    retryStep += 1;
    await syncBeforeRetry();
    keysArrived();
  }, RETRY_WAITING_MS[retryStep]);
}

function shapeOf(content) {
  if (content.msgtype === "m.image" || content.msgtype === "m.file") {
    const mediaId = (content.file?.url || "").replace(/^parley-media:\/\//, "");
    const mimetype = content.info?.mimetype || "application/octet-stream";
    files.set(mediaId, { file: content.file, mimetype });
    const name = content.filename || content.body || "";
    // With `filename`, `body` is the caption unless it repeats the name; without it (other clients), it is both.
    const caption = content.filename ? (content.body !== content.filename ? content.body : "") : content.body || "";
    const type = content.msgtype === "m.image" ? "image" : "document";
    return { type, text: null, media: { id: mediaId, mime_type: mimetype, size: content.info?.size, filename: name, caption } };
  }
  return { type: "text", text: { body: typeof content.body === "string" ? content.body : "" }, media: null };
}

/** Messages this page has decrypted whose text or caption contains `query` (search runs on the client). */
export function searchDecrypted(query) {
  const needle = query.toLowerCase();
  return [...plain.values()].filter((message) => !message.deleted
    && ((message.text?.body || message.media?.caption || message.media?.filename || "").toLowerCase().includes(needle)));
}

/** Forgets what a deleted message said. */
export function forget(messageId) {
  plain.delete(messageId);
}

/** Downloads and decrypts an encrypted attachment; null for media this module doesn't know (plain media). */
export async function loadEncryptedMedia(mediaId, fetchBlob) {
  const known = files.get(mediaId);
  if (!known || !e2ee) return null;
  const bytes = new Uint8Array(await (await fetchBlob(mediaId)).arrayBuffer());
  return new Blob([e2ee.decryptAttachment(bytes, known.file)], { type: known.mimetype });
}

// ---- sending ----------------------------------------------------------------------------------

export const encrypts = (open) => isEncryptedChat(open);

async function memberIds(open) {
  if (open.type !== "group") return [open.peer.user_id];
  const group = await app.group(open.id); // fresh: a member removed a moment ago must not get the new key
  return (group?.members || []).map((m) => m.user_id);
}

function requireEncryption() {
  if (!e2ee) throw new Error(unavailable || "End-to-end encryption is still starting. Try again in a moment.");
}

/** The `encrypted` field for `content` sent in `open` (a person chat). */
export async function encryptFor(open, content) {
  requireEncryption();
  return e2ee.encrypt(roomIdFor(open, app.me().user_id), await memberIds(open), content);
}

/** A text message's encrypted send fields. */
export async function textRequest(open, body, extra = {}) {
  return { type: "encrypted", encrypted: await encryptFor(open, { msgtype: "m.text", body, ...extra }) };
}

/**
 * Encrypts a file and uploads the ciphertext: answers {media (the upload), content (what the message carries)}.
 * The page keeps the picture it already has, so its own copy shows without a download.
 */
export async function uploadEncrypted(file, caption, upload, extra = {}) {
  requireEncryption();
  const { data, info } = e2ee.encryptAttachment(new Uint8Array(await file.arrayBuffer()));
  const media = await upload(new File([data], "encrypted.bin", { type: "application/octet-stream" }));
  const mimetype = file.type || "application/octet-stream";
  const name = file.name || "file";
  const fileInfo = { ...info, url: `parley-media://${media.id}` };
  files.set(media.id, { file: fileInfo, mimetype });
  const msgtype = mimetype.startsWith("image/") ? "m.image" : "m.file";
  const content = { msgtype, body: caption || name, filename: name, file: fileInfo, info: { mimetype, size: file.size }, ...extra };
  return { media, content };
}

/** The PATCH body that changes an encrypted text to `body`. */
export async function editBody(message, body) {
  const open = app.open();
  return { encrypted: await encryptFor(open, { msgtype: "m.text", body }) };
}

/**
 * Forwards a decrypted message into `target` (a chat from the list) as a new send: encrypted again for a person
 * chat (a picture re-encrypted with a new key), in the clear for a business chat.
 */
export async function forwardRequest(message, target, upload, fetchBlob) {
  const open = { id: target.id, type: target.type, peer: target.peer };
  const to = target.type === "group" ? { group_id: target.id } : { to: target.peer.phone };
  let file = null;
  if (message.media) {
    const blob = (await loadEncryptedMedia(message.media.id, fetchBlob)) || (await fetchBlob(message.media.id));
    file = new File([blob], message.media.filename || "file", { type: blob.type || message.media.mime_type });
  }
  if (isEncryptedChat(open)) {
    if (!file) return { ...to, ...(await textRequest(open, message.text?.body || "", { forwarded: true })) };
    const { content } = await uploadEncrypted(file, message.media.caption, upload, { forwarded: true });
    return { ...to, type: "encrypted", encrypted: await encryptFor(open, content) };
  }
  if (!file) return { ...to, type: "text", text: { body: message.text?.body || "" } };
  const media = await upload(file);
  const kind = (media.mime_type || "").startsWith("image/") ? "image" : "document";
  return { ...to, type: kind, [kind]: message.media.caption ? { id: media.id, caption: message.media.caption } : { id: media.id } };
}

// ---- the chat header, the contact panel, safety numbers ----------------------------------------

/** The line under a chat's header: whether its messages are end-to-end encrypted, or who reads a business's. */
export function headerNote(open) {
  const note = $("chat-e2ee-note");
  if (!open) return;
  if (open.peer?.kind === "business") {
    note.textContent = "This business uses a service to manage chats.";
    note.dataset.kind = "business";
  } else if (unavailable) {
    note.textContent = unavailable;
    note.dataset.kind = "problem";
  } else {
    note.textContent = "Messages are end-to-end encrypted. No one outside of this chat can read them.";
    note.dataset.kind = "e2ee";
  }
  const info = $("chat-info");
  const isPerson = open.type === "direct" && open.peer?.kind !== "business";
  if (isPerson) {
    info.hidden = false;
    info.setAttribute("aria-controls", "contact-info");
    info.setAttribute("aria-label", "Contact info");
    info.title = "Contact info: safety number";
  } else {
    info.setAttribute("aria-controls", "group-info");
    info.setAttribute("aria-label", "Group info");
    info.title = "Group info";
    closeContactPanel();
  }
  if (contactPeer && open.peer?.user_id !== contactPeer.user_id) closeContactPanel();
  checkSecurityCode(open);
}

function buildContactPanel() {
  const toggle = () => {
    const open = app.open();
    if (!open || open.type !== "direct" || open.peer?.kind === "business") return;
    if (contactPeer) closeContactPanel();
    else showContactPanel(open.peer);
  };
  $("chat-info").addEventListener("click", toggle);
  $("chat-heading").addEventListener("click", toggle);
  $("contact-info-close").addEventListener("click", closeContactPanel);
  $("contact-info").addEventListener("keydown", (event) => { if (event.key === "Escape") closeContactPanel(); });
}

function closeContactPanel() {
  if (!contactPeer) return;
  contactPeer = null;
  $("contact-info").hidden = true;
  $("chat-info").setAttribute("aria-expanded", "false");
}

async function showContactPanel(peer) {
  contactPeer = peer;
  $("contact-info").hidden = false;
  $("chat-info").setAttribute("aria-expanded", "true");
  $("contact-info-name").textContent = peer.name || peer.phone;
  $("contact-info-phone").textContent = peer.phone || "";
  $("safety-number").replaceChildren(el("span", { text: "Working out the safety number…" }));
  $("safety-qr").replaceChildren();
  $("contact-info-close").focus();
  if (!e2ee) {
    $("safety-number").replaceChildren(el("span", { text: unavailable || "Encryption is not running." }));
    return;
  }
  const { number, peerKeys } = await e2ee.safetyNumber(peer.user_id);
  if (contactPeer !== peer) return;
  rememberKeys(peer.user_id, peerKeys);
  const groups = number.match(/\d{5}/g);
  $("safety-number").replaceChildren(...groups.map((digits) => el("span", { class: "safety-group", text: digits })));
  $("safety-number").dataset.number = number;
  $("safety-number").setAttribute("aria-label", `Safety number: ${groups.join(" ")}`);
  $("safety-qr").replaceChildren(el("img", {
    attrs: { src: `/safety-qr.svg?number=${number}`, alt: "QR code of the safety number, for the other person to scan",
      width: "180", height: "180" },
  }));
}

// The last keys this browser saw for each peer: a change (a new device, a reinstall) is worth a notice.
const seenKey = (peerId) => `parley.e2ee.seen.${app.me().user_id}.${peerId}`;
const notices = new Map(); // chat id -> the notice shown in it

function rememberKeys(peerId, keys) {
  localStorage.setItem(seenKey(peerId), JSON.stringify(keys));
}

/** The notice a chat shows when the other person's security code changed since this browser last looked. */
export const securityNotice = (chatId) => notices.get(chatId) || null;

async function checkSecurityCode(open) {
  if (!e2ee || !open?.id || open.type !== "direct" || open.peer?.kind === "business") return;
  const peer = open.peer;
  let keys;
  try {
    keys = await e2ee.identityKeys(peer.user_id);
  } catch {
    return;
  }
  if (keys.length === 0) return; // no device has published keys yet
  const before = localStorage.getItem(seenKey(peer.user_id));
  rememberKeys(peer.user_id, keys);
  const old = before ? JSON.parse(before) : null;
  const changed = old && (old.length !== keys.length || old.some((key) => !keys.includes(key)));
  if (!changed) return;
  notices.set(open.id, `${peer.name || peer.phone}'s security code changed. Open their contact info to compare the new safety number.`);
  app.noticeChanged(open.id);
}
