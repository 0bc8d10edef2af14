// The app page: chat list, open chat, composer, and the realtime stream that keeps them live.

import { api, ApiError, fetchMediaBlob, newClientId, session, streamUrl, uploadMedia } from "./api.js";
import { Stream } from "./stream.js";
import * as ui from "./render.js";
import { openChatLink, referralFields, rememberForSignIn } from "./click-to-chat.js";
import { GroupInfo } from "./group-info.js";
import { PresenceWatcher } from "./presence.js";
import { paintListPhotos, paintPhoto, SettingsPanel } from "./settings-panel.js";
import { decorateMessage, initMessageMenu } from "./message-menu.js";
import * as composer from "./composer.js";
import { chatMatches, initSearch, searching } from "./search.js";
import "./order-pay.js"; // draws order_details bubbles and their order sheet
import { cartHeader, initCart } from "./cart.js";
import { initWallet } from "./wallet.js";
import { initGroupJoin } from "./group-join.js"; // subscriptions: invite links, paid groups
import { claimPendingClick } from "./affiliate-claim.js"; // affiliates
import * as secure from "./secure-chats.js"; // e2ee: person chats are end-to-end encrypted
import { showDevices } from "./devices.js"; // e2ee: Settings → Your devices (chat history to another device)

const $ = (id) => document.getElementById(id);

const PAGE_SIZE = 50;
const TYPING_SHOWN_MS = 3000;
const TYPING_SENT_EVERY_MS = 2000;
const GROUP_RECEIPT_LOOKUPS = 10;
const RANK = { failed: -2, pending: -1, sent: 0, delivered: 1, read: 2 };

const state = {
  me: null, //                   {user_id, phone, name}
  chats: new Map(), //           chat id -> chat from GET /chats, patched live by events
  open: null, //                 {id, type, title, peer}; id is null for a new direct chat with no message yet
  messages: new Map(), //        message id -> message of the open chat
  pending: new Map(), //         client_id -> own message this page is still sending
  next: null, //                 cursor for older messages of the open chat
  typing: new Map(), //          chat id -> {userId, timer}
  earlyReceipts: new Map(), //   message id -> status, for receipts that beat the POST /messages answer
  readUpTo: new Map(), //        chat id -> newest message id this page has marked read
  groups: new Map(), //          group id -> group object, for member names in the header
  mediaUrls: new Map(), //       media id -> Promise of an object URL
  invites: new Map(), //         group invitation id -> "joining" | "unusable", while or after this page tried it
  privacy: null, //              {group_add} once the settings panel has read it
  atBottom: true, //             whether the user is looking at the newest messages
  lastTypingSent: 0,
  chatsReload: null,
};

const stream = new Stream(streamUrl, onStreamEvent, onStreamState);
const presence = new PresenceWatcher(call, renderChatHeader);
const settingsPanel = new SettingsPanel({
  call, uploadMedia, loadMedia, paintAvatar: ui.paintAvatar,
  me: () => state.me,
  setMe: (me) => { state.me = me; renderMe(); },
  status: (text) => { $("settings-status").textContent = text; },
  showError: (message) => showError("sidebar-error", message),
  privacyChanged: (privacy) => { showPrivacy(privacy || state.privacy); presence.refresh(); },
});
const groupInfo = new GroupInfo({
  call, loadMedia,
  me: () => state.me,
  open: () => state.open,
  group: (id) => state.groups.get(id),
  contacts: () => [...state.chats.values()].filter((c) => c.type === "direct" && c.peer && c.peer.kind !== "business").map((c) => c.peer),
  setGroup: (group) => { state.groups.set(group.id, group); renderChatHeader(); },
  left: (groupId) => { state.chats.delete(groupId); closeChat(); scheduleChatsReload(); },
});

// Parley Pay: the wallet (from Settings), "Send money" in a 1:1 chat, receipts (wallet.js).
const wallet = initWallet({ open: () => state.open, me: () => state.me });

// ---- small helpers -----------------------------------------------------------------------------

/** Compares two decimal-string ids; they are 64-bit, so Number would lose precision. */
function compareIds(a, b) {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

const isMine = (message) => message.sender_id === state.me.user_id;
const higherStatus = (a, b) => ((RANK[a] ?? -3) >= (RANK[b] ?? -3) ? a : b);
const isVisible = () => document.visibilityState === "visible";
const isReading = (chatId) => state.open?.id === chatId && isVisible();

/** Every API call of this page: a 401 means the token was revoked, so go back to sign-in. */
async function call(method, path, body) {
  try {
    return await api(method, path, body);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) signedOut();
    throw error;
  }
}

function signedOut() {
  stream.stop();
  session.clear();
  location.replace("/");
}

function showError(id, message) {
  const box = $(id);
  box.textContent = message || "";
  box.hidden = !message;
  clearTimeout(box.hideTimer);
  if (message) box.hideTimer = setTimeout(() => { box.hidden = true; }, 8000);
}

function loadMedia(mediaId) {
  if (!state.mediaUrls.has(mediaId)) {
    const blob = secure.loadEncryptedMedia(mediaId, fetchMediaBlob) // e2ee
      .then((decrypted) => decrypted || fetchMediaBlob(mediaId)); // e2ee
    const url = blob.then((b) => URL.createObjectURL(b));
    url.catch(() => state.mediaUrls.delete(mediaId)); // let a later render try again
    state.mediaUrls.set(mediaId, url);
  }
  return state.mediaUrls.get(mediaId);
}

