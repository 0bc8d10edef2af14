// Each bubble's menu (reply, react, edit, delete for everyone, forward, copy), the quote a reply shows,
// the "Forwarded" mark, and the dialogs the menu opens. The app hands in its hooks once (initMessageMenu).

import { el, previewText } from "./render.js";
import { closePopup, openEmojiGrid, openMenu, QUICK_REACTIONS } from "./popup.js";

// The server's edit window (PARLEY_LIMITS__EDIT_WINDOW_S, 15 minutes by default): past it, no Edit in the menu.
const EDIT_WINDOW_MS = 15 * 60 * 1000;
// ... and its delete-for-everyone window (PARLEY_LIMITS__DELETE_WINDOW_S, 60 hours by default).
const DELETE_WINDOW_MS = 60 * 3600 * 1000;
const LONG_PRESS_MS = 500;

let app = null;

/**
 * hooks: {call, newClientId, showError, me(), open(), chats(), message(id), update(message), reply(message),
 * edit(message), notify(text), forward(message, chatId, clientId) for encrypted messages (e2ee)}
 */
export function initMessageMenu(hooks) {
  app = hooks;
}

const isMine = (message) => message.sender_id === app.me().user_id;
const canEdit = (message) => isMine(message) && message.type === "text" && !message.deleted
  && Date.now() - message.timestamp < EDIT_WINDOW_MS;
const canForward = (message) => !message.deleted && (message.text || message.media || message.business?.location);
const copyText = (message) => (message.media ? message.media.caption : message.text?.body) || "";

// ---- the bubble ---------------------------------------------------------------------------------

/** Adds the menu button, the quote (a reply) and the "Forwarded" mark to a rendered bubble. */
export function decorateMessage(node, message) {
  // Still sending or deleted: nothing to act on. A group invitation is an offer to join, not words to pass on.
  if (!message.id || message.deleted || message.business?.group_invite) return node;
  const top = [];
  if (message.forwarded && !message.deleted) {
    top.push(el("div", { class: "forwarded-mark", text: "Forwarded" }));
  }
  if (message.context?.message_id && !message.business?.reply && !message.deleted) {
    top.push(quoteBlock(message.context.message_id, message.quoted));
  }
  const after = node.querySelector(":scope > .sender");
  if (after) after.after(...top);
  else node.prepend(...top);
  const button = el("button", {
    class: "message-menu-button",
    attrs: { type: "button", "aria-label": "Message options", "aria-haspopup": "menu", "aria-expanded": "false" },
    on: { click: () => openMessageMenu(button, message) },
  }, chevron());
  node.append(button);
  node.addEventListener("contextmenu", (event) => {
    if (event.target.closest("a[href^=\"http\"], video, audio")) return; // their own menus are useful there
    event.preventDefault();
    openMessageMenu(button, message);
  });
  longPress(node, () => openMessageMenu(button, message));
  return node;
}

function chevron() {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", "M3.5 6l4.5 4.5L12.5 6");
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", "currentColor");
  path.setAttribute("stroke-width", "1.8");
  svg.append(path);
  return svg;
}

function longPress(node, open) {
  let timer = null;
  let start = null;
  const cancel = () => clearTimeout(timer);
  node.addEventListener("pointerdown", (event) => {
    if (event.pointerType !== "touch") return;
    cancel();
    start = [event.clientX, event.clientY];
    timer = setTimeout(open, LONG_PRESS_MS);
  });
  // A finger never holds perfectly still: only a real move (a scroll) cancels the press.
  node.addEventListener("pointermove", (event) => {
    if (start && Math.hypot(event.clientX - start[0], event.clientY - start[1]) > 10) cancel();
  });
  for (const type of ["pointerup", "pointercancel", "pointerleave"]) node.addEventListener(type, cancel);
}

/** The quote a reply shows: from the quoted message if it is loaded (it may have changed), else the server's line. */
function quoteBlock(quotedId, described) {
  const quoted = app.message(quotedId);
  const author = quoted || described;
  const who = !author ? "" : author.sender_id === app.me().user_id ? "You" : author.sender_name || "Someone";
  let text = "Original message";
  if (quoted) text = previewText(quoted);
  else if (described?.deleted) text = "This message was deleted";
  else if (described?.preview) text = described.preview;
  return el("button", {
    class: "quote",
    dataset: { quotedId },
    attrs: { type: "button", "aria-label": `Quoted message${who ? " from " + who : ""}: ${text}. Show it` },
    on: { click: () => revealMessage(quotedId) },
  }, who ? el("span", { class: "quote-sender", text: who }) : null, el("span", { class: "quote-text", text }));
}

/** Scrolls the open chat to a message and highlights it for a moment; false when it isn't on screen. */
export function revealMessage(messageId) {
  const node = document.querySelector(`.message[data-message-id="${CSS.escape(messageId)}"]`);
  if (!node) return false;
  node.scrollIntoView({ block: "center" });
  node.classList.remove("highlight");
  void node.offsetWidth; // restart the animation when the same message is revealed twice
  node.classList.add("highlight");
  setTimeout(() => node.classList.remove("highlight"), 2500);
  return true;
}

// ---- the menu -----------------------------------------------------------------------------------

