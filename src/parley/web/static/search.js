// The search box above the chat list: it filters the chats by name or number as you type, and finds your
// messages through GET /client/v1/search; a message found opens its chat, scrolled to it and highlighted.

import { el, formatDay, formatTime, previewText } from "./render.js";
import { revealMessage } from "./message-menu.js";

const $ = (id) => document.getElementById(id);
const DEBOUNCE_MS = 250;
const OLDER_PAGES_TO_FIND = 20; // a message far back in a long chat: load at most this many pages to reach it

let app = null;
let query = "";
let timer = null;
let asked = 0; // only the newest search's answer is shown
let results = null;

/** hooks: {call, chats(), openChat(id) -> Promise, message(id), loadOlder() -> Promise<bool>, renderChatList(), showError,
 * localMatches(query) -> decrypted messages (e2ee)} */
export function initSearch(hooks) {
  app = hooks;
  const input = el("input", {
    attrs: { id: "search-input", type: "search", autocomplete: "off", placeholder: "Search chats and messages",
      "aria-controls": "search-results" },
  });
  const box = el("div", { class: "search-box", attrs: { role: "search" } },
    el("label", { class: "visually-hidden", text: "Search chats and messages", attrs: { for: "search-input" } }),
    input);
  results = el("section", { class: "search-results", attrs: { id: "search-results", "aria-label": "Messages found" } });
  results.hidden = true;
  $("chat-list").before(box);
  $("chat-list").after(results);
  input.addEventListener("input", () => {
    query = input.value.trim();
    app.renderChatList();
    clearTimeout(timer);
    timer = setTimeout(findMessages, DEBOUNCE_MS);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && input.value) {
      event.preventDefault();
      input.value = "";
      input.dispatchEvent(new Event("input"));
    }
  });
}

/** Whether a chat shows in the list while the person searches (by its title or the other person's number). */
export function chatMatches(chat) {
  if (!query) return true;
  const needle = query.toLowerCase();
  const digits = query.replace(/[^\d]/g, "");
  const title = (chat.title || "").toLowerCase();
  const phone = chat.peer?.phone || "";
  return title.includes(needle) || (chat.peer?.name || "").toLowerCase().includes(needle)
    || (digits.length >= 3 && phone.replace(/[^\d]/g, "").includes(digits));
}

export const searching = () => query !== "";

async function findMessages() {
  const ask = ++asked;
  if (query.length < 2) {
    results.hidden = true;
    results.replaceChildren();
    return;
  }
  try {
    const answer = await app.call("GET", `/search?${new URLSearchParams({ q: query, limit: "30" })}`);
    if (ask !== asked) return;
    showResults(withDecrypted(answer.messages));
  } catch (error) {
    if (ask === asked) app.showError("sidebar-error", error.message);
  }
}

// e2ee: the server can't read person chats, so what this page decrypted is searched here and merged in.
function withDecrypted(found) {
  const local = app.localMatches ? app.localMatches(query) : [];
  const byId = new Map(found.filter((m) => !m.encrypted).map((m) => [m.id, m]));
  for (const message of local) byId.set(message.id, message);
  return [...byId.values()].sort((a, b) => b.timestamp - a.timestamp).slice(0, 30);
}

function showResults(messages) {
  const chats = new Map(app.chats().map((chat) => [chat.id, chat]));
  const items = messages.map((message) => {
    const chat = chats.get(message.chat_id);
    const when = `${formatDay(message.timestamp)} ${formatTime(message.timestamp)}`;
    return el("li", {},
      el("button", {
        class: "search-hit",
        dataset: { messageId: message.id, chatId: message.chat_id },
        attrs: { type: "button" },
        on: { click: () => openAt(message.chat_id, message.id) },
      },
      el("span", { class: "search-hit-row" },
        el("span", { class: "search-hit-chat", text: chat?.title || message.sender_name || "Chat" }),
        el("span", { class: "search-hit-time", text: when })),
      el("span", { class: "search-hit-text", text: previewText(message) })));
  });
  const heading = el("h2", { class: "search-heading", text: "Messages" });
  const list = items.length
    ? el("ul", { class: "search-hit-list" }, ...items)
    : el("p", { class: "empty-list", text: "No messages found." });
  results.replaceChildren(heading, list);
  results.hidden = false;
}

/** Opens a chat at one message: older pages load until it is there, then it is scrolled to and highlighted. */
async function openAt(chatId, messageId) {
  await app.openChat(chatId);
  for (let page = 0; !app.message(messageId) && page < OLDER_PAGES_TO_FIND; page += 1) {
    if (!(await app.loadOlder())) break;
  }
  requestAnimationFrame(() => revealMessage(messageId));
}