// ---- chat list -------------------------------------------------------------------------------

async function loadChats() {
  const answer = await call("GET", "/chats");
  state.chats = new Map(answer.chats.map((chat) => [chat.id, chat]));
  await revealPreviews(); // e2ee
  adoptDraftChat();
  renderChatList();
}

// e2ee: the list's previews of encrypted messages are decrypted here, on the client.
async function revealPreviews() {
  await Promise.all([...state.chats.values()].map(async (chat) => {
    if (chat.last_message) chat.last_message = await secure.reveal(chat.last_message);
  }));
}

// Events about chats this page hasn't heard of (a new chat, a new group) reload the list once.
function scheduleChatsReload() {
  clearTimeout(state.chatsReload);
  state.chatsReload = setTimeout(() => loadChats().catch((error) => showError("sidebar-error", error.message)), 150);
}

function typingText(chatId) {
  const typing = state.typing.get(chatId);
  if (!typing) return null;
  const chat = state.chats.get(chatId) || state.open;
  if (chat?.type !== "group") return "typing…";
  return `${memberName(chatId, typing.userId) || "Someone"} is typing…`;
}

function renderChatList() {
  const chats = [...state.chats.values()].filter(chatMatches).sort((a, b) => chatTime(b) - chatTime(a));
  const items = chats.map((chat) => ui.chatItem(chat, {
    meId: state.me.user_id,
    active: state.open?.id === chat.id,
    typingText: typingText(chat.id),
    onOpen: openChat,
  }));
  $("chat-list").replaceChildren(...items);
  paintListPhotos($("chat-list"), state.chats, loadMedia);
  $("chat-list-empty").hidden = items.length > 0 || searching();
  updateTitleBadge();
}

const chatTime = (chat) => Math.max(chat.updated_at || 0, chat.last_message?.timestamp || 0);

function updateTitleBadge() {
  const unread = [...state.chats.values()].reduce((sum, chat) => sum + (chat.unread_count || 0), 0);
  document.title = unread > 0 ? `(${unread}) Parley` : "Parley";
}

/** Applies one message event to the chat list without a round trip. */
function patchChatList(kind, message) {
  const chat = state.chats.get(message.chat_id);
  if (!chat) {
    scheduleChatsReload();
    return;
  }
  const last = chat.last_message;
  const isNewer = !last || compareIds(message.id, last.id) > 0;
  if (kind === "new" && isNewer) {
    chat.last_message = message;
    chat.updated_at = Math.max(chat.updated_at || 0, message.timestamp);
    // Only messages newer than the list's snapshot count: redelivered events are already in it.
    if (!isMine(message) && !isReading(message.chat_id)) chat.unread_count = (chat.unread_count || 0) + 1;
  } else if (last && last.id === message.id) {
    chat.last_message = { ...message, status: higherStatus(message.status, last.status) };
  }
  renderChatList();
}

// ---- the open chat ---------------------------------------------------------------------------

function memberName(chatId, userId) {
  const member = state.groups.get(chatId)?.members?.find((m) => m.user_id === userId);
  if (member?.name) return member.name;
  for (const message of state.messages.values()) {
    if (message.sender_id === userId && message.sender_name) return message.sender_name;
  }
  return member?.phone || null;
}

function openChat(chatId) {
  const chat = state.chats.get(chatId);
  if (!chat) return;
  showChat({ id: chat.id, type: chat.type, title: chat.title, peer: chat.peer });
  const loading = loadMessages(false);
  if (chat.type === "group") loadGroup(chat.id);
  return loading;
}

/** Switches the right pane to `open` (an existing chat, or a new direct chat with no id yet). */
function showChat(open) {
  if (state.open !== open) composer.cancel(); // a reply or edit belongs to the chat it was started in
  state.open = open;
  state.messages = new Map();
  state.next = null;
  history.replaceState(null, "", open.id ? `#chat=${open.id}` : location.pathname);
  $("empty-state").hidden = true;
  $("chat-view").hidden = false;
  $("app").classList.add("chat-open");
  showError("chat-error", null);
  renderChatHeader();
  renderMessages("bottom");
  renderChatList();
  groupInfo.update();
  $("composer-input").focus();
}

function closeChat() {
  state.open = null;
  history.replaceState(null, "", location.pathname);
  $("chat-view").hidden = true;
  $("empty-state").hidden = false;
  $("app").classList.remove("chat-open");
  presence.watch(null);
  groupInfo.update();
  renderChatList();
}

async function loadGroup(groupId) {
  try {
    state.groups.set(groupId, await call("GET", `/groups/${groupId}`));
    if (state.open?.id === groupId) renderChatHeader();
    groupInfo.update();
  } catch (error) {
    // Removed from the group (404): it is gone from this person's chats.
    if (error instanceof ApiError && error.status === 404 && state.open?.id === groupId) closeChat();
  }
}