function openMessageMenu(button, message) {
  const current = app.message(message.id) || message;
  const entries = [];
  if (!current.deleted) {
    const mine = (current.reactions || []).find((r) => r.user_id === app.me().user_id)?.emoji;
    entries.push({
      row: [
        ...QUICK_REACTIONS.map((emoji) => ({
          label: emoji,
          ariaLabel: `React ${emoji}` + (emoji === mine ? " (yours: removes it)" : ""),
          className: "reaction-choice" + (emoji === mine ? " chosen" : ""),
          action: () => react(current, emoji),
        })),
        {
          label: "+",
          ariaLabel: "More reactions",
          className: "reaction-choice reaction-more",
          movesFocus: true,
          action: () => openEmojiGrid(button, (emoji) => react(current, emoji), { label: "Pick a reaction" }),
        },
      ],
      label: "React",
    });
    entries.push({ label: "Reply", movesFocus: true, action: () => app.reply(current) });
  }
  if (copyText(current)) entries.push({ label: "Copy", action: () => copy(current) });
  if (canForward(current)) entries.push({ label: "Forward", action: () => forwardDialog(current) });
  if (canEdit(current)) entries.push({ label: "Edit", movesFocus: true, action: () => app.edit(current) });
  if (isMine(current) && !current.deleted && Date.now() - current.timestamp < DELETE_WINDOW_MS) {
    entries.push({ label: "Delete for everyone", className: "danger", action: () => confirmDelete(current) });
  }
  if (entries.length === 0) return;
  openMenu(button, entries, { label: "Message options" });
}

async function react(message, emoji) {
  const mine = (message.reactions || []).find((r) => r.user_id === app.me().user_id)?.emoji;
  try {
    // The same emoji again takes the reaction back, as in WhatsApp.
    app.update(await app.call("POST", `/messages/${message.id}/reactions`, { emoji: mine === emoji ? "" : emoji }));
  } catch (error) {
    app.showError("chat-error", error.message);
  }
}

async function copy(message) {
  const text = copyText(message);
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard permission (or not a secure context): the old way still works on a user gesture.
    const area = el("textarea", { class: "visually-hidden", text });
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  app.notify("Copied");
}

// ---- dialogs ------------------------------------------------------------------------------------

/** A modal <dialog> (focus stays inside; Escape cancels) that removes itself when closed. */
export function modal(title, ...content) {
  const heading = el("h2", { class: "dialog-title", text: title, attrs: { id: `dialog-${Date.now()}` } });
  const dialog = el("dialog", { class: "dialog", attrs: { "aria-labelledby": heading.id } }, heading, ...content);
  const opener = document.activeElement;
  dialog.addEventListener("close", () => {
    dialog.remove();
    // Back where the person was; a redraw may have replaced that button, then the composer.
    (opener?.isConnected ? opener : document.getElementById("composer-input"))?.focus();
  });
  document.body.append(dialog);
  closePopup({ restoreFocus: false });
  dialog.showModal();
  return dialog;
}

function dialogButtons(dialog, confirmLabel, confirmClass = "primary") {
  const cancel = el("button", { class: "button ghost-dark", text: "Cancel", attrs: { type: "button" },
    on: { click: () => dialog.close() } });
  const confirm = el("button", { class: `button ${confirmClass}`, text: confirmLabel, attrs: { type: "submit" } });
  return { row: el("div", { class: "dialog-buttons" }, cancel, confirm), confirm };
}

function confirmDelete(message) {
  const form = el("form", { attrs: { method: "dialog" } },
    el("p", { class: "dialog-text", text: "Everyone in this chat will see “This message was deleted” instead." }));
  const dialog = modal("Delete this message for everyone?", form);
  const { row, confirm } = dialogButtons(dialog, "Delete for everyone", "danger");
  form.append(row);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    confirm.disabled = true;
    try {
      await app.call("DELETE", `/messages/${message.id}`);
      app.update({ ...(app.message(message.id) || message), deleted: true, text: null, media: null, reactions: [] });
      dialog.close();
    } catch (error) {
      dialog.close();
      app.showError("chat-error", error.message);
    }
  });
  confirm.focus();
}

function forwardDialog(message) {
  const chats = app.chats();
  const list = el("ul", { class: "forward-list" }, ...chats.map((chat) => el("li", {},
    el("label", { class: "forward-choice" },
      el("input", { attrs: { type: "checkbox", name: "forward-chat", value: chat.id } }),
      el("span", { text: chat.title || chat.peer?.phone || "Chat" })))));
  const status = el("p", { class: "dialog-text dialog-error", attrs: { role: "alert" } });
  const form = el("form", { attrs: { method: "dialog" } },
    el("fieldset", { class: "forward-fieldset" }, el("legend", { text: "Forward to" }), list), status);
  const dialog = modal("Forward message", form);
  const { row, confirm } = dialogButtons(dialog, "Forward");
  form.append(row);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const picked = [...form.querySelectorAll('input[name="forward-chat"]:checked')].map((input) => input.value);
    if (picked.length === 0) {
      status.textContent = "Pick at least one chat.";
      return;
    }
    confirm.disabled = true;
    // One client_id per chat, kept across a retry of this dialog's send, so a retry never makes a copy.
    const keys = new Map(picked.map((chatId) => [chatId, app.newClientId()]));
    const failed = [];
    for (const [chatId, clientId] of keys) {
      try {
        if (message.encrypted && app.forward) await app.forward(message, chatId, clientId); // e2ee: the server can't
        else await app.call("POST", `/messages/${message.id}/forward`, { chat_id: chatId, client_id: clientId });
      } catch (error) {
        failed.push(error.message);
      }
    }
    confirm.disabled = false;
    if (failed.length) {
      status.textContent = failed.join(" ");
      return;
    }
    dialog.close();
    app.notify(picked.length === 1 ? "Forwarded" : `Forwarded to ${picked.length} chats`);
  });
  (form.querySelector("input") || confirm).focus();
}
