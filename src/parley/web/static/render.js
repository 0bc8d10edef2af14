// Builds the DOM for chats and messages. Everything a user typed goes in through textContent, never HTML.

import { orderBody, orderPreview } from "./order-card.js";
import { paymentBody, paymentPreview } from "./payment-bubble.js";

const SVG_NS = "http://www.w3.org/2000/svg";

// Product, product list, catalog and carousel bubbles: the person's client (cart.js) draws them from the
// business's catalog; without it (the team inbox), or until the catalog is loaded, the plain card shows.
export const productCards = { render: null };

/** el("div", {class: "x", dataset: {id: 1}, attrs: {title: "t"}, text: "hi", on: {click: f}}, child...) */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  if (props.text !== undefined) node.textContent = props.text;
  for (const [key, value] of Object.entries(props.dataset || {})) {
    if (value !== undefined && value !== null) node.dataset[key] = value;
  }
  for (const [key, value] of Object.entries(props.attrs || {})) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  for (const [type, handler] of Object.entries(props.on || {})) node.addEventListener(type, handler);
  node.append(...children.filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

function svg(viewBox, ...shapes) {
  const root = document.createElementNS(SVG_NS, "svg");
  root.setAttribute("viewBox", viewBox);
  root.setAttribute("aria-hidden", "true");
  for (const [tag, attrs] of shapes) {
    const shape = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs)) shape.setAttribute(key, value);
    root.append(shape);
  }
  return root;
}

// ---- names, avatars, times -------------------------------------------------------------------

// Deep enough for white initials (≥ 4.5:1).
const AVATAR_COLOURS = ["#00785f", "#1d6fa5", "#b0512a", "#7a4fa0", "#8a5a00", "#25766c", "#b03a3a", "#4a569d"];

/** Fills an avatar circle with initials and a colour that stays the same for the same name. */
export function paintAvatar(node, name, isGroup = false) {
  const words = (name || "?").replace(/[^\p{L}\p{N} ]/gu, " ").trim().split(/\s+/);
  const initials = words.filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join("");
  let hash = 0;
  for (const char of name || "") hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  node.textContent = isGroup && !initials ? "#" : initials || "#";
  node.style.backgroundColor = AVATAR_COLOURS[hash % AVATAR_COLOURS.length];
  return node;
}

const timeFormat = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit" });
const dateFormat = new Intl.DateTimeFormat([], { day: "numeric", month: "short", year: "numeric" });
const weekdayFormat = new Intl.DateTimeFormat([], { weekday: "long" });

export function formatTime(ms) {
  return timeFormat.format(new Date(ms));
}

export function dayKey(ms) {
  const date = new Date(ms);
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}

function daysAgo(ms) {
  const midnight = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  return Math.round((midnight(new Date()) - midnight(new Date(ms))) / 86400000);
}

export function formatDay(ms) {
  const ago = daysAgo(ms);
  if (ago === 0) return "Today";
  if (ago === 1) return "Yesterday";
  if (ago < 7) return weekdayFormat.format(new Date(ms));
  return dateFormat.format(new Date(ms));
}

/** The chat list's time column: a time today, a day name this week, a date before that. */
function formatListTime(ms) {
  return daysAgo(ms) === 0 ? formatTime(ms) : formatDay(ms);
}