function renderChatHeader() {
  const open = state.open;
  if (!open) return;
  $("chat-title").textContent = open.title || open.peer?.phone || "Chat";
  $("chat-business-badge").hidden = open.peer?.kind !== "business";
  ui.paintAvatar($("chat-avatar"), open.title, open.type === "group");
  paintPhoto($("chat-avatar"), open.peer?.photo_id, loadMedia);
  $("chat-info").hidden = open.type !== "group";
  secure.headerNote(open); // e2ee: "end-to-end encrypted", or a business's note; the contact info button
  cartHeader(); // a chat with a business: its info (catalog) and cart buttons
  wallet.update();
  presence.watch(open);
  const typing = open.id ? typingText(open.id) : null;
  const subtitle = $("chat-subtitle");
  subtitle.classList.toggle("typing", Boolean(typing));
  subtitle.textContent = typing || presence.textFor(open) || headerDetail(open);
}

function headerDetail(open) {
  if (open.type !== "group") return open.peer?.phone || "";
  const members = state.groups.get(open.id)?.members;
  if (!members) return "Group";
  const names = members.map((m) => (m.user_id === state.me.user_id ? "You" : m.name || m.phone));
  return names.sort((a, b) => (a === "You") - (b === "You")).join(", ");
}

async function loadMessages(older) {
  const open = state.open;
  if (!open?.id) return;
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (older) query.set("before", state.next);
  try {
    const answer = await call("GET", `/chats/${open.id}/messages?${query}`);
    const shown = await Promise.all(answer.messages.map(secure.reveal)); // e2ee
    if (state.open !== open) return; // the user moved on meanwhile
    shown.forEach(mergeMessage);
    secure.scheduleRetry(); // e2ee: a room key may still be on its way
    if (older || state.next === null) state.next = answer.next;
    renderMessages(older ? "preserve" : "bottom");
    if (!older) markOpenChatRead();
  } catch (error) {
    showError("chat-error", error.message);
  }
}

/** Stores a message of the open chat; an own message's status never goes back. */
function mergeMessage(message) {
  const known = state.messages.get(message.id);
  let status = message.status;
  if (known) status = higherStatus(status, known.status);
  if (state.earlyReceipts.has(message.id)) status = higherStatus(status, state.earlyReceipts.get(message.id));
  state.messages.set(message.id, { ...message, status });
}

function rememberScroll() {
  const box = $("messages");
  state.atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
}

function followBottom() {
  if (state.atBottom) $("messages").scrollTop = $("messages").scrollHeight;
}

function orderedMessages() {
  const stored = [...state.messages.values()].sort((a, b) => compareIds(a.id, b.id));
  const sending = [...state.pending.values()].filter((m) => m.open === state.open).sort((a, b) => a.timestamp - b.timestamp);
  return stored.concat(sending);
}

/** Redraws the open chat. anchor: "bottom" scrolls down, "preserve" keeps the view (older ones prepended), "auto" follows if at the bottom. */
function renderMessages(anchor) {
  const box = $("messages");
  const fromBottom = box.scrollHeight - box.scrollTop - box.clientHeight;
  const nodes = [];
  let day = null;
  let previousSender = null;
  for (const message of orderedMessages()) {
    const messageDay = ui.dayKey(message.timestamp);
    if (messageDay !== day) {
      nodes.push(ui.daySeparator(message.timestamp));
      day = messageDay;
      previousSender = null;
    }
    const firstOfRun = message.sender_id !== previousSender;
    const showSender = state.open.type === "group";
    const onReply = (reply) => sendReply(message, reply);
    const options = { meId: state.me.user_id, firstOfRun, showSender, loadMedia, onRetry: retrySend, onReply, onJoin };
    nodes.push(decorateMessage(ui.messageElement(message, options), message));
    previousSender = message.sender_id;
  }
  if (nodes.length === 0) nodes.push(ui.el("li", { class: "no-messages", text: "No messages here yet. Say hello!" }));
  const notice = state.open.id ? secure.securityNotice(state.open.id) : null; // e2ee
  if (notice) nodes.push(ui.el("li", { class: "security-notice", text: notice })); // e2ee
  $("message-list").replaceChildren(...nodes);
  $("load-older").hidden = !state.next;
  if (anchor === "bottom" || (anchor === "auto" && fromBottom < 120)) box.scrollTop = box.scrollHeight;
  else if (anchor === "preserve") box.scrollTop = box.scrollHeight - box.clientHeight - fromBottom;
  rememberScroll();
}

// ---- read receipts (ours) --------------------------------------------------------------------

/** Marks the open chat read up to its newest incoming message, if the user can see it. */
function markOpenChatRead() {
  const open = state.open;
  if (!open?.id || !isVisible()) return;
  const incoming = [...state.messages.values()].filter((m) => !isMine(m));
  if (incoming.length === 0) return;
  const newest = incoming.reduce((a, b) => (compareIds(a.id, b.id) > 0 ? a : b));
  const chat = state.chats.get(open.id);
  if (newest.status === "read" && !(chat?.unread_count > 0)) return;
  markRead(open.id, newest.id);
}

async function markRead(chatId, messageId) {
  const done = state.readUpTo.get(chatId);
  if (done && compareIds(done, messageId) >= 0) return;
  state.readUpTo.set(chatId, messageId);
  const chat = state.chats.get(chatId);
  if (chat) chat.unread_count = 0;
  for (const message of state.messages.values()) {
    if (!isMine(message) && compareIds(message.id, messageId) <= 0) message.status = "read";
  }
  renderChatList();
  try {
    await call("POST", `/messages/${messageId}/read`);
  } catch (error) {
    if (state.readUpTo.get(chatId) === messageId) state.readUpTo.delete(chatId);
    showError("chat-error", error.message);
  }
}

