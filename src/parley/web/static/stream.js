// The realtime socket (WS /client/v1/stream): delivers events, acks durable ones, reconnects with back-off.

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30000;
// A socket that stays up this long counts as healthy, so the next drop starts the back-off afresh.
// (Resetting on `open` alone would hammer a server that accepts and then closes at once.)
const HEALTHY_AFTER_MS = 5000;
// The server's close code when this device opened a newer stream (another tab or window of this browser).
const REPLACED = 4409;

export class Stream {
  /**
   * @param {() => string} url          called on every attempt, so a changed token is picked up
   * @param {(event: object) => void} onEvent   one parsed server event
   * @param {(state: string, info: object) => void} onState  "connecting" | "open" | "waiting" | "replaced" | "stopped"
   */
  constructor(url, onEvent, onState) {
    this.url = url;
    this.onEvent = onEvent;
    this.onState = onState;
    this.socket = null;
    this.attempt = 0;
    this.openedAt = 0;
    this.opens = 0;
    this.retryTimer = null;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.socket) this.socket.close(1000, "bye");
    this.socket = null;
    this.onState("stopped", {});
  }

  /** Reconnects now instead of waiting out the back-off (e.g. when the network comes back). */
  retryNow() {
    if (this.stopped || this.socket) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  /** Sends one client event; answers false when the socket isn't open (the event is simply dropped). */
  send(message) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  connect() {
    this.onState("connecting", {});
    const socket = new WebSocket(this.url());
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.openedAt = Date.now();
      this.opens += 1;
      this.onState("open", { reconnected: this.opens > 1 });
    });
    socket.addEventListener("message", (message) => this.receive(message.data));
    socket.addEventListener("close", (close) => this.closed(socket, close));
  }

  receive(data) {
    let event;
    try {
      event = JSON.parse(data);
    } catch {
      return; // not ours to understand; keep the connection
    }
    try {
      this.onEvent(event);
    } finally {
      // Ack even if rendering failed: the app reloads server state on reconnect anyway, and an
      // un-acked event would be redelivered forever.
      if (event.type === "message" && event.id !== undefined) this.send({ type: "ack", id: event.id });
    }
  }

  closed(socket, close) {
    if (socket !== this.socket) return;
    this.socket = null;
    if (this.stopped) return;
    if (close.code === REPLACED) {
      // Reconnecting would replace the newer stream in turn, and the two windows would take turns for ever.
      this.stopped = true;
      this.onState("replaced", {});
      return;
    }
    const wasHealthy = this.openedAt && Date.now() - this.openedAt >= HEALTHY_AFTER_MS;
    if (wasHealthy) this.attempt = 0;
    this.openedAt = 0;
    const delay = this.nextDelay();
    this.attempt += 1;
    this.onState("waiting", { delay, code: close.code });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  // Exponential back-off with ±20 % jitter, so many clients dropped together don't return together.
  nextDelay() {
    const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.attempt);
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }
}
