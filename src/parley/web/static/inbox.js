// The team inbox page: filters, conversation list, the open conversation with its reply box, the contact
// card and the settings, all through /inbox/api and kept live by its stream. Data goes into the DOM
// through textContent only (render.js's el), never as HTML.

import { dayKey, daySeparator, el, formatDay, formatTime, messageElement, paintAvatar } from "./render.js";
import { Stream } from "./stream.js";
import { TemplatePicker } from "./template-picker.js";
import { InboxCommerce } from "./inbox-commerce.js";
import { InboxOrderStatus } from "./inbox-order-status.js";

const $ = (id) => document.getElementById(id);
const API = "/inbox/api";
const LIST_PAGE = 25;
const HISTORY_PAGE = 50;
const RELOAD_DEBOUNCE_MS = 120;
// Messages the business sent are drawn as "own" bubbles: render.js compares sender ids with this.
const BUSINESS = "business";
const DAYS = [["mon", "Monday"], ["tue", "Tuesday"], ["wed", "Wednesday"], ["thu", "Thursday"],
  ["fri", "Friday"], ["sat", "Saturday"], ["sun", "Sunday"]];
const POLICIES = [["round_robin", "Round robin"], ["least_open", "Fewest open conversations"],
  ["by_label", "By label (agent skills)"], ["manual", "Manual: everything waits in the queue"]];

const state = {
  me: null, //              Agent
  business: null, //        {waba_id, name, timezone}
  numbers: [], //           the business's numbers
  billing: false,
  csrf: "",
  labels: [],
  agents: [],
  agentsStale: false, //    agents' news came while the admin was editing a row of Settings → Agents
  quickReplies: [],
  filters: { status: "open", assignee: "all", label: "", number: "", q: "" },
  rows: [], //              conversations in the list, in the server's order
  next: null, //            keyset cursor of the list's next page
  listSeq: 0, //            drops list answers that a newer request overtook
  open: null, //            the open Conversation
  messages: new Map(), //   id -> Message of the open conversation
  notes: new Map(), //      id -> Note of the open conversation
  before: null, //          cursor for older history
  templates: [],
  contact: null,
  mode: "reply", //         reply | note
  quickReply: null, //      {id, text}: a chosen quick reply, while the box still holds its text unedited
  matches: [], //           quick replies matching what follows "/"
  matchIndex: 0,
  timers: new Map(),
  mediaUrls: new Map(),
  settingsSection: "agents",
  profile: null, //         the business profile as loaded, so a save sends only what changed
};

// The composer's template picker (outside the 24-hour window, or on the Template tab).
const composerTemplates = new TemplatePicker({ select: $("template-select"), price: $("template-price"),
  preview: $("template-preview"), vars: $("template-vars"), empty: $("template-empty") });

// Selling from the inbox (catalog panel, payment requests, CSV import): inbox-commerce.js, through these hooks.
const commerce = new InboxCommerce({ call: (...args) => call(...args), newKey: () => newKey(), csrf: () => state.csrf,
  open: () => state.open, refresh: () => refreshOpen() });
// The "Order status" action on an order the business sent (inbox-order-status.js).
const orderStatus = new InboxOrderStatus({ call: (...args) => call(...args), newKey: () => newKey(),
  open: () => state.open, refresh: () => refreshOpen() });

// ---- HTTP ------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON */
  }
  const error = body && typeof body === "object" ? body.error : null;
  if (error && typeof error.message === "string") return new ApiError(response.status, error.code || "error", error.message);
  const fallback = response.status >= 500 ? "The server had a problem. Please try again in a moment."
    : `The request failed (HTTP ${response.status}).`;
  return new ApiError(response.status, `http_${response.status}`, fallback);
}

/** One call to the inbox API: JSON in and out, the CSRF header on writes; a 401 goes back to sign-in. */
async function call(method, path, body = undefined, extraHeaders = {}) {
  const headers = { ...extraHeaders };
  if (method !== "GET") headers["X-CSRF-Token"] = state.csrf;
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(API + path, init);
  } catch {
    throw new ApiError(0, "network_error", "Can't reach the server. Check your connection and try again.");
  }
  if (response.status === 401) {
    stream.stop();
    location.replace("/inbox/login");
    throw new ApiError(401, "unauthenticated", "Your session ended. Please sign in again.");
  }
  if (!response.ok) throw await errorFrom(response);
  return response.status === 204 ? null : response.json();
}

/** A fresh Idempotency-Key: 128 random bits in 22 url-safe characters (the server stores it prefixed). */
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const query = (params) => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== "" && value !== null && value !== undefined) search.set(key, value);
  return search.toString();
};

// ---- small view helpers ------------------------------------------------------------------------

function showMessage(id, message, hideAfterMs = 8000) {
  const box = $(id);
  box.textContent = message || "";
  box.hidden = !message;
  clearTimeout(state.timers.get(id));
  if (message && hideAfterMs) state.timers.set(id, setTimeout(() => { box.hidden = true; }, hideAfterMs));
}

/** Runs `fn` once after a quiet moment, however often it is asked for meanwhile. */
function debounce(key, fn, ms = RELOAD_DEBOUNCE_MS) {
  clearTimeout(state.timers.get(key));
  state.timers.set(key, setTimeout(fn, ms));
}

const contactName = (contact) => contact?.name || contact?.profile_name || contact?.phone || "Unknown";

function listTime(ms) {
  return dayKey(ms) === dayKey(Date.now()) ? formatTime(ms) : formatDay(ms);
}

const dateTime = (ms) => (ms ? `${formatDay(ms)}, ${formatTime(ms)}` : "—");

/** Black or white text, whichever reads better on the label's colour. */
function textOn(hex) {
  const value = /^#([0-9a-f]{6})$/i.exec(hex || "");
  if (!value) return "#111b21";
  const n = parseInt(value[1], 16);
  const luminance = (0.299 * (n >> 16) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255)) / 255;
  return luminance > 0.6 ? "#111b21" : "#ffffff";
}

function labelChip(label, onRemove = null) {
  const chip = el("li", { class: "label-chip", dataset: { labelId: label.id }, attrs: { title: label.name } },
    el("span", { class: "label-chip-name", text: label.name }),
    onRemove ? el("button", { class: "label-remove", text: "×",
      attrs: { type: "button", "aria-label": `Remove label ${label.name}` }, on: { click: onRemove } }) : null);
  chip.style.backgroundColor = label.colour;
  chip.style.color = textOn(label.colour);
  return chip;
}

function option(value, text, selected = false) {
  const node = el("option", { text, attrs: { value } });
  node.selected = selected;
  return node;
}

function fillSelect(select, first, items, selected) {
  select.replaceChildren(...(first ? [option("", first)] : []), ...items.map(([value, text]) => option(value, text, value === selected)));
}

function durationText(ms) {
  const minutes = Math.max(0, Math.floor(ms / 60000));
  if (minutes < 1) return "under a minute";
  const hours = Math.floor(minutes / 60);
  return hours > 0 ? `${hours} h ${minutes % 60} min` : `${minutes} min`;
}

const isAdmin = () => state.me && (state.me.role === "owner" || state.me.role === "admin");