// ---- sending ---------------------------------------------------------------------------------

function sendTarget(open) {
  return open.type === "group" ? { group_id: open.id } : { to: open.peer.phone };
}

async function submitComposer(event) {
  event.preventDefault();
  const input = $("composer-input");
  const body = input.value.trim();
  if (!body || !state.open) return;
  if (await composer.finishEdit(body)) return;
  input.value = "";
  const context = composer.takeReplyContext();
  const open = state.open;
  const shape = { type: "text", text: { body }, media: null, context };
  if (secure.encrypts(open)) { // e2ee: the text leaves this browser only as ciphertext
    const encrypt = async () => ({ ...sendTarget(open), ...(await secure.textRequest(open, body)), ...(context ? { context } : {}) });
    await deliver({ client_id: newClientId() }, shape, open, encrypt);
    return;
  }
  const request = { ...sendTarget(state.open), ...referralFields(state.open), type: "text", text: { body }, client_id: newClientId() };
  if (context) request.context = context;
  await deliver(request, shape);
}

async function attachFile(event) {
  const file = event.target.files[0];
  event.target.value = "";
  if (!file || !state.open) return;
  const open = state.open;
  let caption = $("composer-input").value.trim();
  if (mediaType(file.type || "") === "image") {
    caption = await composer.previewImage(file, caption); // null: the person cancelled
    if (caption === null || state.open !== open) return;
  }
  $("composer-input").value = "";
  const placeholder = addPending(open, { type: "document", text: null, media: null, uploading: file.name });
  try {
    if (secure.encrypts(open)) { // e2ee: the file is encrypted before upload, its key travels in the message
      await sendEncryptedFile(open, file, caption, placeholder);
      return;
    }
    const media = await uploadMedia(file);
    const type = mediaType(media.mime_type || file.type);
    state.pending.delete(placeholder.client_id);
    const payload = caption ? { id: media.id, caption } : { id: media.id };
    const request = { ...sendTarget(open), type, [type]: payload, client_id: newClientId() };
    const shape = { type, text: null, media: { ...media, caption: caption || null } };
    await deliver(request, shape, open);
  } catch (error) {
    placeholder.status = "failed";
    placeholder.uploading = null;
    placeholder.text = { body: `${file.name}: ${error.message}` };
    renderMessages("auto");
    showError("chat-error", error.message);
  }
}

// e2ee: a picture or file in a person chat; this page shows its own copy, the others decrypt theirs.
async function sendEncryptedFile(open, file, caption, placeholder) {
  const { media, content } = await secure.uploadEncrypted(file, caption, uploadMedia);
  state.pending.delete(placeholder.client_id);
  state.mediaUrls.set(media.id, Promise.resolve(URL.createObjectURL(file)));
  const type = content.msgtype === "m.image" ? "image" : "document";
  const shape = { type, text: null, media: { id: media.id, mime_type: file.type, size: file.size, filename: file.name, caption: caption || null } };
  const encrypt = async () => ({ ...sendTarget(open), type: "encrypted", encrypted: await secure.encryptFor(open, content) });
  await deliver({ client_id: newClientId() }, shape, open, encrypt);
}

/** A tap on a business message's reply button, list row or quick reply: sent as a `reply` quoting it. */
async function sendReply(tapped, reply) {
  const open = state.open;
  if (!open || !tapped.id) return;
  const context = { message_id: tapped.id };
  const body = { reply_type: reply.reply_type, id: reply.id, title: reply.title };
  if (reply.description) body.description = reply.description;
  const request = { ...sendTarget(open), type: "reply", reply: body, context, client_id: newClientId() };
  await deliver(request, { type: "reply", text: null, media: null, business: { reply: body }, context }, open);
}

// ---- group invitations -----------------------------------------------------------------------

const onJoin = { stateOf: (inviteId) => state.invites.get(inviteId) || null, join: joinGroup };

/** The invitee's "Join group": accept the invitation, then open the group it led into. */
async function joinGroup(invite) {
  if (state.invites.has(invite.invite_id)) return;
  setInviteState(invite.invite_id, "joining");
  showError("chat-error", null);
  try {
    const group = await call("POST", `/group-invites/${encodeURIComponent(invite.invite_id)}/accept`);
    setInviteState(invite.invite_id, null); // accepting again answers the same group: the button stays usable
    await showGroup(group);
  } catch (error) {
    // 404: expired, used, or its sender is no longer an admin. Anything else (offline, full) may work later.
    setInviteState(invite.invite_id, error instanceof ApiError && error.status === 404 ? "unusable" : null);
    showError("chat-error", error.message);
  }
}

function setInviteState(inviteId, value) {
  if (value) state.invites.set(inviteId, value);
  else state.invites.delete(inviteId);
  if (state.open) renderMessages("auto");
}

/** Puts a group this person just joined or created in the chat list (even before its first message) and opens it. */
async function showGroup(group) {
  state.groups.set(group.id, group);
  await loadChats();
  if (!state.chats.has(group.id)) {
    state.chats.set(group.id, { id: group.id, type: "group", title: group.name, peer: null, unread_count: 0,
      last_message: null, updated_at: group.created_at });
  }
  openChat(group.id);
}

function mediaType(mime) {
  for (const kind of ["image", "video", "audio"]) if (mime.startsWith(`${kind}/`)) return kind;
  return "document";
}