function formatSize(bytes) {
  if (!Number.isFinite(bytes)) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// ---- ticks -----------------------------------------------------------------------------------

const STATUS_LABELS = { pending: "Sending", failed: "Not sent", sent: "Sent", delivered: "Delivered", read: "Read" };

function tickIcon(status) {
  const stroke = { fill: "none", stroke: "currentColor", "stroke-width": "1.6", "stroke-linecap": "round", "stroke-linejoin": "round" };
  if (status === "pending") {
    return svg("0 0 16 16", ["circle", { cx: "8", cy: "8", r: "6", ...stroke }], ["path", { d: "M8 4.5V8l2.5 1.5", ...stroke }]);
  }
  if (status === "failed") {
    return svg("0 0 16 16", ["circle", { cx: "8", cy: "8", r: "6.5", fill: "currentColor" }],
      ["path", { d: "M8 4.5v4.5M8 11.2v.3", ...stroke, stroke: "#fff", "stroke-width": "1.8" }]);
  }
  if (status === "sent") return svg("0 0 16 11", ["path", { d: "M3 5.8l3 3L13 1.8", ...stroke }]);
  // delivered and read: two checks; read is coloured blue by CSS
  return svg("0 0 16 11", ["path", { d: "M1 5.8l3 3L11 1.8", ...stroke }], ["path", { d: "M7.2 8.3l.5.5L15 1.8", ...stroke }]);
}

export function tick(status) {
  const label = STATUS_LABELS[status] || status;
  return el("span", { class: "tick", dataset: { status }, attrs: { title: label, "aria-label": label, role: "img" } },
    tickIcon(status));
}

// ---- icons (SVG, so they show on machines without an emoji font) ------------------------------

const ICON_PATHS = {
  deleted: "M8 1.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13zM3.4 8a4.6 4.6 0 0 1 7.3-3.7L4.3 10.7A4.6 4.6 0 0 1 3.4 8zm4.6 4.6c-1 0-2-.3-2.7-.9l6.4-6.4A4.6 4.6 0 0 1 8 12.6z",
  image: "M13 3H3a1.5 1.5 0 0 0-1.5 1.5v7A1.5 1.5 0 0 0 3 13h10a1.5 1.5 0 0 0 1.5-1.5v-7A1.5 1.5 0 0 0 13 3zM5.5 5.5a1.3 1.3 0 1 1 0 2.6 1.3 1.3 0 0 1 0-2.6zM3 11.5l3-3.5 2 2.3 2.5-3.3 2.5 4.5z",
  video: "M10.5 4.5A1.5 1.5 0 0 0 9 3H3a1.5 1.5 0 0 0-1.5 1.5v7A1.5 1.5 0 0 0 3 13h6a1.5 1.5 0 0 0 1.5-1.5V10l4 2.5v-9l-4 2.5z",
  audio: "M8 1.5a2.5 2.5 0 0 0-2.5 2.5v4a2.5 2.5 0 0 0 5 0V4A2.5 2.5 0 0 0 8 1.5zM12 8a4 4 0 0 1-3.25 3.93V14h-1.5v-2.07A4 4 0 0 1 4 8h1.5a2.5 2.5 0 0 0 5 0z",
  document: "M9.5 1.5H4A1.5 1.5 0 0 0 2.5 3v10A1.5 1.5 0 0 0 4 14.5h8a1.5 1.5 0 0 0 1.5-1.5V5.5zM9 6V2.5L12.5 6z",
  location: "M8 1.5A4.5 4.5 0 0 0 3.5 6c0 3.4 4.5 8.5 4.5 8.5s4.5-5.1 4.5-8.5A4.5 4.5 0 0 0 8 1.5zm0 6.3a1.8 1.8 0 1 1 0-3.6 1.8 1.8 0 0 1 0 3.6z",
  contact: "M8 8a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm0 1.5c-2.7 0-5.5 1.3-5.5 3.2V14h11v-1.3c0-1.9-2.8-3.2-5.5-3.2z",
};

export function icon(name) {
  const node = svg("0 0 16 16", ["path", { d: ICON_PATHS[name] || ICON_PATHS.document, fill: "currentColor" }]);
  node.classList.add("icon", `icon-${name}`);
  return node;
}

// ---- chat list -------------------------------------------------------------------------------

const MEDIA_LABELS = { image: "Photo", video: "Video", audio: "Audio", document: "Document" };

/** One line describing a message: its text, or what kind of media it carries. */
export function previewText(message) {
  if (message.deleted) return "This message was deleted";
  if (message.waiting) return "Waiting for this message"; // e2ee: its room key has not arrived
  if (message.business) return businessPreview(message.business);
  if (message.media) {
    const detail = message.media.caption || (message.type === "document" ? message.media.filename : "");
    return detail || MEDIA_LABELS[message.type] || "File";
  }
  if (message.text && typeof message.text.body === "string") return message.text.body;
  return "Message";
}

function previewIcon(message) {
  if (message.deleted) return icon("deleted");
  if (message.business?.location) return icon("location");
  if (message.business?.contacts) return icon("contact");
  return message.media ? icon(message.type) : null;
}

/** The business badge next to a chat's name: the lead's `peer.kind` says "business" (absent: a person). */
export function businessBadge(peer) {
  if (peer?.kind !== "business") return null;
  return el("span", { class: "business-badge", text: "Business", attrs: { title: "A business account" } });
}

export function chatItem(chat, { meId, active, typingText, onOpen }) {
  const last = chat.last_message;
  const mine = last && last.sender_id === meId;
  const preview = el("span", { class: "chat-preview" });
  if (typingText) {
    preview.classList.add("typing");
    preview.textContent = typingText;
  } else if (last) {
    if (mine && !last.deleted) preview.append(tick(last.status));
    const who = chat.type === "group" && !mine && last.sender_name ? `${last.sender_name}: ` : mine && chat.type === "group" ? "You: " : "";
    const deletedClass = last.deleted ? " deleted-text" : "";
    preview.append(previewIcon(last) || "", el("span", { class: "chat-preview-text" + deletedClass, text: who + previewText(last) }));
  } else {
    preview.append(el("span", { class: "chat-preview-text", text: chat.type === "group" ? "Group created" : "" }));
  }
  const when = last ? last.timestamp : chat.updated_at;
  const unread = chat.unread_count > 0
    ? el("span", { class: "unread-badge", text: chat.unread_count > 999 ? "999+" : String(chat.unread_count),
      attrs: { "aria-label": `${chat.unread_count} unread` } })
    : null;
  // A div, not an li: as a button it would no longer be a list item, and axe refuses such a list.
  const item = el("div", {
    class: "chat-item" + (active ? " active" : "") + (unread ? " unread" : ""),
    dataset: { chatId: chat.id, chatType: chat.type },
    attrs: { tabindex: "0", role: "button", "aria-current": active ? "true" : null },
    on: {
      click: () => onOpen(chat.id),
      keydown: (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); onOpen(chat.id); } },
    },
  },
  paintAvatar(el("span", { class: "avatar", attrs: { "aria-hidden": "true" } }), chat.title, chat.type === "group"),
  el("span", { class: "chat-item-body" },
    el("span", { class: "chat-item-row" },
      el("span", { class: "chat-item-title", text: chat.title || chat.peer?.phone || "Chat" }),
      businessBadge(chat.peer),
      el("span", { class: "chat-item-time", text: when ? formatListTime(when) : "" })),
    el("span", { class: "chat-item-row" }, preview, unread)));
  return item;
}

