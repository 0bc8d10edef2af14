// Builds the DOM for chats and messages. Everything a user typed goes in through textContent, never HTML.

const SVG_NS = "http://www.w3.org/2000/svg";

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

const AVATAR_COLOURS = ["#00a884", "#53bdeb", "#ff8a65", "#a77bca", "#f2a93b", "#4fc3b5", "#e57373", "#7986cb"];

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
  if (message.media) {
    const detail = message.media.caption || (message.type === "document" ? message.media.filename : "");
    return detail || MEDIA_LABELS[message.type] || "File";
  }
  if (message.text && typeof message.text.body === "string") return message.text.body;
  return "Message";
}

function previewIcon(message) {
  if (message.deleted) return icon("deleted");
  return message.media ? icon(message.type) : null;
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
  const item = el("li", {
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
      el("span", { class: "chat-item-time", text: when ? formatListTime(when) : "" })),
    el("span", { class: "chat-item-row" }, preview, unread)));
  return item;
}

// ---- messages --------------------------------------------------------------------------------

export function daySeparator(ms) {
  return el("li", { class: "day-separator", attrs: { role: "separator" } }, el("span", { text: formatDay(ms) }));
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

function messageBody(message, loadMedia) {
  if (message.deleted) {
    return [el("div", { class: "text deleted-text" }, icon("deleted"), el("em", { text: "This message was deleted" }))];
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
export function messageElement(message, { meId, firstOfRun, showSender, loadMedia, onRetry }) {
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
  const reactions = reactionsRow(message.reactions, meId);
  if (reactions) classes.push("has-reactions");
  const node = el("li", {
    class: classes.join(" "),
    dataset: { messageId: message.id, clientId: message.client_id, status: own ? message.status : undefined },
  },
  showSender && firstOfRun && !own ? el("div", { class: "sender", text: message.sender_name || "Unknown" }) : null,
  ...messageBody(message, loadMedia),
  meta,
  reactions);
  if (message.status === "failed" && message.request) {
    node.append(el("button", { class: "retry", text: "Not sent. Tap to retry", attrs: { type: "button" },
      on: { click: () => onRetry(message) } }));
  } else if (message.status === "failed") {
    node.append(el("div", { class: "retry", text: "Not sent" }));
  }
  return node;
}