/** Shows an own message right away, before the server has it. */
function addPending(open, shape, clientId = newClientId()) {
  const message = {
    id: undefined, chat_id: open.id, client_id: clientId, sender_id: state.me.user_id, sender_name: state.me.name,
    timestamp: Date.now(), status: "pending", edited_at: null, deleted: false, reactions: [], context: null,
    ...shape, open,
  };
  state.pending.set(clientId, message);
  if (state.open === open) renderMessages("bottom");
  return message;
}

// `encrypt` (person chats) builds the request from ciphertext once; a retry sends that same request.
async function deliver(request, shape, open = state.open, encrypt = null) {
  const pending = state.pending.get(request.client_id) || addPending(open, shape, request.client_id);
  if (encrypt) pending.encrypt = encrypt; // e2ee: a retry encrypts again if the first try never got that far
  try {
    if (encrypt) request = { ...(await encrypt()), client_id: request.client_id }; // e2ee
    pending.request = request;
    const answer = await call("POST", "/messages", request);
    delivered(pending, answer);
  } catch (error) {
    pending.status = "failed";
    // Offline or a server hiccup: sent again (same client_id) when the connection is back.
    pending.retryable = error instanceof ApiError && (error.status === 0 || error.status >= 500);
    if (!pending.retryable && !pending.request) pending.encrypt = null; // e2ee: it would fail the same way again
    if (state.open === pending.open) renderMessages("auto");
    showError("chat-error", error.message);
  }
}

// A retry reuses the client_id, so the server answers with the first message if it had stored it.
async function retrySend(message) {
  if (!message.request && !message.encrypt) return;
  message.status = "pending";
  renderMessages("auto");
  if (message.request) await deliver(message.request, {}, message.open);
  else await deliver({ client_id: message.client_id }, {}, message.open, message.encrypt); // e2ee
  if (message.status !== "failed") showError("chat-error", null); // the error it showed is over
}

/** Sends again every own message that failed for want of a connection (the socket or the network is back). */
function retryFailed() {
  for (const message of state.pending.values()) {
    if (message.status === "failed" && message.retryable) retrySend(message);
  }
}

function delivered(pending, answer) {
  state.pending.delete(pending.client_id);
  const { open, request, uploading, encrypt, ...fields } = pending;
  const status = higherStatus("sent", state.earlyReceipts.get(answer.id));
  const message = { ...fields, id: answer.id, chat_id: answer.chat_id, timestamp: answer.timestamp, status };
  if (open.id === null) {
    open.id = answer.chat_id; // the first message created this direct chat
    if (state.open === open) history.replaceState(null, "", `#chat=${open.id}`);
    if (state.open === open) renderChatHeader(); // now a chat: the header can show their presence
  }
  if (state.open === open) {
    if (!state.messages.has(message.id)) mergeMessage(message); // the stream may have brought it first
    renderMessages("bottom");
  }
  const chat = state.chats.get(answer.chat_id);
  if (chat) patchChatList("new", message);
  else scheduleChatsReload();
}

// Typing events are cheap hints: at most one every couple of seconds while keys are pressed.
function composerTyped() {
  const open = state.open;
  if (!open?.id || !$("composer-input").value) return;
  const now = Date.now();
  if (now - state.lastTypingSent < TYPING_SENT_EVERY_MS) return;
  if (stream.send({ type: "typing", chat_id: open.id })) state.lastTypingSent = now;
}

// ---- new chat, new group, profile ---------------------------------------------------------------

async function startChat(event) {
  event.preventDefault();
  const phone = $("new-chat-phone").value.trim();
  if (!phone) {
    showError("sidebar-error", "Enter a phone number, with the country code (for example +1 415 555 0102).");
    return;
  }
  showError("sidebar-error", null);
  try {
    const user = await call("GET", `/users/lookup?phone=${encodeURIComponent(phone)}`);
    if (user.user_id === state.me.user_id) {
      showError("sidebar-error", "That's your own number: pick someone else to chat with.");
      return;
    }
    $("new-chat-phone").value = "";
    const existing = [...state.chats.values()].find((c) => c.type === "direct" && c.peer?.user_id === user.user_id);
    if (existing) openChat(existing.id);
    else showChat({ id: null, type: "direct", title: user.name || user.phone, peer: user });
  } catch (error) {
    showError("sidebar-error", error.message); // e.g. "+1… is not on Parley", or why the number is invalid
  }
}

/** A reloaded chat list may now hold the chat that the open draft turned into. */
function adoptDraftChat() {
  const open = state.open;
  if (!open || open.id !== null) return;
  const chat = [...state.chats.values()].find((c) => c.type === "direct" && c.peer?.user_id === open.peer.user_id);
  if (!chat) return;
  open.id = chat.id;
  history.replaceState(null, "", `#chat=${open.id}`);
  loadMessages(false);
}

async function createGroup(event) {
  event.preventDefault();
  const name = $("new-group-name").value.trim();
  const members = $("new-group-members").value.split(/[,;\n]/).map((p) => p.trim()).filter(Boolean);
  if (!name || members.length === 0) {
    showError("sidebar-error", "A group needs a name and at least one member's phone number.");
    return;
  }
  showError("sidebar-error", null);
  try {
    const group = await call("POST", "/groups", { name, members });
    state.groups.set(group.id, group);
    $("new-group-form").reset();
    $("new-group").open = false;
    await showGroup(group);
    // People whose privacy settings refused the add were sent an invitation instead: say so.
    const invited = (group.invited || []).map((person) => person.error?.message).filter(Boolean);
    if (invited.length) showError("chat-error", invited.join(" "));
  } catch (error) {
    showError("sidebar-error", error.message);
  }
}