// ---- messages --------------------------------------------------------------------------------

export function daySeparator(ms) {
  // A list item like the messages (a `separator` role is not allowed directly in the list).
  return el("li", { class: "day-separator" }, el("span", { text: formatDay(ms) }));
}

// Rendered media nodes by media id: redraws move the same node, so a loaded picture doesn't flash
// and a playing video keeps playing. Bounded, oldest dropped first.
const mediaNodes = new Map();
const MEDIA_NODES_KEPT = 200;

function mediaBlock(message, loadMedia) {
  const key = message.media.id;
  if (!mediaNodes.has(key)) {
    mediaNodes.set(key, buildMediaBlock(message, loadMedia));
    if (mediaNodes.size > MEDIA_NODES_KEPT) mediaNodes.delete(mediaNodes.keys().next().value);
  }
  return mediaNodes.get(key);
}

function buildMediaBlock(message, loadMedia) {
  const media = message.media;
  const kind = message.type;
  const name = media.filename || MEDIA_LABELS[kind] || "File";
  if (kind === "image" || kind === "video" || kind === "audio") {
    const tag = kind === "image" ? "img" : kind;
    const player = el(tag, { class: `media-${kind} loading`, attrs: { alt: media.caption || name, controls: kind !== "image" } });
    loadMedia(media.id).then((url) => {
      player.src = url;
      player.classList.remove("loading");
    }, () => player.replaceWith(el("span", { class: "media-error", text: `Can't load ${name}` })));
    if (kind !== "image") return el("div", { class: "media" }, player);
    // Open the full picture in a new tab: a blob: URL on our origin works there too.
    return el("a", { class: "media", attrs: { href: "#", title: "Open image" },
      on: { click: async (event) => { event.preventDefault(); window.open(await loadMedia(media.id), "_blank", "noopener"); } } }, player);
  }
  return el("a", {
    class: "media media-file",
    attrs: { href: "#", download: name },
    on: { click: (event) => downloadOnce(event, media, loadMedia) },
  }, el("span", { class: "media-file-icon" }, icon("document")),
  el("span", { class: "media-file-name", text: name }),
  el("span", { class: "media-file-size", text: formatSize(media.size) }));
}

