// The composer's extras: replying to a message (the quote above the input, with a cancel button), editing
// one of your own, an emoji button, the keyboard-usable attach button, and a picture's preview with a caption.

import { el, previewText } from "./render.js";
import { openEmojiGrid } from "./popup.js";
import { modal } from "./message-menu.js";

const $ = (id) => document.getElementById(id);

let app = null;
let replyingTo = null; // the message the next send quotes
let editing = null; //    the own message the composer is changing
let bar = null;

/** hooks: {call, me(), update(message), showError, editBody(message, body) -> PATCH body of an encrypted edit} */
export function initComposer(hooks) {
  app = hooks;
  const form = $("composer");
  bar = el("div", { class: "composer-bar", attrs: { id: "composer-bar", role: "status" } });
  bar.hidden = true;
  form.before(bar);

  // A real button (Tab, Enter, Space) opens the hidden file input's chooser.
  const attach = $("attach-button");
  attach.addEventListener("click", () => $("attach").click());
  // Enter activates a button on its keypress, which Chromium does not always count as a gesture that may open a
  // file chooser; the keydown itself does.
  attach.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.repeat) return;
    event.preventDefault();
    $("attach").click();
  });

  const emoji = el("button", {
    class: "icon-button emoji-button",
    text: "☺",
    attrs: { id: "emoji-button", type: "button", "aria-label": "Emoji", "aria-haspopup": "dialog", "aria-expanded": "false" },
    on: { click: () => openEmojiGrid(emoji, insertEmoji, { label: "Emoji", anchor: form }) },
  });
  attach.after(emoji);

  $("composer-input").addEventListener("keydown", (event) => {
    if (event.key === "Escape" && (replyingTo || editing)) {
      event.preventDefault();
      cancel();
    }
  });
}

function insertEmoji(emoji) {
  const input = $("composer-input");
  const start = input.selectionStart ?? input.value.length;
  const end = input.selectionEnd ?? input.value.length;
  input.setRangeText(emoji, start, end, "end");
  input.focus();
}

function showBar(title, text, cancelLabel) {
  bar.replaceChildren(
    el("div", { class: "composer-bar-quote" },
      el("span", { class: "composer-bar-title", text: title }),
      el("span", { class: "composer-bar-text", text })),
    el("button", { class: "icon-button composer-bar-cancel", text: "×", attrs: { type: "button", "aria-label": cancelLabel },
      on: { click: cancel } }));
  bar.hidden = false;
}

/** Quote `message` in the next send. */
export function startReply(message) {
  editing = null;
  replyingTo = message;
  const who = message.sender_id === app.me().user_id ? "You" : message.sender_name || "Someone";
  showBar(`Replying to ${who}`, previewText(message), "Cancel reply");
  $("composer-input").focus();
}

/** Put an own text message in the composer; the next send changes it. */
export function startEdit(message) {
  replyingTo = null;
  editing = message;
  showBar("Edit message", message.text?.body || "", "Cancel editing");
  const input = $("composer-input");
  input.value = message.text?.body || "";
  input.focus();
}

/** Forget a reply or edit in progress (the chat changed, or the person cancelled). */
export function cancel() {
  if (editing) $("composer-input").value = "";
  replyingTo = null;
  editing = null;
  if (bar) bar.hidden = true;
  $("composer-input").focus();
}

/** The context for the next send ({message_id} of the quoted message), consumed by that send. */
export function takeReplyContext() {
  const context = replyingTo?.id ? { message_id: replyingTo.id } : null;
  replyingTo = null;
  if (!editing) bar.hidden = true;
  return context;
}

/** When the composer is editing, saves `body` as the new text and answers true. */
export async function finishEdit(body) {
  if (!editing) return false;
  const message = editing;
  editing = null;
  bar.hidden = true;
  $("composer-input").value = "";
  if (body === message.text?.body) return true;
  try {
    const patch = message.encrypted && app.editBody ? await app.editBody(message, body) : { text: { body } }; // e2ee
    app.update(await app.call("PATCH", `/messages/${message.id}`, patch));
  } catch (error) {
    app.showError("chat-error", error.message);
  }
  return true;
}

/**
 * Shows a chosen picture with a caption field before it is sent; answers the caption, or null when the
 * person cancelled. `caption` prefills the field (what they had typed in the composer).
 */
export function previewImage(file, caption) {
  return new Promise((resolve) => {
    const url = URL.createObjectURL(file);
    const field = el("input", { attrs: { id: "image-caption", type: "text", maxlength: "1024", autocomplete: "off",
      placeholder: "Add a caption" } });
    field.value = caption || "";
    const send = el("button", { class: "button send-primary", text: "Send", attrs: { type: "submit" } });
    const cancelButton = el("button", { class: "button ghost-dark", text: "Cancel", attrs: { type: "button" } });
    const form = el("form", { class: "image-preview-form", attrs: { method: "dialog" } },
      el("img", { class: "image-preview", attrs: { src: url, alt: `Preview of ${file.name}` } }),
      el("label", { class: "visually-hidden", text: "Caption", attrs: { for: "image-caption" } }),
      field,
      el("div", { class: "dialog-buttons" }, cancelButton, send));
    let answer = null;
    const dialog = modal("Send a photo", form);
    dialog.classList.add("image-dialog");
    cancelButton.addEventListener("click", () => dialog.close());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      answer = field.value.trim();
      dialog.close();
    });
    dialog.addEventListener("close", () => {
      URL.revokeObjectURL(url);
      resolve(answer);
    });
    field.focus();
  });
}