function renderMe() {
  const me = state.me;
  $("me-name").textContent = me.name || "Set your name";
  $("me-phone").textContent = me.phone;
  ui.paintAvatar($("me-avatar"), me.name || me.phone);
  paintPhoto($("me-avatar"), me.photo_id, loadMedia);
}

// The profile (name, photo) is edited in the settings panel.
function renameMe() {
  toggleSettings(true);
  settingsPanel.focusName();
}

// ---- settings: who can add me to groups ---------------------------------------------------------

const groupAddChoices = () => [...document.querySelectorAll('#group-add input[name="group-add"]')];
let privacySaves = 0; // only the newest save's answer is shown, if the person clicks quickly

function toggleSettings(open) {
  const panel = $("settings");
  panel.hidden = !open;
  $("settings-open").setAttribute("aria-expanded", String(open));
  if (!open) {
    $("settings-open").focus();
    return;
  }
  $("settings-status").textContent = "";
  settingsPanel.opened();
  loadPrivacy();
  showDevices();
}

async function loadPrivacy() {
  try {
    showPrivacy(await call("GET", "/privacy"));
    $("group-add").disabled = false;
    if (!$("settings").contains(document.activeElement)) {
      (groupAddChoices().find((input) => input.checked) || groupAddChoices()[0]).focus();
    }
  } catch (error) {
    showError("sidebar-error", error.message);
  }
}

function showPrivacy(privacy) {
  state.privacy = privacy;
  for (const input of groupAddChoices()) input.checked = input.value === privacy.group_add;
  settingsPanel.showPrivacy(privacy);
}

async function saveGroupAdd(event) {
  const save = ++privacySaves;
  $("settings-status").textContent = "Saving…";
  try {
    const privacy = await call("PATCH", "/privacy", { group_add: event.target.value });
    if (save !== privacySaves) return;
    showPrivacy(privacy);
    $("settings-status").textContent = "Saved";
  } catch (error) {
    if (save !== privacySaves) return;
    if (state.privacy) showPrivacy(state.privacy); // the server kept the old choice: show that one
    $("settings-status").textContent = "";
    showError("sidebar-error", error.message);
  }
}

async function signOut() {
  try {
    await api("POST", "/auth/logout");
  } catch {
    /* the token is dropped from this browser either way */
  }
  await secure.forgetDevice(); // e2ee: its private keys leave this browser with it
  signedOut();
}

// ---- the stream ------------------------------------------------------------------------------

function onStreamEvent(event) {
  if (event.type === "message") onMessageEvent(event);
  else if (event.type === "receipt") onReceipt(event);
  else if (event.type === "typing") onTyping(event);
  else if (event.type === "chat") onChatChanged(event);
  else if (event.type === "to_device" || event.type === "device_list") secure.onStreamEvent(event); // e2ee
  else if (event.type === "error") console.warn("stream:", event.error);
}

// Not in the documented contract, but sent today when a group is created or changed: show it now
// rather than when its first message arrives.
function onChatChanged({ chat_id: chatId }) {
  scheduleChatsReload();
  if (chatId && state.open?.id === chatId && state.open.type === "group") loadGroup(chatId);
}

// e2ee: message events are decrypted in the order they came, before anything is drawn.
let revealing = Promise.resolve();
function onMessageEvent(event) {
  revealing = revealing.then(async () => {
    const shown = await secure.reveal(event.message);
    showMessageEvent(event.event, shown);
    if (shown.waiting) secure.scheduleRetry();
  }).catch((error) => console.warn("message event:", error));
}

function showMessageEvent(kind, sent) {
  const message = keepReactionsOnEdit(kind, sent);
  if (kind === "new" && !isMine(message)) stopTyping(message.chat_id);
  patchChatList(kind, message);
  if (state.open?.id !== message.chat_id) return;
  if (isMine(message) && message.client_id) state.pending.delete(message.client_id);
  // Edits, deletions and reactions only matter for messages on screen.
  if (kind === "new" || state.messages.has(message.id)) {
    mergeMessage(message);
    renderMessages("auto");
  }
  if (kind === "new" && !isMine(message)) markOpenChatRead();
}

// Reactions change only through "reaction" events; the server's "edited" events currently carry an
// empty list even when the message has reactions, so an edit must not wipe them here.
function keepReactionsOnEdit(kind, message) {
  const known = state.messages.get(message.id);
  if (kind !== "edited" || !known || message.reactions?.length) return message;
  return { ...message, reactions: known.reactions };
}

function onReceipt(receipt) {
  if (receipt.user_id === state.me.user_id) {
    ownReadElsewhere(receipt);
    return;
  }
  const chat = state.chats.get(receipt.chat_id);
  if (typeof receipt.message_status === "string") {
    // The server's aggregate over all recipients (undocumented extra): no lookups needed.
    setOwnStatus(receipt.chat_id, receipt.message_id, receipt.message_status);
    renderChatList();
    if (state.open?.id === receipt.chat_id) renderMessages("auto");
    if (!state.messages.has(receipt.message_id)) rememberEarly(receipt.message_id, receipt.message_status);
  } else if (chat?.type === "group") refreshGroupStatuses(receipt);
  else raiseStatuses(receipt.chat_id, receipt.message_id, receipt.status);
}