// The first click fetches the file with the bearer header, then clicks the link again on a blob: URL.
async function downloadOnce(event, media, loadMedia) {
  const link = event.currentTarget;
  if (link.getAttribute("href") !== "#") return;
  event.preventDefault();
  try {
    link.href = await loadMedia(media.id);
    link.click();
  } catch (error) {
    link.title = error.message;
  }
}

function reactionsRow(reactions, meId) {
  if (!reactions || reactions.length === 0) return null;
  const counts = new Map();
  for (const { emoji, user_id: userId } of reactions) {
    const entry = counts.get(emoji) || { count: 0, mine: false };
    entry.count += 1;
    entry.mine ||= userId === meId;
    counts.set(emoji, entry);
  }
  const chips = [...counts].map(([emoji, { count, mine }]) =>
    el("span", { class: "reaction" + (mine ? " mine" : ""), attrs: { title: `${count} × ${emoji}` } },
      emoji, count > 1 ? el("span", { class: "reaction-count", text: String(count) }) : null));
  return el("div", { class: "reactions" }, ...chips);
}

function messageBody(message, loadMedia, onReply, onJoin) {
  if (message.deleted) {
    return [el("div", { class: "text deleted-text" }, icon("deleted"), el("em", { text: "This message was deleted" }))];
  }
  if (message.business) return businessBody(message, loadMedia, onReply, onJoin);
  if (message.waiting) { // e2ee: encrypted, and this device has no key for it (yet)
    // Sent before this device existed: only the person's other device can give it the key (docs/e2ee.md).
    const text = message.beforeDevice
      ? "Sent before this device was set up. To read it here, send your chat history from your other device (Settings → Your devices)."
      : "Waiting for this message. This may take a while.";
    return [el("div", { class: "text waiting-text" }, el("em", { text }))];
  }
  const parts = [];
  if (message.media) parts.push(mediaBlock(message, loadMedia));
  const body = message.media ? message.media.caption : message.text?.body;
  if (message.uploading) parts.push(el("div", { class: "text uploading", text: `Uploading ${message.uploading}…` }));
  else if (body) parts.push(el("div", { class: "text", text: body }));
  return parts;
}

/**
 * One message bubble. Own bubbles carry data-status (sent|delivered|read, or pending|failed while
 * this page is still sending) and every bubble data-message-id once the server has given it an id.
 */