// ---- top bar ---------------------------------------------------------------------------------

function renderMe() {
  const me = state.me;
  $("me-name").textContent = me.name;
  $("me-role").textContent = { owner: "Owner", admin: "Admin", agent: "Agent" }[me.role] || me.role;
  paintAvatar($("me-avatar"), me.name);
  $("availability").value = me.availability;
  $("availability").dataset.availability = me.availability;
  $("business-name").textContent = state.business?.name || "";
  $("nav-settings").hidden = !isAdmin();
  $("nav-console").hidden = !isAdmin();
}

async function changeAvailability() {
  const wanted = $("availability").value;
  try {
    state.me = await call("PATCH", "/me", { availability: wanted });
    renderMe();
  } catch (error) {
    $("availability").value = state.me.availability;
    showMessage("banner", error.message);
  }
}

function showView(view) {
  const settings = view === "settings";
  $("inbox-view").hidden = settings;
  $("settings-view").hidden = !settings;
  $("nav-inbox").classList.toggle("active", !settings);
  $("nav-settings").classList.toggle("active", settings);
  if (settings) openSettings(state.settingsSection);
}

// ---- filters and the conversation list -----------------------------------------------------

function renderFilters() {
  for (const tab of document.querySelectorAll(".status-tab")) {
    tab.classList.toggle("active", tab.dataset.status === state.filters.status);
    tab.setAttribute("aria-selected", String(tab.dataset.status === state.filters.status));
  }
  for (const tab of document.querySelectorAll(".assignee-tab")) {
    tab.classList.toggle("active", tab.dataset.assignee === state.filters.assignee);
    tab.setAttribute("aria-selected", String(tab.dataset.assignee === state.filters.assignee));
  }
  fillSelect($("filter-label"), "All labels", state.labels.map((l) => [l.id, l.name]), state.filters.label);
  fillSelect($("filter-number"), "All numbers",
    state.numbers.map((n) => [n.id, `${n.verified_name || ""} ${n.display_phone_number}`.trim()]), state.filters.number);
  $("filter-number").hidden = state.numbers.length < 2;
}

function setFilter(key, value) {
  state.filters[key] = value;
  renderFilters();
  loadList(false);
}

async function loadList(more) {
  const seq = ++state.listSeq;
  const { status, assignee, label, number, q } = state.filters;
  const params = { status, assignee, label, number, q, limit: String(more ? LIST_PAGE : Math.max(LIST_PAGE, state.rows.length)) };
  if (more) params.cursor = state.next;
  try {
    const answer = await call("GET", `/conversations?${query(params)}`);
    if (seq !== state.listSeq) return;
    state.rows = more ? state.rows.concat(answer.data.filter((c) => !state.rows.some((r) => r.id === c.id))) : answer.data;
    state.next = answer.paging?.next || null;
    renderList();
  } catch (error) {
    showMessage("banner", error.message);
  }
}

function conversationRow(conversation) {
  const contact = conversation.contact || {};
  const last = conversation.last_message;
  const active = state.open?.id === conversation.id;
  const unread = conversation.unread > 0;
  const preview = el("span", { class: "row-preview" },
    last?.direction === "out" ? el("span", { class: "row-out", text: "↩", attrs: { title: "Sent by your team" } }) : null,
    el("span", { class: "row-preview-text", text: last?.text || "" }));
  const assignee = conversation.assignee
    ? el("span", { class: "row-assignee", dataset: { agentId: conversation.assignee.id }, text: conversation.assignee.name })
    : el("span", { class: "row-assignee unassigned", text: "Unassigned" });
  const open = () => openConversation(conversation.id);
  return el("li", {
    class: `conversation-row${active ? " active" : ""}${unread ? " unread" : ""}`,
    dataset: { id: conversation.id, status: conversation.status },
    attrs: { tabindex: "0", role: "option", "aria-selected": String(active) },
    on: { click: open, keydown: (event) => { if (event.key === "Enter") open(); } },
  },
  paintAvatar(el("span", { class: "avatar", attrs: { "aria-hidden": "true" } }), contactName(contact)),
  el("span", { class: "row-body" },
    el("span", { class: "row-line" },
      el("span", { class: "row-name", text: contactName(contact) }),
      el("span", { class: "row-time", text: last?.at ? listTime(last.at) : "" })),
    el("span", { class: "row-line" }, preview,
      unread ? el("span", { class: "unread-badge", text: conversation.unread > 99 ? "99+" : String(conversation.unread) }) : null),
    el("span", { class: "row-line row-meta" },
      el("ul", { class: "label-chips small" }, ...(conversation.labels || []).map((l) => labelChip(l))),
      assignee)));
}

function renderList() {
  $("conversation-list").replaceChildren(...state.rows.map(conversationRow));
  $("list-empty").hidden = state.rows.length > 0;
  $("load-more").hidden = !state.next;
}

async function loadCounts() {
  try {
    const counts = await call("GET", "/counts");
    for (const [id, value] of [["count-mine", counts.mine], ["count-unassigned", counts.unassigned]]) {
      $(id).textContent = String(value);
      $(id).hidden = !value;
    }
    document.title = counts.unread_mine > 0 ? `(${counts.unread_mine}) Inbox · Parley` : "Inbox · Parley";
  } catch {
    /* the badges just stay as they were */
  }
}

// ---- the open conversation -----------------------------------------------------------------

async function openConversation(id) {
  const changed = state.open?.id !== id;
  if (changed) {
    state.messages = new Map();
    state.notes = new Map();
    state.before = null;
    state.contact = null;
    state.quickReply = null;
    state.mode = "reply";
    composerTemplates.forget();
    $("reply-text").value = "";
    closeQuickReplies();
    showMessage("conversation-error", null);
  }
  try {
    state.open = await call("GET", `/conversations/${id}`);
  } catch (error) {
    showMessage("banner", error.message);
    return;
  }
  history.replaceState(null, "", `#c=${id}`);
  $("no-conversation").hidden = true;
  $("conversation-view").hidden = false;
  $("inbox").classList.add("conversation-open");
  renderConversation();
  renderList();
  await Promise.all([loadHistory(false), loadTemplates(), loadContact()]);
  markRead();
}

function closeConversation() {
  state.open = null;
  history.replaceState(null, "", location.pathname);
  $("conversation-view").hidden = true;
  $("no-conversation").hidden = false;
  $("inbox").classList.remove("conversation-open");
  renderList();
}

async function refreshOpen() {
  const open = state.open;
  if (!open) return;
  try {
    const fresh = await call("GET", `/conversations/${open.id}`);
    if (state.open?.id !== open.id) return;
    state.open = fresh;
    renderConversation();
    await loadHistory(false);
    markRead();
  } catch (error) {
    showMessage("conversation-error", error.message, 0);
  }
}

