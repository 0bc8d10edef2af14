// The Billing page: a card top-up (create the payment once per attempt, then confirm it with the card) that
// moves the balance cards without a reload, and the cost preview of a send. Everything shown goes in by
// textContent; the card number goes to the server once and is never kept in the page after.
import { ApiError, call, el } from "/static/console.js";

const API = "/inbox/api/console/billing";

function show(node, text, kind) {
  node.textContent = text;
  node.classList.toggle("ok", kind === "ok");
  node.classList.toggle("failed", kind === "failed");
}

function renderBalance(balance) {
  const fields = { balance: "balance-balance", credit_line: "balance-credit-line", held: "balance-held", available: "balance-available" };
  for (const [key, id] of Object.entries(fields)) {
    const node = document.getElementById(id);
    if (node) node.textContent = balance[key];
  }
}

function parseExpiry(text) {
  const match = /^\s*(\d{1,2})\s*\/\s*(\d{2}|\d{4})\s*$/.exec(text);
  if (!match) return null;
  return { exp_month: Number(match[1]), exp_year: Number(match[2]) };
}

function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

function setUpTopUp() {
  const form = document.getElementById("topup-form");
  if (!form) return;
  const result = document.getElementById("topup-result");
  const submit = document.getElementById("topup-submit");
  // One key per attempt: a double click or a retry after a network error reuses the same payment, so it
  // can never be paid twice; a new key only once the attempt has an answer (paid or declined).
  let attempt = null;
  form.addEventListener("input", (event) => {
    if (event.target.id === "topup-amount") attempt = null;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    const amount = document.getElementById("topup-amount").value.trim();
    const number = document.getElementById("card-number").value;
    const expiry = parseExpiry(document.getElementById("card-expiry").value);
    const cvc = document.getElementById("card-cvc").value.trim();
    if (!expiry) {
      show(result, "Write the expiry as MM/YY, e.g. 12/34.", "failed");
      return;
    }
    if (!attempt || attempt.amount !== amount) attempt = { amount, key: newKey(), payment: null };
    submit.disabled = true;
    show(result, "Paying…", null);
    try {
      if (!attempt.payment) {
        attempt.payment = await call("POST", `${API}/payments`, { amount }, { "Idempotency-Key": attempt.key });
      }
      const done = await call("POST", `${API}/payments/${attempt.payment.id}/confirm`, {
        card: { number, exp_month: expiry.exp_month, exp_year: expiry.exp_year, cvc },
      });
      renderBalance(done.balance);
      const card = done.payment.card ? ` with ${done.payment.card.brand} ending ${done.payment.card.last4}` : "";
      show(result, `Paid ${done.payment.amount} ${done.payment.currency}${card}. Your balance is ${done.balance.balance} ${done.balance.currency}.`, "ok");
      attempt = null;
      document.getElementById("card-number").value = "";
      document.getElementById("card-cvc").value = "";
    } catch (error) {
      const message = error instanceof ApiError ? error.message : "The payment could not be sent. Please try again.";
      show(result, message, "failed");
      if (error instanceof ApiError && (error.code === "card_declined" || error.status === 409)) attempt = null;
    } finally {
      submit.disabled = false;
    }
  });
}

function setUpPreview() {
  const form = document.getElementById("preview-form");
  if (!form) return;
  const result = document.getElementById("preview-result");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const params = new URLSearchParams({ category: document.getElementById("preview-category").value });
    const to = document.getElementById("preview-to").value.trim();
    if (to) params.set("to", to);
    else params.set("market", document.getElementById("preview-market").value);
    result.replaceChildren();
    result.classList.remove("failed");
    try {
      const cost = await call("GET", `${API}/cost-preview?${params}`);
      const facts = [
        `Market: ${cost.market}`,
        `Billed as ${cost.billed_as.replace("_", " ")}${cost.tier ? `, volume tier ${cost.tier}` : ""}`,
        `List rate ${cost.list_rate} ${cost.currency}; ${cost.charged_this_month} charged this month`,
        `Reserved when sent: ${cost.reserved_at_send} ${cost.currency}; charged when delivered`,
      ];
      result.append(
        el("p", { class: "preview-figure", id: "preview-amount" }, `${cost.amount} ${cost.currency}`),
        el("ul", { class: "preview-facts" }, facts.map((text) => el("li", {}, text))),
      );
    } catch (error) {
      result.classList.add("failed");
      result.append(el("p", { id: "preview-error" }, error instanceof ApiError ? error.message : "The price could not be fetched."));
    }
  });
}

setUpTopUp();
setUpPreview();
