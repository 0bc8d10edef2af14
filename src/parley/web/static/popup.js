// Small popups that belong to a button: a menu (arrow keys move, Escape closes) and an emoji grid.
// One popup is open at a time; closing it gives the focus back to the button that opened it.

import { el } from "./render.js";

// A fixed list of common emoji: enough for reactions and the composer, no library to load.
export const QUICK_REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🙏"];
export const EMOJI = [
  "😀", "😃", "😄", "😁", "😆", "😅", "🤣", "😂", "🙂", "😉", "😊", "😇", "🥰", "😍", "😘", "😋",
  "😛", "😜", "🤪", "🤗", "🤔", "🤐", "😐", "😏", "😒", "🙄", "😬", "😌", "😔", "😴", "😷", "🤒",
  "🥳", "😎", "🤓", "😕", "😟", "😮", "😲", "😳", "🥺", "😢", "😭", "😱", "😤", "😡", "👍", "👎",
  "👏", "🙌", "🙏", "🤝", "💪", "👋", "👌", "✌️", "🤞", "❤️", "🧡", "💛", "💚", "💙", "💜", "💔",
  "🔥", "✨", "🎉", "🎂", "🎁", "☕", "🍕", "🍻", "⚽", "🚗", "✈️", "🏠", "📷", "💡", "✅", "❌",
];

let current = null; // {node, opener, onClose}

export function closePopup({ restoreFocus = true } = {}) {
  if (!current) return;
  const { node, opener, onClose } = current;
  current = null;
  node.remove();
  opener?.setAttribute("aria-expanded", "false");
  if (onClose) onClose();
  if (restoreFocus && opener?.isConnected) opener.focus();
}

export const popupOpen = () => current !== null;

document.addEventListener("pointerdown", (event) => {
  if (current && !current.node.contains(event.target) && !current.opener?.contains(event.target)) {
    closePopup({ restoreFocus: false });
  }
});
window.addEventListener("resize", () => closePopup({ restoreFocus: false }));

/** Places `node` (position: fixed) next to `anchor`, inside the viewport. */
function place(node, anchor) {
  const box = anchor.getBoundingClientRect();
  const width = node.offsetWidth;
  const height = node.offsetHeight;
  const margin = 8;
  let left = Math.min(box.right - width, window.innerWidth - width - margin);
  left = Math.max(margin, left);
  let top = box.bottom + 4;
  if (top + height > window.innerHeight - margin) top = Math.max(margin, box.top - height - 4);
  node.style.left = `${left}px`;
  node.style.top = `${top}px`;
}

function show(node, opener, onClose, anchor = opener) {
  closePopup({ restoreFocus: false });
  document.body.append(node);
  place(node, anchor);
  current = { node, opener, onClose };
  opener?.setAttribute("aria-expanded", "true");
}

/** Moves focus among `items` with the arrow keys; `columns` > 1 makes up/down jump a row. */
function arrowKeys(node, items, columns = 1) {
  node.addEventListener("keydown", (event) => {
    const at = items.indexOf(document.activeElement);
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns, ArrowUp: -columns };
    let next = null;
    if (event.key in moves) next = at < 0 ? 0 : at + moves[event.key];
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = items.length - 1;
    else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      closePopup();
      return;
    } else if (event.key === "Tab") {
      closePopup({ restoreFocus: false });
      return;
    }
    if (next === null) return;
    event.preventDefault();
    if (columns === 1) next = (next + items.length) % items.length; // a menu wraps around
    next = Math.min(items.length - 1, Math.max(0, next));
    items[next].focus();
  });
}

/**
 * Opens a menu under `opener`. entries: [{label, ariaLabel?, className?, action, keepOpen?}] or
 * {row: [...entries]} for a row of small items (the quick reactions).
 */
export function openMenu(opener, entries, { label, anchor } = {}) {
  const items = [];
  const item = (entry) => {
    const button = el("button", {
      class: "popup-item " + (entry.className || ""),
      text: entry.label,
      attrs: { type: "button", role: "menuitem", tabindex: "-1", "aria-label": entry.ariaLabel },
      on: {
        click: () => {
          if (!entry.keepOpen) closePopup({ restoreFocus: !entry.movesFocus });
          entry.action(button);
        },
      },
    });
    items.push(button);
    return button;
  };
  const children = entries.map((entry) => (entry.row
    ? el("div", { class: "popup-row", attrs: { role: "group", "aria-label": entry.label } }, ...entry.row.map(item))
    : item(entry)));
  const menu = el("div", { class: "popup popup-menu", attrs: { role: "menu", "aria-label": label } }, ...children);
  arrowKeys(menu, items);
  show(menu, opener, null, anchor);
  const first = items.find((button) => !button.classList.contains("reaction-choice")) || items[0];
  first?.focus();
  return menu;
}

/** Opens a grid of emoji; picking one calls onPick(emoji) and closes the grid. */
export function openEmojiGrid(opener, onPick, { label = "Emoji", anchor } = {}) {
  const columns = 8;
  const buttons = EMOJI.map((emoji) => el("button", {
    class: "emoji-choice",
    text: emoji,
    attrs: { type: "button", tabindex: "-1", "aria-label": emoji },
    on: { click: () => { closePopup(); onPick(emoji); } },
  }));
  const grid = el("div", { class: "popup emoji-grid", attrs: { role: "dialog", "aria-label": label } }, ...buttons);
  arrowKeys(grid, buttons, columns);
  show(grid, opener, null, anchor);
  buttons[0].focus();
  return grid;
}