function renderConversation() {
  const conversation = state.open;
  const contact = conversation.contact || {};
  $("conv-title").textContent = contactName(contact);
  const number = state.numbers.find((n) => n.id === conversation.number_id);
  $("conv-subtitle").textContent = [contact.phone, number ? `to ${number.display_phone_number}` : null].filter(Boolean).join(" · ");
  paintAvatar($("conv-avatar"), contactName(contact));
  $("conv-status").textContent = conversation.status;
  $("conv-status").dataset.status = conversation.status;
  $("status-resolve").hidden = conversation.status === "resolved";
  $("status-pending").hidden = conversation.status !== "open";
  $("status-reopen").hidden = conversation.status === "open";
  renderAssignee();
  renderConversationLabels();
  renderWindow();
  renderComposer();
}

function renderAssignee() {
  const current = state.open?.assignee?.id || "";
  const agents = state.agents.filter((a) => (!a.invited && a.availability !== "disabled") || a.id === current);
  fillSelect($("assignee"), "Unassigned",
    agents.map((a) => [a.id, `${a.name}${a.id === state.me.id ? " (you)" : ""} · ${a.availability}`]), current);
}

function renderConversationLabels() {
  const on = state.open.labels || [];
  $("conv-labels").replaceChildren(...on.map((label) => labelChip(label, () => removeLabel(label.id))));
  const free = state.labels.filter((label) => !on.some((l) => l.id === label.id));
  fillSelect($("add-label"), "+ Label", free.map((l) => [l.id, l.name]), "");
  $("add-label").hidden = free.length === 0;
}

function renderWindow() {
  const box = $("window-state");
  const serviceWindow = state.open?.window || { open: false, closes_at: null };
  box.classList.toggle("open", Boolean(serviceWindow.open));
  box.classList.toggle("closed", !serviceWindow.open);
  box.dataset.open = String(Boolean(serviceWindow.open));
  if (!serviceWindow.open) box.textContent = "Window closed: only templates";
  else if (serviceWindow.closes_at) box.textContent = `Window open · closes in ${durationText(serviceWindow.closes_at - Date.now())}`;
  else box.textContent = "Window open";
}

function renderComposer() {
  const note = state.mode === "note";
  const windowOpen = Boolean(state.open?.window?.open);
  for (const mode of ["reply", "template", "note"]) {
    $(`mode-${mode}`).classList.toggle("active", state.mode === mode);
    $(`mode-${mode}`).setAttribute("aria-selected", String(state.mode === mode));
  }
  $("reply-form").hidden = state.mode === "template";
  const text = $("reply-text");
  const usable = note || windowOpen;
  text.disabled = !usable;
  $("reply-send").disabled = !usable;
  $("reply-form").classList.toggle("note-mode", note);
  $("reply-form").classList.toggle("disabled", !usable);
  $("reply-send").textContent = note ? "Add note" : "Send";
  text.placeholder = note ? "Private note: only your team sees it"
    : windowOpen ? "Type a reply, or / for quick replies"
      : "The 24-hour window is closed: send an approved template below";
  // Outside the window a template is the only way to write; inside it, the Template tab offers them.
  $("template-picker").hidden = note || (windowOpen && state.mode !== "template");
  if (!usable) closeQuickReplies();
  commerce.render(state.open);
}

function setMode(mode) {
  state.mode = mode;
  closeQuickReplies();
  renderComposer();
  if (mode === "template") $("template-select").focus();
  else if (!$("reply-text").disabled) $("reply-text").focus();
}

async function loadHistory(older) {
  const open = state.open;
  const params = { limit: String(HISTORY_PAGE) };
  if (older) params.before = state.before;
  try {
    const answer = await call("GET", `/conversations/${open.id}/messages?${query(params)}`);
    if (state.open?.id !== open.id) return;
    for (const message of answer.data) state.messages.set(message.id, message);
    for (const note of answer.notes || []) state.notes.set(note.id, note);
    if (older || state.before === null) state.before = answer.paging?.before || null;
    renderHistory(older ? "preserve" : "auto");
  } catch (error) {
    showMessage("conversation-error", error.message, 0);
  }
}

function loadMedia(mediaId) {
  if (!state.mediaUrls.has(mediaId)) {
    const url = fetch(`${API}/media/${encodeURIComponent(mediaId)}`, { credentials: "same-origin" })
      .then((response) => {
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return response.blob();
      })
      .then((blob) => URL.createObjectURL(blob));
    url.catch(() => state.mediaUrls.delete(mediaId));
    state.mediaUrls.set(mediaId, url);
  }
  return state.mediaUrls.get(mediaId);
}

function noteElement(note) {
  return el("li", { class: "note", dataset: { noteId: note.id } },
    el("div", { class: "note-head" },
      el("span", { class: "note-badge", text: "Private note" }),
      el("span", { class: "note-author", text: note.author?.name || "Someone" })),
    el("div", { class: "note-body", text: note.body }),
    el("time", { class: "note-time", attrs: { datetime: new Date(note.created_at).toISOString() }, text: formatTime(note.created_at) }));
}

/** Messages and notes, interleaved by time; a business message counts as "own" for render.js. */
function historyItems() {
  const items = [...state.messages.values()].map((message) => ({
    at: message.timestamp, key: `m${message.id}`,
    message: { ...message, sender_id: message.direction === "out" ? BUSINESS : `in:${message.sender_id}` },
  }));
  for (const note of state.notes.values()) items.push({ at: note.created_at, key: `n${note.id}`, note });
  return items.sort((a, b) => a.at - b.at || (a.key < b.key ? -1 : 1));
}

function renderHistory(anchor) {
  const box = $("history");
  const fromBottom = box.scrollHeight - box.scrollTop - box.clientHeight;
  const nodes = [];
  let day = null;
  let previous = null;
  for (const item of historyItems()) {
    if (dayKey(item.at) !== day) {
      day = dayKey(item.at);
      const separator = daySeparator(item.at);
      separator.removeAttribute("role"); // a list item of the message list (axe: a list holds only list items)
      nodes.push(separator);
      previous = null;
    }
    if (item.note) {
      nodes.push(noteElement(item.note));
      previous = null;
      continue;
    }
    const message = item.message;
    const node = messageElement(message, { meId: BUSINESS, firstOfRun: message.sender_id !== previous, showSender: false,
      loadMedia, onRetry: () => {}, onReply: null });
    node.dataset.direction = message.direction;
    commerce.decorate(node, message);
    orderStatus.decorate(node, message);
    nodes.push(node);
    previous = message.sender_id;
  }
  if (nodes.length === 0) nodes.push(el("li", { class: "no-messages", text: "No messages yet." }));
  $("message-list").replaceChildren(...nodes);
  $("load-older").hidden = !state.before;
  if (anchor === "bottom" || (anchor === "auto" && fromBottom < 160)) box.scrollTop = box.scrollHeight;
  else if (anchor === "preserve") box.scrollTop = box.scrollHeight - box.clientHeight - fromBottom;
}

async function markRead() {
  const open = state.open;
  if (!open || !(open.unread > 0) || document.visibilityState !== "visible") return;
  open.unread = 0;
  const row = state.rows.find((r) => r.id === open.id);
  if (row) row.unread = 0;
  renderList();
  try {
    await call("POST", `/conversations/${open.id}/read`);
    loadCounts();
  } catch {
    /* the badge comes back with the next refresh */
  }
}