function rememberEarly(messageId, status) {
  state.earlyReceipts.set(messageId, higherStatus(status, state.earlyReceipts.get(messageId)));
}

/** In a direct chat, read (or delivered) up to a message means every earlier own message too. */
function raiseStatuses(chatId, upTo, status) {
  const chat = state.chats.get(chatId);
  if (chat?.last_message && isMine(chat.last_message) && compareIds(chat.last_message.id, upTo) <= 0) {
    chat.last_message.status = higherStatus(status, chat.last_message.status);
    renderChatList();
  }
  // The receipt may beat the POST /messages answer for the message it's about: keep it for then.
  if (state.open?.id !== chatId || !state.messages.has(upTo)) rememberEarly(upTo, status);
  if (state.open?.id !== chatId) return;
  for (const message of state.messages.values()) {
    if (isMine(message) && compareIds(message.id, upTo) <= 0) message.status = higherStatus(status, message.status);
  }
  renderMessages("auto");
}

// A group message's status is the lowest over all members, so one member's receipt isn't enough:
// ask the server for the receipts of the own messages that could have changed.
async function refreshGroupStatuses(receipt) {
  const chat = state.chats.get(receipt.chat_id);
  const candidates = new Map();
  const consider = (message) => {
    if (message && isMine(message) && compareIds(message.id, receipt.message_id) <= 0
        && RANK[message.status] < RANK[receipt.status]) candidates.set(message.id, message);
  };
  consider(chat?.last_message);
  if (state.open?.id === receipt.chat_id) state.messages.forEach(consider);
  const newest = [...candidates.values()].sort((a, b) => compareIds(b.id, a.id)).slice(0, GROUP_RECEIPT_LOOKUPS);
  await Promise.all(newest.map(async (message) => {
    try {
      const { receipts } = await call("GET", `/messages/${message.id}/receipts`);
      if (receipts.length === 0) return;
      const lowest = receipts.map((r) => r.status).reduce((a, b) => (RANK[a] <= RANK[b] ? a : b));
      setOwnStatus(receipt.chat_id, message.id, lowest);
    } catch {
      /* the next receipt or reload will fix it */
    }
  }));
  renderChatList();
  if (state.open?.id === receipt.chat_id) renderMessages("auto");
}

function setOwnStatus(chatId, messageId, status) {
  const chat = state.chats.get(chatId);
  if (chat?.last_message?.id === messageId) chat.last_message.status = higherStatus(status, chat.last_message.status);
  const message = state.open?.id === chatId ? state.messages.get(messageId) : null;
  if (message) message.status = higherStatus(status, message.status);
}

// Another of our devices read this chat: clear the badge here too.
function ownReadElsewhere(receipt) {
  const chat = state.chats.get(receipt.chat_id);
  if (receipt.status !== "read" || !chat) return;
  if (!chat.last_message || compareIds(chat.last_message.id, receipt.message_id) <= 0) {
    chat.unread_count = 0;
    renderChatList();
  }
}

function onTyping({ chat_id: chatId, user_id: userId }) {
  if (userId === state.me.user_id) return;
  clearTimeout(state.typing.get(chatId)?.timer);
  const timer = setTimeout(() => stopTyping(chatId), TYPING_SHOWN_MS);
  state.typing.set(chatId, { userId, timer });
  renderTyping(chatId);
}

function stopTyping(chatId) {
  const typing = state.typing.get(chatId);
  if (!typing) return;
  clearTimeout(typing.timer);
  state.typing.delete(chatId);
  renderTyping(chatId);
}

function renderTyping(chatId) {
  renderChatList();
  if (state.open?.id === chatId) renderChatHeader();
}

function onStreamState(status, info) {
  const banner = $("connection");
  if (status === "open") {
    banner.hidden = true;
    if (info.reconnected) resync();
    retryFailed();
  } else if (status === "replaced") {
    // As WhatsApp Web does: one window per device is live; the user picks which.
    const useHere = document.createElement("button");
    useHere.type = "button";
    useHere.textContent = "Use here";
    useHere.addEventListener("click", () => stream.start());
    banner.hidden = false;
    banner.replaceChildren("Parley is open in another window. ", useHere);
  } else if (status === "waiting") {
    banner.hidden = false;
    banner.textContent = `Not connected. Trying again in ${Math.ceil(info.delay / 1000)} s…`;
    // A socket refused for a revoked token looks like any drop; /me tells the two apart.
    call("GET", "/me").catch(() => {});
  }
}

// Receipts and typing aren't redelivered after a drop, so reload what's on screen.
async function resync() {
  try {
    await loadChats();
    if (state.open?.id) await loadMessages(false);
  } catch (error) {
    showError("sidebar-error", error.message);
  }
}

// ---- e2ee: room keys that arrive late -----------------------------------------------------------

async function fetchGroup(groupId) {
  const group = await call("GET", `/groups/${groupId}`);
  state.groups.set(groupId, group);
  return group;
}