export function messageElement(message, { meId, firstOfRun, showSender, loadMedia, onRetry, onReply, onJoin }) {
  const own = message.sender_id === meId;
  const meta = el("span", { class: "meta" },
    message.edited_at && !message.deleted ? el("span", { class: "edited", text: "edited" }) : null,
    el("time", { attrs: { datetime: new Date(message.timestamp).toISOString() }, text: formatTime(message.timestamp) }),
    own && !message.deleted ? tick(message.status) : null);
  const classes = ["message", own ? "own" : "incoming"];
  if (firstOfRun) classes.push("first");
  if (message.edited_at && !message.deleted) classes.push("was-edited");
  if (message.deleted) classes.push("deleted");
  if (message.media && !message.deleted) classes.push("has-media");
  const businessKind = message.business && !message.deleted ? Object.keys(message.business)[0] : null;
  if (businessKind) classes.push("business", `business-${businessKind}`);
  const reactions = reactionsRow(message.reactions, meId);
  if (reactions) classes.push("has-reactions");
  const node = el("li", {
    class: classes.join(" "),
    dataset: { messageId: message.id, clientId: message.client_id, status: own ? message.status : undefined },
  },
  showSender && firstOfRun && !own ? el("div", { class: "sender", text: message.sender_name || "Unknown" }) : null,
  ...messageBody(message, loadMedia, own ? null : onReply, own ? null : onJoin),
  meta,
  reactions);
  if (message.status === "failed" && (message.request || message.encrypt)) { // e2ee: or encrypts on retry
    node.append(el("button", { class: "retry", text: "Not sent · Tap to retry", attrs: { type: "button" },
      on: { click: () => onRetry(message) } }));
  } else if (message.status === "failed") {
    node.append(el("div", { class: "retry", text: "Not sent" }));
  }
  return node;
}

// ---- business messages: templates, interactive messages, locations, contacts, replies ----------

const CARD_LABELS = {
  product: "Product", product_list: "Products", catalog_message: "Catalog", flow: "Form",
  location_request_message: "Location request", address_message: "Address", order_details: "Order",
  order_status: "Order update", call_permission_request: "Call permission", voice_call: "Call",
};

function businessPreview(business) {
  if (business.template) return business.template.body || business.template.name;
  if (business.interactive) return business.interactive.body || CARD_LABELS[business.interactive.type] || "Message";
  if (business.location) return business.location.name || "Location";
  if (business.contacts) return business.contacts.map((c) => c.name?.formatted_name || "Contact").join(", ");
  if (business.reply) return business.reply.title;
  if (business.group_invite) return `Group invitation: ${business.group_invite.group_name}`;
  if (business.order) return orderPreview(business.order);
  if (business.payment) return paymentPreview(business.payment); // Parley Pay (payment-bubble.js)
  return "Message";
}

/** Only http(s) links become hrefs: a business must not be able to put `javascript:` in a button. */
function safeUrl(url) {
  return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
}

// Lists whose rows are shown, by message id: a redraw keeps a list open.
const openLists = new Set();

function businessBody(message, loadMedia, onReply, onJoin) {
  const business = message.business;
  if (business.template) return templateBody(message, business.template, loadMedia, onReply);
  if (business.interactive) return interactiveBody(message, business.interactive, loadMedia, onReply);
  if (business.location) return [locationCard(business.location)];
  if (business.contacts) return business.contacts.map(contactCard);
  if (business.reply) return [replyChip(business.reply)];
  if (business.group_invite) return groupInviteBody(business.group_invite, onJoin);
  if (business.order) return orderBody(business.order);
  if (business.payment) return paymentBody(business.payment); // Parley Pay (payment-bubble.js)
  return [el("div", { class: "text", text: "This message can't be shown here." })];
}

const expiryFormat = new Intl.DateTimeFormat([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });

/**
 * A personal group invitation (sent when the invitee's privacy settings kept the admin from adding them).
 * onJoin ({stateOf, join}) is null on the sender's own copy: only the invitee can accept it. stateOf(invite_id)
 * is null, "joining" or "unusable": the page remembers what happened to each invitation across redraws.
 */