/** Applies a changed Conversation from a write answer to the view and the list row. */
function adopt(conversation) {
  if (state.open?.id === conversation.id) {
    state.open = conversation;
    renderConversation();
  }
  const index = state.rows.findIndex((r) => r.id === conversation.id);
  if (index >= 0) state.rows[index] = conversation;
  renderList();
  debounce("list", () => loadList(false));
  loadCounts();
}

async function conversationAction(method, path, body) {
  const open = state.open;
  try {
    adopt(await call(method, `/conversations/${open.id}${path}`, body));
  } catch (error) {
    showMessage("conversation-error", error.message, 0);
    renderConversation();
  }
}

const setStatus = (status) => conversationAction("POST", "/status", { status });
const assign = () => conversationAction("POST", "/assign", { agent_id: $("assignee").value || null });
const removeLabel = (labelId) => conversationAction("DELETE", `/labels/${labelId}`);

function addLabel() {
  const labelId = $("add-label").value;
  if (labelId) conversationAction("POST", "/labels", { label_id: labelId });
}

// ---- replying: text, quick replies, templates, notes ----------------------------------------------

/** What a quick reply will read like; the server fills the same variables when it is sent by id. */
function fillVariables(body) {
  const values = {
    name: state.open?.contact?.name || state.open?.contact?.profile_name || "",
    phone: state.open?.contact?.phone || "",
    agent: state.me?.name || "",
    business: state.business?.name || "",
  };
  return body.replace(/\{\{\s*(name|phone|agent|business)\s*\}\}/g, (_, key) => values[key]);
}

async function submitReply(event) {
  event?.preventDefault();
  const box = $("reply-text");
  const text = box.value.trim();
  if (!text || !state.open || box.disabled) return;
  const open = state.open;
  const chosen = state.quickReply && state.quickReply.text === box.value ? state.quickReply : null;
  box.value = "";
  state.quickReply = null;
  closeQuickReplies();
  try {
    if (state.mode === "note") {
      const note = await call("POST", `/conversations/${open.id}/notes`, { body: text });
      state.notes.set(note.id, note);
    } else {
      const body = chosen ? { quick_reply_id: chosen.id } : { text };
      await call("POST", `/conversations/${open.id}/messages`, body, { "Idempotency-Key": newKey() });
    }
    showMessage("conversation-error", null);
    if (state.open?.id === open.id) await refreshOpen();
  } catch (error) {
    if (!box.value) box.value = text;
    showMessage("conversation-error", error.message, 0);
    if (error.code === "outside_window") refreshOpen();
  }
}

function replyKeydown(event) {
  const menuOpen = !$("quick-replies").hidden;
  if (menuOpen && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
    event.preventDefault();
    const step = event.key === "ArrowDown" ? 1 : -1;
    state.matchIndex = (state.matchIndex + step + state.matches.length) % state.matches.length;
    renderQuickReplies();
  } else if (menuOpen && (event.key === "Enter" || event.key === "Tab")) {
    event.preventDefault();
    chooseQuickReply(state.matches[state.matchIndex]);
  } else if (menuOpen && event.key === "Escape") {
    closeQuickReplies();
  } else if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault(); // Enter sends, Shift+Enter starts a new line, as in WhatsApp Web
    submitReply();
  }
}

function replyInput() {
  const value = $("reply-text").value;
  if (state.quickReply && state.quickReply.text !== value) state.quickReply = null;
  const typed = /^\/(\S*)$/.exec(value);
  if (state.mode !== "reply" || !typed) {
    closeQuickReplies();
    return;
  }
  // Admins may have changed them since this page loaded: fetch afresh whenever the menu opens.
  if ($("quick-replies").hidden) loadQuickReplies().then(() => { if (!$("quick-replies").hidden) matchQuickReplies(); }, () => {});
  matchQuickReplies();
}

function matchQuickReplies() {
  const typed = /^\/(\S*)$/.exec($("reply-text").value);
  if (!typed) return;
  const wanted = typed[1].toLowerCase();
  state.matches = state.quickReplies
    .filter((q) => q.shortcut.toLowerCase().includes(wanted))
    .sort((a, b) => a.shortcut.toLowerCase().startsWith(wanted) ? -1 : b.shortcut.toLowerCase().startsWith(wanted) ? 1 : 0);
  state.matchIndex = 0;
  renderQuickReplies();
}

function renderQuickReplies() {
  const list = $("quick-replies");
  if (state.matches.length === 0) {
    list.replaceChildren(el("li", { class: "quick-reply-empty", text: "No quick reply matches. Admins add them in Settings." }));
  } else {
    list.replaceChildren(...state.matches.map((reply, index) => el("li", {
      class: `quick-reply${index === state.matchIndex ? " selected" : ""}`,
      dataset: { id: reply.id, shortcut: reply.shortcut },
      attrs: { role: "option", "aria-selected": String(index === state.matchIndex) },
      on: { mousedown: (event) => { event.preventDefault(); chooseQuickReply(reply); } },
    }, el("span", { class: "quick-reply-shortcut", text: `/${reply.shortcut}` }),
    el("span", { class: "quick-reply-body", text: fillVariables(reply.body) }))));
  }
  list.hidden = false;
}

function closeQuickReplies() {
  state.matches = [];
  $("quick-replies").hidden = true;
}

function chooseQuickReply(reply) {
  if (!reply) return;
  const text = fillVariables(reply.body);
  $("reply-text").value = text;
  state.quickReply = { id: reply.id, text };
  closeQuickReplies();
  $("reply-text").focus();
}

async function loadTemplates() {
  const open = state.open;
  if (!open) return;
  try {
    const answer = await call("GET", `/conversations/${open.id}/templates`);
    if (state.open?.id !== open.id) return;
    state.templates = answer.data;
  } catch (error) {
    state.templates = [];
    showMessage("conversation-error", error.message, 0);
  }
  composerTemplates.setTemplates(state.templates, state.billing);
  $("template-send").disabled = state.templates.length === 0;
}

async function sendTemplate() {
  const template = composerTemplates.request();
  const open = state.open;
  if (!template || !open) return;
  if (!composerTemplates.complete()) {
    showMessage("conversation-error", "Fill in every variable of the template first.", 0);
    return;
  }
  $("template-send").disabled = true;
  try {
    await call("POST", `/conversations/${open.id}/messages`, { template }, { "Idempotency-Key": newKey() });
    composerTemplates.clearValues();
    showMessage("conversation-error", null);
    await refreshOpen();
  } catch (error) {
    showMessage("conversation-error", error.message, 0);
  } finally {
    $("template-send").disabled = state.templates.length === 0;
  }
}

// ---- contact card ----------------------------------------------------------------------------

async function loadContact() {
  const open = state.open;
  const contactId = open?.contact?.id;
  if (!contactId) return;
  try {
    const contact = await call("GET", `/contacts/${contactId}`);
    if (state.open?.id !== open.id) return;
    state.contact = contact;
    renderContact();
  } catch (error) {
    showMessage("conversation-error", error.message, 0);
  }
}

