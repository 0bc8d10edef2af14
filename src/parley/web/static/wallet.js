// Parley Pay in the person's client: the wallet (balances, add money with the sandbox's test credentials,
// history, payment PIN), "Send money" in a 1:1 chat (amount and note, then the PIN), and payment receipts.
// It builds its own dialogs; app.js only calls initWallet() and wallet.update() when the open chat changes.

import { newClientId, session } from "./api.js";

const BASE = "/client/v1";
const $ = (id) => document.getElementById(id);

const SANDBOX_HINTS = {
  card: "Sandbox test card: 4242 4242 4242 4242, any future expiry, any CVC. 4000 0000 0000 0002 is declined.",
  upi: "Sandbox UPI IDs: success@parley, failure@parley, otp@parley (code 123456), timeout@parley.",
  pix: "Sandbox Pix keys: success@pix.parley, failure@pix.parley, otp@pix.parley (code 123456), timeout@pix.parley.",
};
const KIND_LABELS = {
  topup: "Added money", withdrawal: "Withdrawal", withdrawal_returned: "Withdrawal returned",
  payment_sent: "Paid", payment_received: "Received",
};

/** A client API call with an optional Idempotency-Key; throws Error(message) with the API's own message. */
async function payApi(method, path, body, key) {
  const headers = { Authorization: `Bearer ${session.token || ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (key) headers["Idempotency-Key"] = key;
  let response;
  try {
    response = await fetch(BASE + path, {
      method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new Error("Can't reach the server. Check your connection and try again.");
  }
  if (response.status === 204) return null;
  let answer = null;
  try {
    answer = await response.json();
  } catch {
    /* not JSON */
  }
  if (!response.ok) {
    throw new Error(answer?.error?.message || `The request failed (HTTP ${response.status}).`);
  }
  return answer;
}

function make(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value);
  }
  node.append(...children.filter(Boolean));
  return node;
}

function field(id, label, attrs = {}) {
  return [make("label", { for: id, text: label }), make("input", { id, type: "text", autocomplete: "off", ...attrs })];
}

function dialog(id, title) {
  const titleId = `${id}-title`;
  const close = make("button", { type: "button", class: "link-button pay-close", text: "Close" });
  const box = make("dialog", { id, class: "pay-dialog", "aria-labelledby": titleId },
    make("div", { class: "pay-head" }, make("h2", { id: titleId, text: title }), close));
  close.addEventListener("click", () => box.close());
  document.body.append(box);
  return box;
}

function showError(id, message) {
  const node = $(id);
  node.textContent = message || "";
  node.hidden = !message;
}

function currencyOptions(select, currencies, chosen) {
  select.replaceChildren(...currencies.map((c) => make("option", { value: c, text: c, selected: c === chosen })));
}

export class Wallet {
  /** @param app {open(): the open chat {id, type, title, peer} or null, me(): {user_id, ...}} */
  constructor(app) {
    this.app = app;
    this.info = null; // GET /wallet
    this.pending = null; // the payment waiting for its PIN
    this.topup = null; // the top-up waiting for its code
    this.buildWallet();
    this.buildPay();
    this.buildReceipt();
    const link = make("link", { rel: "stylesheet", href: new URL("./wallet.css", import.meta.url).href });
    document.head.append(link);
    document.addEventListener("parley:payment-receipt", (event) => this.showReceipt(event.detail));
  }

  // ---- the wallet dialog --------------------------------------------------------------------------

  buildWallet() {
    const open = make("button", { id: "wallet-open", type: "button", class: "button primary small wallet-open",
      text: "Parley Pay wallet" });
    open.addEventListener("click", () => this.openWallet());
    const status = $("settings-status");
    if (status) status.before(open);

    const box = dialog("wallet-dialog", "Parley Pay wallet");
    const method = make("select", { id: "topup-method" },
      make("option", { value: "card", text: "Card" }), make("option", { value: "upi", text: "UPI" }),
      make("option", { value: "pix", text: "Pix" }));
    const topup = make("form", { id: "topup-form", class: "pay-form", novalidate: "" },
      make("h3", { text: "Add money" }),
      make("div", { class: "pay-row" },
        make("div", {}, ...field("topup-amount", "Amount", { inputmode: "decimal", placeholder: "50.00" })),
        make("div", {}, make("label", { for: "topup-currency", text: "Currency" }),
          make("select", { id: "topup-currency" }))),
      make("label", { for: "topup-method", text: "Pay with" }), method,
      make("div", { "data-method": "card", class: "pay-method" },
        ...field("topup-card", "Card number", { inputmode: "numeric", autocomplete: "cc-number",
          placeholder: "4242 4242 4242 4242" }),
        make("div", { class: "pay-row" },
          make("div", {}, ...field("topup-expiry", "Expiry (MM/YY)", { autocomplete: "cc-exp", placeholder: "12/34" })),
          make("div", {}, ...field("topup-cvc", "CVC", { inputmode: "numeric", autocomplete: "cc-csc",
            placeholder: "123" })))),
      make("div", { "data-method": "upi", class: "pay-method", hidden: "" },
        ...field("topup-vpa", "UPI ID", { placeholder: "success@parley" })),
      make("div", { "data-method": "pix", class: "pay-method", hidden: "" },
        ...field("topup-pix", "Pix key", { placeholder: "success@pix.parley" })),
      make("p", { id: "topup-hint", class: "settings-hint", text: SANDBOX_HINTS.card }),
      make("button", { id: "topup-submit", type: "submit", class: "button primary small", text: "Add money" }));
    const code = make("form", { id: "topup-code-form", class: "pay-form", novalidate: "", hidden: "" },
      ...field("topup-code", "Enter the code from your bank (sandbox: 123456)", { inputmode: "numeric",
        autocomplete: "one-time-code" }),
      make("button", { type: "submit", class: "button primary small", text: "Confirm" }));
    const pin = make("form", { id: "pin-form", class: "pay-form", novalidate: "", hidden: "" },
      make("h3", { text: "Payment PIN" }),
      ...field("pin-new", "Choose a payment PIN (4 or 6 digits)", { type: "password", inputmode: "numeric",
        autocomplete: "new-password" }),
      make("button", { type: "submit", class: "button primary small", text: "Set PIN" }));
    const historyCurrency = make("select", { id: "history-currency" });
    box.append(
      make("ul", { id: "wallet-balances", class: "pay-balances", "aria-label": "Balances" }),
      make("p", { id: "wallet-status", class: "pay-status", role: "status" }),
      make("p", { id: "wallet-error", class: "error-message", role: "alert", hidden: "" }),
      topup, code, pin,
      make("div", { class: "pay-history-head" }, make("h3", { text: "History" }),
        make("label", { for: "history-currency", class: "visually-hidden", text: "History currency" }),
        historyCurrency),
      make("ol", { id: "wallet-history", class: "pay-history", "aria-label": "Wallet history" }),
      make("p", { id: "wallet-history-empty", class: "settings-hint", text: "No movements yet.", hidden: "" }));
    method.addEventListener("change", () => this.showMethod());
    topup.addEventListener("submit", (event) => this.addMoney(event));
    code.addEventListener("submit", (event) => this.submitCode(event));
    pin.addEventListener("submit", (event) => this.setPin(event));
    historyCurrency.addEventListener("change", () => this.loadHistory());
  }

  async openWallet() {
    showError("wallet-error", null);
    $("wallet-status").textContent = "";
    $("wallet-dialog").showModal();
    try {
      await this.refresh();
      currencyOptions($("topup-currency"), this.info.wallets.map((w) => w.currency), this.info.currency);
      currencyOptions($("history-currency"), this.info.wallets.map((w) => w.currency), this.info.currency);
      await this.loadHistory();
    } catch (error) {
      showError("wallet-error", error.message);
    }
  }

  async refresh() {
    this.info = await payApi("GET", "/wallet");
    $("wallet-balances").replaceChildren(...this.info.wallets.map((w) => make("li", { class: "pay-balance" },
      make("span", { class: "pay-currency", text: w.currency }),
      make("span", { class: "pay-balance-amount", "data-currency": w.currency, text: w.balance }))));
    $("pin-form").hidden = this.info.pin_set;
    return this.info;
  }

  showMethod() {
    const chosen = $("topup-method").value;
    for (const block of $("topup-form").querySelectorAll(".pay-method")) block.hidden = block.dataset.method !== chosen;
    $("topup-hint").textContent = SANDBOX_HINTS[chosen];
  }

  topupBody() {
    const body = { amount: $("topup-amount").value.trim(), currency: $("topup-currency").value,
      method: $("topup-method").value };
    if (body.method === "upi") body.vpa = $("topup-vpa").value.trim();
    else if (body.method === "pix") body.pix_key = $("topup-pix").value.trim();
    else {
      const [month, year] = $("topup-expiry").value.split("/").map((part) => Number.parseInt(part, 10));
      body.card = { number: $("topup-card").value.trim(), exp_month: month || 0, exp_year: year || 0,
        cvc: $("topup-cvc").value.trim() };
    }
    return body;
  }

  async addMoney(event) {
    event.preventDefault();
    showError("wallet-error", null);
    $("topup-submit").disabled = true;
    $("wallet-status").textContent = "Adding money…";
    try {
      this.topup = await payApi("POST", "/wallet/topups", this.topupBody(), newClientId());
      await this.afterTopUp();
    } catch (error) {
      $("wallet-status").textContent = "";
      showError("wallet-error", error.message);
    } finally {
      $("topup-submit").disabled = false;
    }
  }

  async afterTopUp() {
    const topup = this.topup;
    $("topup-code-form").hidden = topup.status !== "requires_action";
    if (topup.status === "requires_action") {
      $("wallet-status").textContent = "Your bank asks for a code to finish adding money.";
      $("topup-code").focus();
      return;
    }
    $("wallet-status").textContent = topup.status === "succeeded"
      ? `Added ${topup.amount} ${topup.currency}.`
      : "Your bank has not answered yet; the money appears once it does.";
    $("topup-amount").value = "";
    await this.refresh();
    await this.loadHistory();
  }

  async submitCode(event) {
    event.preventDefault();
    showError("wallet-error", null);
    try {
      this.topup = await payApi("POST", `/wallet/topups/${this.topup.id}/confirm`, { code: $("topup-code").value.trim() });
      $("topup-code").value = "";
      await this.afterTopUp();
    } catch (error) {
      $("topup-code-form").hidden = true;
      $("wallet-status").textContent = "";
      showError("wallet-error", error.message);
    }
  }

  async setPin(event) {
    event.preventDefault();
    showError("wallet-error", null);
    try {
      await payApi("PUT", "/wallet/pin", { pin: $("pin-new").value });
      $("pin-new").value = "";
      $("wallet-status").textContent = "Your payment PIN is set.";
      await this.refresh();
    } catch (error) {
      showError("wallet-error", error.message);
    }
  }

  async loadHistory() {
    const currency = $("history-currency").value;
    if (!currency) return;
    const page = await payApi("GET", `/wallet/history?currency=${encodeURIComponent(currency)}&limit=20`);
    const when = new Intl.DateTimeFormat([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
    $("wallet-history").replaceChildren(...page.data.map((m) => make("li", { class: "pay-movement" },
      make("span", { class: "pay-movement-what", text: [KIND_LABELS[m.kind] || m.kind, m.counterparty].filter(Boolean).join(" · ") }),
      make("span", { class: `pay-movement-amount ${m.amount.startsWith("-") ? "out" : "in"}`,
        text: `${m.amount} ${m.currency}` }),
      make("time", { class: "pay-movement-time", datetime: new Date(m.timestamp).toISOString(),
        text: when.format(new Date(m.timestamp)) }))));
    $("wallet-history-empty").hidden = page.data.length > 0;
  }

  // ---- "Send money" in a 1:1 chat -----------------------------------------------------------------

  buildPay() {
    const button = make("button", { id: "pay-button", type: "button", class: "icon-button pay-button",
      "aria-label": "Send money", title: "Send money", hidden: "" });
    button.innerHTML = '<svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true"><rect x="2.5" y="6" '
      + 'width="19" height="12" rx="2" fill="none" stroke="currentColor" stroke-width="2"/><circle cx="12" cy="12" '
      + 'r="2.6" fill="currentColor"/></svg>';
    button.addEventListener("click", () => this.openPay());
    const info = $("chat-info"); // in the chat's header, beside group info (hidden in 1:1 chats)
    if (info) info.before(button);

    const box = dialog("pay-dialog", "Send money");
    const form = make("form", { id: "pay-form", class: "pay-form", novalidate: "" },
      make("div", { class: "pay-row" },
        make("div", {}, ...field("pay-amount", "Amount", { inputmode: "decimal", placeholder: "12.50" })),
        make("div", {}, make("label", { for: "pay-currency", text: "Currency" }), make("select", { id: "pay-currency" }))),
      ...field("pay-note", "Note (optional)", { maxlength: "200", placeholder: "Pizza" }),
      make("p", { class: "settings-hint", text: "Payments to people are free." }),
      make("button", { id: "pay-continue", type: "submit", class: "button primary small", text: "Continue" }));
    const pin = make("form", { id: "pay-pin-form", class: "pay-form", novalidate: "", hidden: "" },
      make("p", { id: "pay-summary", class: "pay-summary" }),
      ...field("pay-pin", "Your payment PIN", { type: "password", inputmode: "numeric",
        autocomplete: "current-password" }),
      make("button", { id: "pay-confirm", type: "submit", class: "button primary small", text: "Pay" }));
    box.append(form, pin, make("p", { id: "pay-error", class: "error-message", role: "alert", hidden: "" }));
    form.addEventListener("submit", (event) => this.startPayment(event));
    pin.addEventListener("submit", (event) => this.confirmPayment(event));
  }

  /** The open chat changed: "Send money" is for a 1:1 chat with a person (not a group, not a business). */
  update() {
    const open = this.app.open();
    $("pay-button").hidden = !(open?.id && open.type === "direct" && open.peer && open.peer.kind !== "business");
  }

  async openPay() {
    const open = this.app.open();
    this.pending = null;
    this.payChat = open;
    $("pay-dialog-title").textContent = `Send money to ${open.title || open.peer?.phone || ""}`;
    $("pay-form").hidden = false;
    $("pay-pin-form").hidden = true;
    showError("pay-error", null);
    $("pay-dialog").showModal();
    try {
      await this.refresh();
      currencyOptions($("pay-currency"), this.info.wallets.map((w) => w.currency), this.info.currency);
      $("pay-amount").focus();
    } catch (error) {
      showError("pay-error", error.message);
    }
  }

  async startPayment(event) {
    event.preventDefault();
    showError("pay-error", null);
    const body = { amount: $("pay-amount").value.trim(), currency: $("pay-currency").value,
      note: $("pay-note").value.trim() || null, client_id: newClientId() };
    try {
      this.pending = await payApi("POST", `/chats/${this.payChat.id}/payments`, body, newClientId());
      const pinSet = this.info?.pin_set;
      $("pay-summary").textContent = `${this.pending.amount} ${this.pending.currency} to ${this.pending.payee.name
        || this.pending.payee.phone}` + (pinSet ? "" : ". First choose a payment PIN (4 or 6 digits).");
      $("pay-pin").previousElementSibling.textContent = pinSet ? "Your payment PIN" : "Choose a payment PIN";
      $("pay-form").hidden = true;
      $("pay-pin-form").hidden = false;
      $("pay-pin").focus();
    } catch (error) {
      showError("pay-error", error.message);
    }
  }

  async confirmPayment(event) {
    event.preventDefault();
    showError("pay-error", null);
    const pin = $("pay-pin").value;
    $("pay-confirm").disabled = true;
    try {
      if (!this.info?.pin_set) {
        await payApi("PUT", "/wallet/pin", { pin });
        this.info.pin_set = true;
      }
      await payApi("POST", `/payments/${this.pending.id}/confirm`, { pin });
      $("pay-pin").value = "";
      $("pay-amount").value = "";
      $("pay-note").value = "";
      $("pay-dialog").close();
    } catch (error) {
      showError("pay-error", error.message);
    } finally {
      $("pay-confirm").disabled = false;
    }
  }

  // ---- receipts ---------------------------------------------------------------------------------------

  buildReceipt() {
    const box = dialog("receipt-dialog", "Payment receipt");
    box.append(make("dl", { id: "receipt-body", class: "pay-receipt" }),
      make("p", { id: "receipt-error", class: "error-message", role: "alert", hidden: "" }));
  }

  async showReceipt(paymentId) {
    showError("receipt-error", null);
    $("receipt-body").replaceChildren();
    $("receipt-dialog").showModal();
    try {
      const payment = await payApi("GET", `/payments/${encodeURIComponent(paymentId)}`);
      const r = payment.receipt;
      if (!r) {
        showError("receipt-error", "This payment has not been completed.");
        return;
      }
      const rows = [
        ["Receipt", r.number], ["Amount", `${r.amount} ${r.currency}`], ["Fee", `${r.fee} ${r.currency}`],
        ["From", `${r.from.name} (${r.from.phone})`], ["To", `${r.to.name} (${r.to.phone})`],
        ["Note", r.note], ["Paid", new Date(r.completed_at).toLocaleString()],
      ].filter(([, value]) => value);
      $("receipt-body").replaceChildren(...rows.flatMap(([term, value]) => [make("dt", { text: term }),
        make("dd", { text: value })]));
    } catch (error) {
      showError("receipt-error", error.message);
    }
  }
}

export function initWallet(app) {
  return new Wallet(app);
}