function groupInviteBody(invite, onJoin) {
  const name = invite.group_name || "a group";
  const card = el("div", { class: "biz-card group-invite-card" },
    el("span", { class: "biz-card-label", text: name }),
    el("span", { class: "biz-card-detail", text: onJoin ? "You're invited to join this group" : "Invitation sent" }),
    Number.isFinite(invite.expires_at)
      ? el("span", { class: "biz-card-detail", text: `Valid until ${expiryFormat.format(new Date(invite.expires_at))}` })
      : null);
  if (!onJoin) return [card];
  const state = onJoin.stateOf(invite.invite_id);
  const label = state === "joining" ? "Joining…" : state === "unusable" ? "This invitation can't be used" : "Join group";
  const button = el("button", {
    class: "biz-button join-group",
    text: label,
    dataset: { inviteId: invite.invite_id, inviteState: state || "ready" },
    // The visible text starts the accessible name; the group's name tells two invitations apart.
    attrs: { type: "button", "aria-label": `${label}: ${name}`, disabled: state ? "disabled" : null },
    on: { click: () => onJoin.join(invite) },
  });
  return [card, el("div", { class: "biz-buttons" }, button)];
}

function headerBlock(message, header, loadMedia) {
  if (!header) return null;
  const kind = String(header.format || header.type || "").toLowerCase();
  if (kind === "text") return el("div", { class: "biz-header", text: header.text || "" });
  if (header.media?.id && ["image", "video", "document"].includes(kind)) {
    // The header's media renders like a media message of that kind.
    return mediaBlock({ ...message, type: kind, media: { caption: null, ...header.media } }, loadMedia);
  }
  return null;
}

function textBlocks(body, footer) {
  return [
    body ? el("div", { class: "text biz-body", text: body }) : null,
    footer ? el("div", { class: "biz-footer", text: footer }) : null,
  ];
}

function tapButton(label, reply, onReply, extraClass = "") {
  return el("button", {
    class: `biz-button reply-button ${extraClass}`.trim(),
    text: label,
    attrs: { type: "button", disabled: onReply ? null : "disabled" },
    dataset: { replyId: reply.id },
    on: { click: () => onReply && onReply(reply) },
  });
}

function linkButton(label, url, className = "biz-button link-button-biz") {
  const href = safeUrl(url);
  if (!href) return el("span", { class: `${className} inert`, text: label });
  return el("a", { class: className, text: label, attrs: { href, target: "_blank", rel: "noopener noreferrer" } });
}

function templateBody(message, template, loadMedia, onReply) {
  const buttons = (template.buttons || []).map((button) => {
    const type = String(button.type || "").toUpperCase();
    const label = button.text || "";
    if (type === "QUICK_REPLY") {
      return tapButton(label, { reply_type: "button", id: button.payload || label, title: label }, onReply);
    }
    if (type === "URL") return linkButton(label, button.url);
    if (type === "PHONE_NUMBER" && button.phone_number) {
      return el("a", { class: "biz-button", text: label, attrs: { href: `tel:${button.phone_number}` } });
    }
    if (type === "COPY_CODE") {
      const code = button.example || button.code || "";
      return el("button", { class: "biz-button", text: label || "Copy code", attrs: { type: "button", title: code },
        on: { click: () => navigator.clipboard?.writeText(code).catch(() => {}) } });
    }
    return el("span", { class: "biz-button inert", text: label });
  });
  return [
    headerBlock(message, template.header, loadMedia),
    ...textBlocks(template.body, template.footer),
    buttons.length ? el("div", { class: "biz-buttons" }, ...buttons) : null,
  ].filter(Boolean);
}

/** Cards other modules draw for some interactive types (order-pay.js: order_details, order_status). */
export const interactiveCards = {};

function interactiveBody(message, interactive, loadMedia, onReply) {
  const action = interactive.action || {};
  const parts = [headerBlock(message, interactive.header, loadMedia), ...textBlocks(interactive.body, interactive.footer)];
  if (interactive.type === "button") {
    const buttons = (action.buttons || []).map(({ reply }) =>
      tapButton(reply.title, { reply_type: "button_reply", id: reply.id, title: reply.title }, onReply));
    parts.push(el("div", { class: "biz-buttons" }, ...buttons));
  } else if (interactive.type === "list") {
    parts.push(listPicker(message, action, onReply));
  } else if (interactive.type === "cta_url") {
    const parameters = action.parameters || {};
    parts.push(el("div", { class: "biz-buttons" }, linkButton(parameters.display_text || "Open", parameters.url)));
  } else if (interactiveCards[interactive.type]) {
    parts.push(interactiveCards[interactive.type](message, interactive));
  } else {
    parts.push(productCards.render?.(message, interactive) || productOrOtherCard(interactive));
  }
  return parts.filter(Boolean);
}

