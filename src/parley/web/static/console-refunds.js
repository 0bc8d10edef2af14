// The Payments page's refunds: "Refund" on a paid order opens a dialog to refund one of its lines or a typed
// amount; one Idempotency-Key per opened dialog, so a double click or a retry refunds once. The page reloads
// after a refund so the order's row and the statement show it. Data goes in through textContent only.
import { call, el } from "/static/console.js";

const API = "/inbox/api/console/payments";

function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

function buildDialog() {
  const title = el("h2", { id: "refund-title" });
  const choices = el("fieldset", { class: "refund-choices" }, el("legend", {}, "What to refund"));
  const amount = el("input", { id: "refund-amount", type: "text", inputMode: "decimal", autocomplete: "off", placeholder: "0.00" });
  const error = el("p", { class: "error-text", role: "alert", hidden: true });
  const submit = el("button", { class: "button primary small", type: "submit" }, "Refund");
  const cancel = el("button", { class: "button outline small", type: "button", value: "cancel" }, "Cancel");
  const form = el("form", { class: "refund-form", method: "dialog" }, title, choices,
    el("div", { class: "refund-amount" }, el("label", { for: "refund-amount" }, "Amount"), amount), error,
    el("div", { class: "refund-actions" }, cancel, submit));
  const dialog = el("dialog", { class: "tpl-dialog refund-dialog", id: "refund-dialog", "aria-labelledby": "refund-title" }, form);
  cancel.addEventListener("click", () => dialog.close());
  document.body.append(dialog);
  return { dialog, form, title, choices, amount, error, submit };
}

function setUp() {
  const table = document.getElementById("orders-table");
  if (!table) return;
  const ui = buildDialog();
  let current = null;

  const choose = (value) => {
    ui.amount.disabled = value !== "amount";
    if (value === "amount") ui.amount.focus();
  };

  table.addEventListener("click", (event) => {
    const button = event.target.closest(".refund-open");
    if (!button) return;
    const row = button.closest("tr");
    current = { id: row.dataset.order, key: newKey(), currency: row.dataset.currency };
    ui.title.textContent = `Refund order ${row.dataset.reference}`;
    const lines = JSON.parse(row.dataset.lines || "[]").filter((line) => line.retailer_id);
    const radios = lines.map((line, index) => {
      const id = `refund-line-${index}`;
      const input = el("input", { type: "radio", name: "refund-what", id, value: `line:${line.retailer_id}` });
      input.checked = index === 0;
      return el("div", { class: "refund-choice" }, input,
        el("label", { for: id }, `${line.quantity} × ${line.name}: ${line.amount} ${current.currency}`));
    });
    const other = el("input", { type: "radio", name: "refund-what", id: "refund-other", value: "amount" });
    other.checked = radios.length === 0;
    ui.choices.replaceChildren(el("legend", {}, `What to refund (at most ${row.dataset.refundable} ${current.currency})`),
      ...radios, el("div", { class: "refund-choice" }, other, el("label", { for: "refund-other" }, "Another amount")));
    ui.amount.value = "";
    ui.error.hidden = true;
    choose(other.checked ? "amount" : "line");
    ui.dialog.showModal();
  });

  ui.choices.addEventListener("change", (event) => choose(event.target.value === "amount" ? "amount" : "line"));

  ui.form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!current || ui.submit.disabled) return;
    const what = ui.form.querySelector('input[name="refund-what"]:checked')?.value || "amount";
    const body = what.startsWith("line:") ? { retailer_id: what.slice(5) } : { amount: ui.amount.value.trim() };
    ui.submit.disabled = true;
    ui.error.hidden = true;
    try {
      await call("POST", `${API}/orders/${encodeURIComponent(current.id)}/refunds`, body, { "Idempotency-Key": current.key });
    } catch (failure) {
      ui.error.textContent = failure.message;
      ui.error.hidden = false;
      ui.submit.disabled = false;
      return;
    }
    window.location.reload();
  });
}

setUp();