/** Room keys arrived: messages on screen (and previews) that waited for one are decrypted again. */
async function revealWaiting() {
  const open = state.open;
  const waiting = [...state.messages.values()].filter((m) => m.waiting);
  const shown = await Promise.all(waiting.map(secure.reveal));
  if (state.open === open) {
    shown.filter((m) => !m.waiting).forEach((m) => state.messages.set(m.id, { ...m, status: state.messages.get(m.id)?.status || m.status }));
    if (shown.some((m) => !m.waiting)) renderMessages("auto");
  }
  const previews = [...state.chats.values()].filter((chat) => chat.last_message?.waiting);
  await Promise.all(previews.map(async (chat) => { chat.last_message = await secure.reveal(chat.last_message); }));
  if (previews.length) renderChatList();
  secure.scheduleRetry();
}

// ---- start -----------------------------------------------------------------------------------

function bindUi() {
  $("composer").addEventListener("submit", submitComposer);
  $("composer-input").addEventListener("input", composerTyped);
  $("attach").addEventListener("change", attachFile);
  $("new-chat-form").addEventListener("submit", startChat);
  $("new-group-form").addEventListener("submit", createGroup);
  $("load-older").addEventListener("click", () => loadMessages(true));
  $("messages").addEventListener("scroll", rememberScroll, { passive: true });
  // Pictures arrive after the redraw and push the newest messages down: follow them if the user was there.
  $("messages").addEventListener("load", followBottom, true);
  $("messages").addEventListener("loadedmetadata", followBottom, true);
  $("sign-out").addEventListener("click", signOut);
  $("me").addEventListener("click", renameMe);
  $("settings-open").addEventListener("click", () => toggleSettings($("settings").hidden));
  $("settings-close").addEventListener("click", () => toggleSettings(false));
  $("settings").addEventListener("keydown", (event) => { if (event.key === "Escape") toggleSettings(false); });
  $("group-add").addEventListener("change", saveGroupAdd);
  $("back").addEventListener("click", closeChat);
  document.addEventListener("visibilitychange", markOpenChatRead);
  window.addEventListener("online", () => {
    stream.retryNow();
    retryFailed();
  });
  initMessageTools();
  initGroupJoin({ call, joined: showGroup, showError }); // subscriptions
}

// The message menu, the composer's extras and search live in their own modules; these are their hooks.
function initMessageTools() {
  const update = async (sent) => {
    const message = await secure.reveal(sent); // e2ee: an edit answers new ciphertext
    if (state.open?.id !== message.chat_id) return;
    mergeMessage(message);
    renderMessages("auto");
    patchChatList("edited", message);
  };
  const notify = (text) => showError("chat-status", text);
  const hooks = { call, newClientId, showError, update, notify };
  const forward = async (message, chatId, clientId) => { // e2ee: a new encrypted send, never the server's forward
    const request = await secure.forwardRequest(message, state.chats.get(chatId), uploadMedia, fetchMediaBlob);
    return call("POST", "/messages", { ...request, client_id: clientId });
  };
  initMessageMenu({
    ...hooks,
    me: () => state.me,
    chats: () => [...state.chats.values()].sort((a, b) => chatTime(b) - chatTime(a)),
    message: (id) => state.messages.get(id) || null,
    reply: composer.startReply,
    edit: composer.startEdit,
    forward, // e2ee
  });
  composer.initComposer({ ...hooks, me: () => state.me, editBody: secure.editBody }); // e2ee: edits re-encrypt
  initSearch({
    ...hooks,
    chats: () => [...state.chats.values()],
    openChat,
    message: (id) => state.messages.get(id) || null,
    loadOlder: async () => {
      if (!state.next) return false;
      await loadMessages(true);
      return true;
    },
    renderChatList,
    localMatches: secure.searchDecrypted, // e2ee: person chats are searched here, decrypted
  });
  // Shopping in a chat with a business (cart.js): product bubbles, the business's catalog, the cart.
  initCart({ ...hooks, open: () => state.open, rerender: () => renderMessages("auto"), refresh: () => loadMessages(false) });
  // The messages pane shrinks when a bar (an error, a reply's quote) appears under it: keep the newest in view.
  new ResizeObserver(followBottom).observe($("messages"));
}

async function boot() {
  if (!session.token) {
    rememberForSignIn(location.hash); // a click-to-chat link opens after the sign-in
    location.replace("/");
    return;
  }
  bindUi();
  try {
    state.me = await call("GET", "/me");
    call("POST", "/ads/viewer").catch(() => {}); // ads this browser is shown count for this person (issue 14)
    claimPendingClick(call); // affiliates: an affiliate link opened before signing in counts for this person
    // e2ee: this device's keys are published before the page says who is signed in (so a message sent to this
    // person from now on is readable here), and before the first encrypted preview is decrypted.
    await secure.initSecureChats({
      call, me: () => state.me, open: () => state.open, chats: () => [...state.chats.values()],
      group: fetchGroup, keysArrived: revealWaiting, noticeChanged: (chatId) => { if (state.open?.id === chatId) renderMessages("auto"); },
    });
    renderMe();
    stream.start();
    await loadChats();
  } catch (error) {
    showError("sidebar-error", error.message);
  }
  $("app").removeAttribute("aria-busy");
  if (state.me) {
    await openChatLink(location.hash, {
      me: state.me, chats: state.chats, call, openChat, showChat, composer: $("composer-input"),
      showError: (message) => showError("sidebar-error", message),
    });
  }
}

boot();