function listPicker(message, action, onReply) {
  const key = message.id || message.client_id;
  const rows = el("div", { class: "list-rows", attrs: { role: "listbox", "aria-label": action.button || "Options" } });
  for (const section of action.sections || []) {
    if (section.title) rows.append(el("div", { class: "list-section-title", text: section.title }));
    for (const row of section.rows || []) {
      const reply = { reply_type: "list_reply", id: row.id, title: row.title, description: row.description || null };
      rows.append(el("button", {
        class: "list-row",
        attrs: { type: "button", role: "option", disabled: onReply ? null : "disabled" },
        dataset: { replyId: row.id },
        on: { click: () => { openLists.delete(key); if (onReply) onReply(reply); } },
      }, el("span", { class: "list-row-title", text: row.title }),
      row.description ? el("span", { class: "list-row-description", text: row.description }) : null));
    }
  }
  rows.hidden = !openLists.has(key);
  const toggle = el("button", {
    class: "biz-button list-open",
    text: action.button || "Options",
    attrs: { type: "button", "aria-expanded": String(!rows.hidden) },
    on: {
      click: () => {
        rows.hidden = !rows.hidden;
        toggle.setAttribute("aria-expanded", String(!rows.hidden));
        if (rows.hidden) openLists.delete(key);
        else openLists.add(key);
      },
    },
  });
  return el("div", { class: "biz-list" }, el("div", { class: "biz-buttons" }, toggle), rows);
}

function productOrOtherCard(interactive) {
  const action = interactive.action || {};
  const card = el("div", { class: `biz-card card-${interactive.type}` },
    el("span", { class: "biz-card-label", text: CARD_LABELS[interactive.type] || "Message" }));
  if (interactive.type === "product" && action.product_retailer_id) {
    card.append(el("span", { class: "biz-card-detail", text: action.product_retailer_id }));
  } else if (interactive.type === "product_list") {
    for (const section of action.sections || []) {
      const items = (section.product_items || []).map((item) => item.product_retailer_id).join(", ");
      card.append(el("span", { class: "biz-card-detail", text: section.title ? `${section.title}: ${items}` : items }));
    }
  } else if (interactive.type === "flow" && action.parameters?.flow_cta) {
    card.append(el("span", { class: "biz-button inert", text: action.parameters.flow_cta }));
  }
  return card;
}

function locationCard(location) {
  const lat = Number(location.latitude);
  const lon = Number(location.longitude);
  const map = `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`;
  return el("div", { class: "biz-card location-card" },
    el("span", { class: "biz-card-label" }, icon("location"), location.name || "Location"),
    location.address ? el("span", { class: "biz-card-detail", text: location.address }) : null,
    el("span", { class: "biz-card-detail coordinates", text: `${lat.toFixed(5)}, ${lon.toFixed(5)}` }),
    linkButton("Open map", map, "biz-card-link"));
}

function contactCard(contact) {
  const phones = (contact.phones || []).map((phone) =>
    el("span", { class: "biz-card-detail", text: [phone.phone || phone.wa_id, phone.type].filter(Boolean).join(" · ") }));
  const emails = (contact.emails || []).map((email) => el("span", { class: "biz-card-detail", text: email.email || "" }));
  return el("div", { class: "biz-card contact-card" },
    el("span", { class: "biz-card-label" }, icon("contact"), contact.name?.formatted_name || "Contact"),
    contact.org?.company ? el("span", { class: "biz-card-detail", text: contact.org.company }) : null,
    ...phones, ...emails);
}

function replyChip(reply) {
  return el("div", { class: "reply-chip", dataset: { replyType: reply.reply_type, replyId: reply.id } },
    el("span", { class: "text reply-title", text: reply.title }),
    reply.description ? el("span", { class: "reply-description", text: reply.description }) : null);
}