function renderContact() {
  const contact = state.contact;
  if (!contact) return;
  if (document.activeElement !== $("contact-name")) $("contact-name").value = contact.name || "";
  if (document.activeElement !== $("contact-notes")) $("contact-notes").value = contact.notes || "";
  $("contact-name").placeholder = contact.profile_name || contact.phone;
  $("contact-profile-name").textContent = contact.profile_name || "—";
  $("contact-phone").textContent = contact.phone;
  $("contact-first").textContent = dateTime(contact.first_contact_at);
  $("contact-last").textContent = dateTime(contact.last_contact_at);
  paintAvatar($("contact-avatar"), contactName(contact));
  const on = contact.labels || [];
  $("contact-labels").replaceChildren(...on.map((label) => labelChip(label, () => contactLabel("DELETE", label.id))));
  const free = state.labels.filter((label) => !on.some((l) => l.id === label.id));
  fillSelect($("contact-add-label"), "+ Label", free.map((l) => [l.id, l.name]), "");
  $("contact-add-label").hidden = free.length === 0;
}

async function saveContact(event) {
  event.preventDefault();
  const contact = state.contact;
  if (!contact) return;
  try {
    state.contact = await call("PATCH", `/contacts/${contact.id}`, { name: $("contact-name").value.trim(), notes: $("contact-notes").value });
    $("contact-name").blur();
    $("contact-notes").blur();
    renderContact();
    showMessage("contact-saved", "Saved", 2500);
    debounce("list", () => loadList(false));
    if (state.open) refreshOpen();
  } catch (error) {
    showMessage("conversation-error", error.message, 0);
  }
}

async function contactLabel(method, labelId) {
  const contact = state.contact;
  if (!contact || !labelId) return;
  const path = method === "DELETE" ? `/contacts/${contact.id}/labels/${labelId}` : `/contacts/${contact.id}/labels`;
  try {
    const answer = await call(method, path, method === "DELETE" ? undefined : { label_id: labelId });
    state.contact = answer && answer.id === contact.id ? answer : await call("GET", `/contacts/${contact.id}`);
    renderContact();
  } catch (error) {
    showMessage("conversation-error", error.message, 0);
  }
}

function toggleContact() {
  const pane = $("contact-pane");
  pane.hidden = !pane.hidden;
  $("inbox").classList.toggle("contact-open", !pane.hidden);
  $("toggle-contact").setAttribute("aria-pressed", String(!pane.hidden));
}

// ---- starting a conversation ---------------------------------------------------------------------

// The "New conversation" panel: a contact or a typed number, the sending number, an approved template with its
// variables (prefilled from the template's examples) and the price the API would charge, then the send.
const starter = {
  contact: null, //  the contact picked from the search, or null when a number is typed
  searchSeq: 0, //   drop answers that a newer question overtook
  priceSeq: 0,
  picker: new TemplatePicker({ select: $("start-template"), price: $("start-price"), preview: $("start-preview"),
    vars: $("start-vars"), empty: $("start-empty"), prefill: true, onChange: () => debounce("start-price", priceStart, 300) }),
};

async function openStart() {
  starter.contact = null;
  starter.picker.forget();
  $("start-form").reset();
  showMessage("start-error", null);
  showMessage("start-to-error", null);
  renderStartRecipient();
  fillSelect($("start-number"), null, state.numbers.map((n) => [n.id, `${n.verified_name || ""} ${n.display_phone_number}`.trim()]),
    state.filters.number || state.numbers[0]?.id);
  $("start-number-row").hidden = state.numbers.length < 2;
  $("start-dialog").showModal();
  $("start-to").focus();
  try {
    starter.picker.setTemplates((await call("GET", "/templates")).data, state.billing);
  } catch (error) {
    showMessage("start-error", error.message, 0);
  }
  $("start-send").disabled = starter.picker.templates.length === 0;
}

function closeStart() {
  $("start-dialog").close();
  $("new-conversation").focus();
}

function renderStartRecipient() {
  const contact = starter.contact;
  $("start-chosen").hidden = !contact;
  $("start-to").hidden = Boolean(contact);
  $("start-contacts").hidden = true;
  if (contact) $("start-chosen-name").textContent = `${contactName(contact)} · ${contact.phone}`;
}

/** What the recipient is: {contact_id} for a picked contact, {to} for a typed number, null for nothing yet. */
function startRecipient() {
  if (starter.contact) return { contact_id: starter.contact.id };
  const typed = $("start-to").value.trim();
  return typed ? { to: typed } : null;
}

function startBody() {
  const recipient = startRecipient();
  const template = starter.picker.request();
  return recipient && template ? { ...recipient, number_id: $("start-number").value, template } : null;
}

/** Typing searches the contacts; something that looks like a number is also offered as itself. */
async function searchStartContacts() {
  const typed = $("start-to").value.trim();
  showMessage("start-to-error", null);
  starter.picker.setPrice(undefined);
  const seq = ++starter.searchSeq;
  if (!typed) {
    $("start-contacts").hidden = true;
    return;
  }
  let found = [];
  try {
    found = (await call("GET", `/contacts?${query({ q: typed, limit: "6" })}`)).data;
  } catch {
    /* the number typed still works */
  }
  if (seq !== starter.searchSeq) return;
  $("start-contacts").replaceChildren(...found.map((contact) => el("li", {},
    el("button", { class: "start-contact", dataset: { id: contact.id }, attrs: { type: "button" },
      on: { click: () => chooseStartContact(contact) } },
    paintAvatar(el("span", { class: "avatar small", attrs: { "aria-hidden": "true" } }), contactName(contact)),
    el("span", { class: "start-contact-name", text: contactName(contact) }),
    el("span", { class: "start-contact-phone", text: contact.phone })))));
  $("start-contacts").hidden = found.length === 0;
  if (/^[+\d][\d\s().-]{5,}$/.test(typed)) priceStart();
}

function chooseStartContact(contact) {
  starter.contact = contact;
  renderStartRecipient();
  $("start-clear").focus();
  priceStart();
}

function clearStartContact() {
  starter.contact = null;
  renderStartRecipient();
  $("start-to").focus();
  starter.picker.setPrice(undefined);
}

/** The price of this very send, from the API's own dry run (category x the recipient's market x tier). */
async function priceStart() {
  const body = startBody();
  const seq = ++starter.priceSeq;
  if (!body) return;
  try {
    const answer = await call("POST", "/conversations/preview", body);
    if (seq !== starter.priceSeq) return;
    const billable = Boolean(answer.cost && answer.pricing?.billable);
    starter.picker.setPrice(billable ? { amount: answer.cost.amount, currency: answer.cost.currency } : null);
    const category = (answer.pricing?.category || "message").replace(/_/g, " ");
    const free = answer.window?.customer_service_window === "open" ? ": inside the 24-hour window" : "";
    $("start-price-detail").textContent = !answer.cost ? ""
      : billable ? `${category[0].toUpperCase()}${category.slice(1)} message to ${answer.cost.market}` : `Free${free}`;
    showMessage("start-to-error", null);
  } catch (error) {
    if (seq !== starter.priceSeq) return;
    starter.picker.setPrice(undefined);
    $("start-price-detail").textContent = "";
    showMessage("start-to-error", error.message, 0);
  }
}

