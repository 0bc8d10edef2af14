// Click-to-chat: `/c/{code}` sends the browser to `/app#chat=%2B14155550190&clid=…&text=…`. The app opens (or
// starts) that chat, prefills the composer with `text`, and sends `clid` as `referral_clid` with the first
// message, so the business's webhook carries the ad's referral. Signed out, the link survives the sign-in in
// sessionStorage (this tab only).

const PENDING_KEY = "parley.chat-link";
const CLICK_ID = /^[A-Za-z0-9_-]{1,64}$/; // what /c/{code} mints; the API takes at most 64 characters
const PHONE = /^\+?[0-9][0-9 ().-]{2,30}$/;
const CHAT_ID = /^[0-9]{16,20}$/; // 64-bit ids; phone numbers have at most 15 digits
const MAX_TEXT = 4096;

let referral = null; // {userId, clid}: sent once, with the next message to that person or business

/** Reads `#chat=…&clid=…&text=…`: {chatId} for one of our chats, or {phone, clid, text}; null if it isn't a link. */
export function parseChatLink(hash) {
  if (typeof hash !== "string" || !hash.startsWith("#")) return null;
  const params = new Map();
  for (const part of hash.slice(1).split("&")) {
    const at = part.indexOf("=");
    if (at < 1) continue;
    try {
      // decodeURIComponent, not URLSearchParams: a "+" in the number must stay a plus, not become a space.
      params.set(part.slice(0, at), decodeURIComponent(part.slice(at + 1)));
    } catch {
      return null; // malformed escapes: not a link we made
    }
  }
  const chat = (params.get("chat") || "").trim();
  const text = (params.get("text") || "").slice(0, MAX_TEXT);
  const clid = CLICK_ID.test(params.get("clid") || "") ? params.get("clid") : null;
  if (CHAT_ID.test(chat)) return { chatId: chat, phone: null, clid: null, text };
  if (!PHONE.test(chat)) return null;
  const digits = chat.replace(/[^0-9]/g, "");
  return { chatId: null, phone: `+${digits}`, clid, text };
}

/** The `/app#…` address for a parsed link: built from its parts, so only same-origin app targets come out. */
export function linkTarget(link) {
  if (!link) return "/app";
  if (link.chatId) return `/app#chat=${link.chatId}`;
  let target = `/app#chat=${encodeURIComponent(link.phone)}`;
  if (link.clid) target += `&clid=${encodeURIComponent(link.clid)}`;
  if (link.text) target += `&text=${encodeURIComponent(link.text)}`;
  return target;
}

/** Signed out on a link: keep it for after the sign-in (this tab only). */
export function rememberForSignIn(hash) {
  const link = parseChatLink(hash);
  if (link) sessionStorage.setItem(PENDING_KEY, linkTarget(link));
}

/** Where to go once signed in: the remembered link's chat, else `fallback` (a checked same-origin path). */
export function afterSignIn(fallback = "/app") {
  const stored = sessionStorage.getItem(PENDING_KEY) || "";
  const link = parseChatLink(stored.startsWith("/app#") ? stored.slice(4) : "");
  return link ? linkTarget(link) : fallback;
}

/**
 * Opens the chat a link asks for. `app`: {me, chats, call, openChat, showChat, composer, showError}.
 * Answers true when it handled a link.
 */
export async function openChatLink(hash, app) {
  sessionStorage.removeItem(PENDING_KEY);
  const link = parseChatLink(hash);
  if (!link) return false;
  if (link.chatId) {
    if (app.chats.has(link.chatId)) app.openChat(link.chatId);
    return true;
  }
  let user;
  try {
    user = await app.call("GET", `/users/lookup?phone=${encodeURIComponent(link.phone)}`);
  } catch (error) {
    app.showError(error.message);
    return true;
  }
  if (user.user_id === app.me.user_id) return true;
  const existing = [...app.chats.values()].find((c) => c.type === "direct" && c.peer?.user_id === user.user_id);
  if (existing) app.openChat(existing.id);
  else app.showChat({ id: null, type: "direct", title: user.name || user.phone, peer: user });
  if (link.text) app.composer.value = link.text; // a value, never markup
  referral = link.clid ? { userId: user.user_id, clid: link.clid } : null;
  return true;
}

/** Fields to add to a send to `open`: the link's click id with the first message to its chat, once. */
export function referralFields(open) {
  if (!referral || open?.type !== "direct" || open.peer?.user_id !== referral.userId) return {};
  const fields = { referral_clid: referral.clid };
  referral = null;
  return fields;
}
