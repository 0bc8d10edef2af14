// "online" / "last seen today at 14:05" under a direct chat's title, read from GET /users/{id}/presence (the
// server applies the person's privacy setting: hidden reads as never seen, and then nothing is shown).

const REFRESH_MS = 10000;
const timeFormat = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit" });
const dateFormat = new Intl.DateTimeFormat([], { day: "numeric", month: "short" });

function daysAgo(ms, now) {
  const midnight = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  return Math.round((midnight(now) - midnight(new Date(ms))) / 86400000);
}

/** The header line for a presence answer, in local time; "" when there is nothing to show. */
export function presenceText(presence, now = new Date()) {
  if (!presence) return "";
  if (presence.online) return "online";
  if (!presence.last_seen) return "";
  const time = timeFormat.format(new Date(presence.last_seen));
  const ago = daysAgo(presence.last_seen, now);
  if (ago === 0) return `last seen today at ${time}`;
  if (ago === 1) return `last seen yesterday at ${time}`;
  return `last seen ${dateFormat.format(new Date(presence.last_seen))} at ${time}`;
}

/** Keeps the presence of the open direct chat's person fresh while the page is visible. */
export class PresenceWatcher {
  /** @param call the page's API call; @param onChange() redraws the header */
  constructor(call, onChange) {
    this.call = call;
    this.onChange = onChange;
    this.userId = null;
    this.presence = null;
    this.timer = null;
    document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") this.refresh(); });
  }

  /** Follow the person of `open` (a direct chat with an id), or nobody. */
  watch(open) {
    const userId = open?.type === "direct" && open.id && open.peer?.kind !== "business" ? open.peer?.user_id : null;
    if (userId === this.userId) return;
    this.userId = userId;
    this.presence = null;
    clearInterval(this.timer);
    this.timer = null;
    if (!userId) return;
    this.refresh();
    this.timer = setInterval(() => { if (document.visibilityState === "visible") this.refresh(); }, REFRESH_MS);
  }

  /** The header line for `open`, if it is the chat being watched. */
  textFor(open) {
    return open?.peer?.user_id && open.peer.user_id === this.userId ? presenceText(this.presence) : "";
  }

  async refresh() {
    const userId = this.userId;
    if (!userId) return;
    try {
      const presence = await this.call("GET", `/users/${encodeURIComponent(userId)}/presence`);
      if (userId !== this.userId) return;
      this.presence = presence;
      this.onChange();
    } catch {
      /* the header keeps what it shows */
    }
  }
}