async function submitStart(event) {
  event.preventDefault();
  const body = startBody();
  if (!body) {
    showMessage("start-error", startRecipient() ? "Choose an approved template." : "Pick a contact or type a phone number.", 0);
    return;
  }
  if (!starter.picker.complete()) {
    showMessage("start-error", "Fill in every variable of the template first.", 0);
    return;
  }
  $("start-send").disabled = true;
  try {
    const answer = await call("POST", "/conversations", body, { "Idempotency-Key": newKey() });
    closeStart();
    // Started conversations wait as resolved until the person answers: show them all, the new one on top.
    state.filters.status = "all";
    renderFilters();
    await openConversation(answer.conversation.id);
    await loadList(false);
  } catch (error) {
    showMessage("start-error", error.message, 0);
  } finally {
    $("start-send").disabled = starter.picker.templates.length === 0;
  }
}

// ---- settings --------------------------------------------------------------------------------

function settingsError(error) {
  showMessage("settings-error", error ? error.message : null);
}

function settingsSaved(text) {
  showMessage("settings-ok", text, 3000);
  settingsError(null);
}

const SECTION_LOADERS = {
  agents: loadAgentsSettings,
  labels: renderLabelsSettings,
  "quick-replies": renderQuickRepliesSettings,
  hours: loadHours,
  routing: loadRouting,
  links: loadLinks,
  profile: loadProfile,
  catalog: () => commerce.loadImport(),
};

function openSettings(section) {
  state.settingsSection = section;
  for (const tab of document.querySelectorAll(".settings-tab")) tab.classList.toggle("active", tab.dataset.section === section);
  for (const box of document.querySelectorAll(".settings-section")) box.hidden = box.dataset.section !== section;
  settingsError(null);
  showMessage("settings-ok", null);
  SECTION_LOADERS[section]().catch(settingsError);
}

async function loadAgents() {
  state.agents = (await call("GET", "/agents")).data;
}

async function loadAgentsSettings() {
  await Promise.all([loadAgents(), loadLabels()]);
  renderAgentsSettings();
}

function renderAgentsSettings() {
  state.agentsStale = false;
  $("agents-rows").replaceChildren(...state.agents.map(agentRow));
}

/** News about agents (someone came online): redrawn at once, or once the admin leaves a row they are editing. */
function refreshAgentsSettings() {
  if ($("agents-rows").contains(document.activeElement)) state.agentsStale = true;
  else renderAgentsSettings();
}

function agentRow(agent) {
  const self = agent.id === state.me.id;
  const patch = (body) => call("PATCH", `/agents/${agent.id}`, body)
    .then((updated) => { Object.assign(agent, updated); settingsSaved(`${agent.name} updated.`); })
    .catch(settingsError);
  const role = el("select", { class: "agent-role", attrs: { "aria-label": `Role of ${agent.name}` },
    on: { change: (event) => patch({ role: event.target.value }) } });
  fillSelect(role, null, [["agent", "Agent"], ["admin", "Admin"], ...(agent.role === "owner" ? [["owner", "Owner"]] : [])], agent.role);
  role.disabled = agent.role === "owner" || self;
  const capacity = el("input", { class: "agent-capacity", attrs: { type: "number", min: "0", max: "1000", value: String(agent.capacity),
    "aria-label": `Capacity of ${agent.name}` }, on: { change: (event) => patch({ capacity: Number(event.target.value) }) } });
  const skills = el("select", { class: "agent-skills", attrs: { multiple: true, size: "3", "aria-label": `Skills of ${agent.name}` },
    on: { change: (event) => patch({ skills: [...event.target.selectedOptions].map((o) => o.value) }) } });
  skills.replaceChildren(...state.labels.map((l) => option(l.id, l.name, (agent.skills || []).includes(l.id))));
  const remove = self || agent.role === "owner" ? null : el("button", { class: "button danger small agent-disable", text: "Disable",
    attrs: { type: "button" }, on: { click: () => disableAgent(agent) } });
  return el("tr", { class: "agent-row", dataset: { id: agent.id } },
    el("td", {}, el("div", { class: "agent-name", text: agent.name }), el("div", { class: "agent-email", text: agent.email }),
      agent.invited ? el("span", { class: "pill invited", text: "Invited" }) : null),
    el("td", {}, role), el("td", {}, capacity,
      el("span", { class: "agent-open", text: ` ${agent.open_count} open` })),
    el("td", {}, skills),
    el("td", {}, el("span", { class: "availability-dot", dataset: { availability: agent.availability }, text: agent.availability })),
    el("td", {}, remove));
}

async function disableAgent(agent) {
  if (!confirm(`Disable ${agent.name}? Their open conversations go back to the queue.`)) return;
  try {
    await call("DELETE", `/agents/${agent.id}`);
    await loadAgentsSettings();
    settingsSaved(`${agent.name} disabled.`);
  } catch (error) {
    settingsError(error);
  }
}

async function inviteAgent(event) {
  event.preventDefault();
  const body = { name: $("invite-name").value.trim(), email: $("invite-email").value.trim(), role: $("invite-role").value };
  try {
    const answer = await call("POST", "/agents", body);
    const link = new URL(answer.invite_url, location.origin).href;
    $("invite-url").textContent = link;
    $("invite-url").href = link;
    $("invite-result").hidden = false;
    $("invite-form").reset();
    await loadAgentsSettings();
    settingsSaved(`Invitation for ${body.name} created: send them the link.`);
  } catch (error) {
    settingsError(error);
  }
}

async function loadLabels() {
  state.labels = (await call("GET", "/labels")).data;
}

async function renderLabelsSettings() {
  await loadLabels();
  $("labels-rows").replaceChildren(...state.labels.map((label) => {
    const patch = (body) => call("PATCH", `/labels/${label.id}`, body).then(labelsChanged, settingsError);
    const colour = el("input", { class: "label-colour-edit", attrs: { type: "color", value: label.colour, "aria-label": `Colour of ${label.name}` },
      on: { change: (event) => patch({ colour: event.target.value }) } });
    const name = el("input", { class: "label-name-edit", attrs: { type: "text", value: label.name, maxlength: "48", "aria-label": "Label name" },
      on: { change: (event) => patch({ name: event.target.value.trim() }) } });
    const remove = el("button", { class: "button danger small", text: "Delete", attrs: { type: "button" },
      on: { click: () => confirm(`Delete the label ${label.name}?`) && call("DELETE", `/labels/${label.id}`).then(labelsChanged, settingsError) } });
    return el("li", { class: "label-row", dataset: { id: label.id } }, el("ul", { class: "label-chips" }, labelChip(label)), colour, name, remove);
  }));
}

async function labelsChanged() {
  await renderLabelsSettings();
  renderFilters();
  settingsSaved("Labels saved.");
}

async function addLabelSetting(event) {
  event.preventDefault();
  const name = $("label-name").value.trim();
  if (!name) return;
  try {
    await call("POST", "/labels", { name, colour: $("label-colour").value });
    $("label-name").value = "";
    await labelsChanged();
  } catch (error) {
    settingsError(error);
  }
}

async function loadQuickReplies() {
  state.quickReplies = (await call("GET", "/quick-replies")).data;
}

async function renderQuickRepliesSettings() {
  await loadQuickReplies();
  $("quick-replies-rows").replaceChildren(...state.quickReplies.map((reply) => {
    const patch = (body) => call("PATCH", `/quick-replies/${reply.id}`, body).then(quickRepliesChanged, settingsError);
    return el("li", { class: "qr-row", dataset: { id: reply.id } },
      el("input", { class: "qr-shortcut-edit", attrs: { type: "text", value: reply.shortcut, maxlength: "32", "aria-label": "Shortcut" },
        on: { change: (event) => patch({ shortcut: event.target.value.trim().replace(/^\//, "") }) } }),
      el("textarea", { class: "qr-body-edit", text: reply.body, attrs: { rows: "2", "aria-label": "Message" },
        on: { change: (event) => patch({ body: event.target.value }) } }),
      el("button", { class: "button danger small", text: "Delete", attrs: { type: "button" },
        on: { click: () => call("DELETE", `/quick-replies/${reply.id}`).then(quickRepliesChanged, settingsError) } }));
  }));
}

async function quickRepliesChanged() {
  await renderQuickRepliesSettings();
  settingsSaved("Quick replies saved.");
}

async function addQuickReply(event) {
  event.preventDefault();
  const shortcut = $("qr-shortcut").value.trim().replace(/^\//, "");
  const body = $("qr-body").value;
  if (!shortcut || !body.trim()) return;
  try {
    await call("POST", "/quick-replies", { shortcut, body });
    $("quick-reply-form").reset();
    await quickRepliesChanged();
  } catch (error) {
    settingsError(error);
  }
}

function hoursText(intervals) {
  return (intervals || []).map(([from, to]) => `${from}-${to}`).join(", ");
}

function parseHours(text) {
  const intervals = [];
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const match = /^(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})$/.exec(part);
    if (!match) throw new Error(`"${part}" is not a time range like 09:00-18:00.`);
    intervals.push([match[1].padStart(5, "0"), match[2].padStart(5, "0")]);
  }
  return intervals;
}

async function loadHours() {
  await whileLoading("hours-form", fillHours);
  hoursAlwaysChanged();
}

async function fillHours() {
  const settings = await call("GET", "/settings/hours");
  const always = Object.keys(settings.hours || {}).length === 0;
  $("hours-timezone").value = settings.timezone || "";
  $("hours-always").checked = always;
  $("hours-days").replaceChildren(...DAYS.flatMap(([key, name]) => [
    el("label", { text: name, attrs: { for: `hours-${key}` } }),
    el("input", { class: "hours-day", dataset: { day: key },
      attrs: { id: `hours-${key}`, type: "text", value: always ? "09:00-18:00" : hoursText(settings.hours[key]), placeholder: "Closed" } }),
  ]));
  $("away-enabled").checked = Boolean(settings.away?.enabled);
  $("away-text").value = settings.away?.text || "";
  $("greeting-enabled").checked = Boolean(settings.greeting?.enabled);
  $("greeting-text").value = settings.greeting?.text || "";
  $("hours-open-now").textContent = settings.open_now ? "You are open now." : "You are closed now.";
  $("hours-open-now").dataset.openNow = String(Boolean(settings.open_now));
}

function hoursAlwaysChanged() {
  for (const input of document.querySelectorAll(".hours-day")) input.disabled = $("hours-always").checked;
}

async function saveHours(event) {
  event.preventDefault();
  try {
    const hours = {};
    if (!$("hours-always").checked) {
      for (const input of document.querySelectorAll(".hours-day")) hours[input.dataset.day] = parseHours(input.value);
    }
    const body = {
      timezone: $("hours-timezone").value.trim() || state.business?.timezone,
      hours,
      away: { enabled: $("away-enabled").checked, text: $("away-text").value },
      greeting: { enabled: $("greeting-enabled").checked, text: $("greeting-text").value },
    };
    await call("PUT", "/settings/hours", body);
    await loadHours();
    settingsSaved("Business hours saved.");
  } catch (error) {
    settingsError(error);
  }
}

async function loadRouting() {
  const rows = await Promise.all(state.numbers.map(async (number) => {
    const routing = await call("GET", `/numbers/${number.id}/routing`);
    const select = el("select", { class: "routing-policy", dataset: { numberId: number.id },
      attrs: { id: `routing-${number.id}`, "aria-label": `Routing for ${number.display_phone_number}` },
      on: { change: (event) => call("PUT", `/numbers/${number.id}/routing`, { policy: event.target.value })
        .then(() => settingsSaved("Routing saved."), settingsError) } });
    fillSelect(select, null, POLICIES, routing.policy);
    return el("li", { class: "routing-row" },
      el("span", { class: "routing-number", text: `${number.verified_name || ""} ${number.display_phone_number}`.trim() }), select);
  }));
  $("routing-rows").replaceChildren(...rows);
}

function numberOptions(select) {
  fillSelect(select, null, state.numbers.map((n) => [n.id, `${n.verified_name || ""} ${n.display_phone_number}`.trim()]), select.value || state.numbers[0]?.id);
}

async function loadLinks() {
  numberOptions($("link-number"));
  const links = (await call("GET", "/links")).data;
  $("links-rows").replaceChildren(...links.map((link) => el("li", { class: "link-row", dataset: { code: link.code } },
    el("img", { class: "link-qr", attrs: { src: `${API}/links/${encodeURIComponent(link.code)}/qr.svg`, alt: `QR code for ${link.url}`,
      width: "120", height: "120" } }),
    el("div", { class: "link-details" },
      el("a", { class: "link-url", text: link.url, attrs: { href: link.url, target: "_blank", rel: "noopener noreferrer" } }),
      el("p", { class: "link-message", text: link.prefilled_message ? `“${link.prefilled_message}”` : "No prefilled message" }),
      el("p", { class: "link-stats", text: `${link.clicks} clicks · ${link.conversations} conversations` }),
      el("div", { class: "link-actions" },
        el("a", { class: "button outline small", text: "Download PNG", attrs: { href: `${API}/links/${encodeURIComponent(link.code)}/qr.png`, download: `${link.code}.png` } }),
        el("button", { class: "button danger small", text: "Delete", attrs: { type: "button" },
          on: { click: () => call("DELETE", `/links/${encodeURIComponent(link.code)}`).then(loadLinks, settingsError) } }))))));
  if (links.length === 0) $("links-rows").append(el("li", { class: "hint", text: "No links yet." }));
}

async function addLink(event) {
  event.preventDefault();
  try {
    await call("POST", "/links", { number_id: $("link-number").value, prefilled_message: $("link-message").value.trim() });
    $("link-message").value = "";
    await loadLinks();
    settingsSaved("Link created.");
  } catch (error) {
    settingsError(error);
  }
}

const PROFILE_FIELDS = ["about", "description", "address", "email", "vertical"];

/** Fields of a form that is loading can't be typed into: the answer would overwrite what was typed. */
async function whileLoading(formId, load) {
  const fields = [...$(formId).elements];
  for (const field of fields) field.disabled = true;
  try {
    await load();
  } finally {
    for (const field of fields) field.disabled = false;
  }
}

function profileValues() {
  const values = Object.fromEntries(PROFILE_FIELDS.map((field) => [field, $(`profile-${field}`).value.trim()]));
  values.websites = $("profile-websites").value.split(",").map((w) => w.trim()).filter(Boolean);
  return values;
}

async function loadProfile() {
  numberOptions($("profile-number"));
  const number = $("profile-number").value;
  if (!number) return;
  await whileLoading("profile-form", async () => {
    const profile = await call("GET", `/profile?${query({ number })}`);
    for (const field of PROFILE_FIELDS) $(`profile-${field}`).value = profile[field] || (field === "vertical" ? "OTHER" : "");
    $("profile-websites").value = (profile.websites || []).join(", ");
    state.profile = profileValues();
  });
}

async function saveProfile(event) {
  event.preventDefault();
  // Only what changed: the Cloud API refuses some empty fields (an empty "about") that were never set.
  const values = profileValues();
  const body = Object.fromEntries(Object.entries(values)
    .filter(([field, value]) => JSON.stringify(value) !== JSON.stringify(state.profile?.[field])));
  try {
    if (Object.keys(body).length) await call("PATCH", `/profile?${query({ number: $("profile-number").value })}`, body);
    await loadProfile();
    settingsSaved("Profile saved.");
  } catch (error) {
    settingsError(error);
  }
}

// ---- live updates ----------------------------------------------------------------------------

function streamUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${API}/stream`;
}

function onStreamEvent(event) {
  if (event.type === "conversation") {
    debounce("list", () => loadList(false));
    debounce("counts", loadCounts);
    if (state.open && state.open.id === String(event.id)) debounce("open", refreshOpen);
  } else if (event.type === "agents") {
    debounce("agents", async () => {
      await loadAgents().catch(() => {});
      if (state.open) renderAssignee();
      if (!$("settings-view").hidden && state.settingsSection === "agents") refreshAgentsSettings();
    });
  }
}

function onStreamState(status, info) {
  const dot = $("connection");
  dot.dataset.state = status;
  dot.title = status === "open" ? "Live" : status === "waiting" ? `Reconnecting in ${Math.ceil(info.delay / 1000)} s` : "Connecting";
  if (status === "open" && info.reconnected) resync();
  // A socket refused because the session ended looks like any drop; /me tells the two apart.
  if (status === "waiting") call("GET", "/me").catch(() => {});
}

async function resync() {
  await Promise.all([loadList(false), loadCounts(), loadAgents().catch(() => {})]);
  if (state.open) await refreshOpen();
}

const stream = new Stream(streamUrl, onStreamEvent, onStreamState);

// ---- start -----------------------------------------------------------------------------------

function bindUi() {
  for (const tab of document.querySelectorAll(".status-tab")) tab.addEventListener("click", () => setFilter("status", tab.dataset.status));
  for (const tab of document.querySelectorAll(".assignee-tab")) tab.addEventListener("click", () => setFilter("assignee", tab.dataset.assignee));
  $("filter-label").addEventListener("change", (event) => setFilter("label", event.target.value));
  $("filter-number").addEventListener("change", (event) => setFilter("number", event.target.value));
  $("search").addEventListener("input", (event) => debounce("search", () => setFilter("q", event.target.value.trim()), 250));
  $("search-form").addEventListener("submit", (event) => { event.preventDefault(); setFilter("q", $("search").value.trim()); });
  $("load-more").addEventListener("click", () => loadList(true));
  $("availability").addEventListener("change", changeAvailability);
  $("nav-inbox").addEventListener("click", () => showView("inbox"));
  $("nav-settings").addEventListener("click", () => showView("settings"));

  $("assignee").addEventListener("change", assign);
  $("add-label").addEventListener("change", addLabel);
  $("status-resolve").addEventListener("click", () => setStatus("resolved"));
  $("status-reopen").addEventListener("click", () => setStatus("open"));
  $("status-pending").addEventListener("click", () => setStatus("pending"));
  $("toggle-contact").addEventListener("click", toggleContact);
  $("back").addEventListener("click", closeConversation);
  $("load-older").addEventListener("click", () => loadHistory(true));
  $("mode-reply").addEventListener("click", () => setMode("reply"));
  $("mode-template").addEventListener("click", () => setMode("template"));
  $("mode-note").addEventListener("click", () => setMode("note"));
  $("reply-form").addEventListener("submit", submitReply);
  $("reply-text").addEventListener("keydown", replyKeydown);
  $("reply-text").addEventListener("input", replyInput);
  $("reply-text").addEventListener("blur", () => setTimeout(closeQuickReplies, 150));
  $("template-send").addEventListener("click", sendTemplate);
  $("contact-form").addEventListener("submit", saveContact);
  $("contact-add-label").addEventListener("change", (event) => contactLabel("POST", event.target.value));

  $("new-conversation").addEventListener("click", openStart);
  $("start-form").addEventListener("submit", submitStart);
  $("start-cancel").addEventListener("click", closeStart);
  $("start-close").addEventListener("click", closeStart);
  $("start-to").addEventListener("input", () => debounce("start-search", searchStartContacts, 250));
  $("start-clear").addEventListener("click", clearStartContact);
  $("start-number").addEventListener("change", priceStart);

  for (const tab of document.querySelectorAll(".settings-tab")) tab.addEventListener("click", () => openSettings(tab.dataset.section));
  $("invite-form").addEventListener("submit", inviteAgent);
  $("agents-rows").addEventListener("focusout", (event) => {
    if (state.agentsStale && !$("agents-rows").contains(event.relatedTarget)) renderAgentsSettings();
  });
  $("label-form").addEventListener("submit", addLabelSetting);
  $("quick-reply-form").addEventListener("submit", addQuickReply);
  $("hours-form").addEventListener("submit", saveHours);
  $("hours-always").addEventListener("change", hoursAlwaysChanged);
  $("link-form").addEventListener("submit", addLink);
  $("profile-number").addEventListener("change", () => loadProfile().catch(settingsError));
  $("profile-form").addEventListener("submit", saveProfile);

  document.addEventListener("visibilitychange", markRead);
  window.addEventListener("online", () => stream.retryNow());
  // The window's countdown moves with the clock, not only with events.
  setInterval(() => { if (state.open) renderWindow(); }, 30000);
}

async function boot() {
  bindUi();
  try {
    const me = await call("GET", "/me");
    Object.assign(state, { me: me.agent, business: me.business, numbers: me.numbers || [], csrf: me.csrf_token, billing: Boolean(me.billing) });
    renderMe();
    await Promise.all([loadLabels(), loadAgents(), loadQuickReplies()]);
    renderFilters();
    stream.start();
    await Promise.all([loadList(false), loadCounts()]);
    const wanted = /^#c=(\d+)$/.exec(location.hash);
    if (wanted) await openConversation(wanted[1]);
  } catch (error) {
    showMessage("banner", error.message, 0);
  }
  $("inbox").removeAttribute("aria-busy");
}

boot();
