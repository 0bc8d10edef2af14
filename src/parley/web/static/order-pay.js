// Orders in the chat: an order_details bubble (items, total, "Review and pay"), its order sheet, paying by card or,
// when the person's Parley Pay wallet covers the total, from the wallet with their payment PIN.
// The order's state comes from the server (GET /client/v1/messages/{id}/order); paying sends an Idempotency-Key
// kept until the payment is answered, so a retry after a lost answer never charges twice.

import { newClientId, session } from "./api.js";
import { el, interactiveCards } from "./render.js";

const BASE = "/client/v1";
const STATUS_WORDS = {
  pending: "Pending", processing: "Processing", partially_shipped: "Partially shipped", shipped: "Shipped",
  completed: "Completed", canceled: "Canceled",
};
const PAYMENT_WORDS = { paid: "Paid", processing: "Payment in progress", failed: "Payment failed", refunded: "Refunded" };

// Orders by message id: one request per order however often the chat is redrawn.
const orders = new Map();

function money(amount, currency) {
  if (!amount) return "";
  const units = amount.value / (amount.offset || 100);
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(units);
  } catch {
    return `${units.toFixed(2)} ${currency}`;
  }
}

async function call(method, path, body, headers = {}) {
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      cache: "no-store",
      headers: { Authorization: `Bearer ${session.token}`, "Content-Type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new Error("Can't reach the server. Check your connection and try again.");
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    /* not JSON */
  }
  if (!response.ok) {
    const error = new Error(data?.error?.message || `The request failed (HTTP ${response.status}).`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function orderOf(messageId, refresh = false) {
  if (refresh || !orders.has(messageId)) {
    const loading = call("GET", `/messages/${encodeURIComponent(messageId)}/order`);
    loading.catch(() => orders.delete(messageId)); // try again at the next redraw
    orders.set(messageId, loading);
  }
  return orders.get(messageId);
}

function stateText(order) {
  const words = [PAYMENT_WORDS[order.payment_status]];
  if (order.status !== "pending") words.push(STATUS_WORDS[order.status] || order.status);
  if (order.payment_status === "unpaid" && order.expired) words.push("Expired");
  return words.filter(Boolean).join(" · ");
}

function orderDetailsCard(message, interactive) {
  const parameters = interactive.action?.parameters || {};
  const items = parameters.order?.items || [];
  const currency = parameters.currency || "";
  const state = el("span", { class: "order-state", attrs: { role: "status" } });
  const card = el("div", { class: "biz-card order-card" },
    el("span", { class: "biz-card-label", text: "Order" }),
    ...items.slice(0, 3).map((item) => el("span", {
      class: "biz-card-detail",
      text: `${item.quantity} × ${item.name}`,
    })),
    items.length > 3 ? el("span", { class: "biz-card-detail", text: `and ${items.length - 3} more` }) : null,
    el("span", { class: "order-total", text: `Total ${money(parameters.total_amount, currency)}` }),
    state);
  if (!message.id) return card;
  const review = el("button", {
    class: "biz-button order-review",
    text: "Review and pay",
    attrs: { type: "button" },
    on: { click: () => openSheet(message.id, review) },
  });
  card.append(review);
  orderOf(message.id).then((order) => {
    state.textContent = stateText(order);
    if (!order.payable) review.textContent = "View order";
  }, () => {});
  return card;
}

function orderStatusCard(message, interactive) {
  const order = interactive.action?.parameters?.order || {};
  const status = (order.status || "").replace("-", "_");
  return el("div", { class: "biz-card order-card" },
    el("span", { class: "biz-card-label", text: "Order update" }),
    el("span", { class: "order-total", text: STATUS_WORDS[status] || status }),
    order.description ? el("span", { class: "biz-card-detail", text: order.description }) : null);
}

function line(label, amount, currency, strong = false) {
  return el("div", { class: strong ? "order-line order-line-total" : "order-line" },
    el("span", { text: label }), el("span", { text: money(amount, currency) }));
}

function field(id, label, props) {
  return el("div", { class: "order-field" },
    el("label", { attrs: { for: id }, text: label }),
    el("input", { attrs: { id, name: id, required: "required", ...props } }));
}

async function openSheet(messageId, opener) {
  const title = el("h2", { class: "dialog-title", attrs: { id: "order-sheet-title" }, text: "Your order" });
  const content = el("div", { class: "order-sheet-content" }, el("p", { class: "dialog-text", text: "Loading…" }));
  const close = el("button", { class: "button ghost-dark", text: "Close", attrs: { type: "button" } });
  const dialog = el("dialog", { class: "dialog order-sheet", attrs: { "aria-labelledby": "order-sheet-title" } },
    title, content, el("div", { class: "dialog-buttons" }, close));
  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (opener?.isConnected) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  try {
    fillSheet(content, await orderOf(messageId, true), messageId, opener);
  } catch (error) {
    content.replaceChildren(el("p", { class: "dialog-error", attrs: { role: "alert" }, text: error.message }));
  }
}

function fillSheet(content, order, messageId, opener) {
  const cur = order.currency;
  const items = el("ul", { class: "order-items" }, ...order.items.map((item) => el("li", { class: "order-line" },
    el("span", { text: `${item.quantity} × ${item.name}` }),
    el("span", { text: money({ value: (item.sale_amount || item.amount).value * item.quantity, offset: 100 }, cur) }))));
  const parts = [
    el("p", { class: "order-reference", text: `Order ${order.reference_id}` }),
    order.items.length ? items : null,
    order.subtotal ? line("Subtotal", order.subtotal, cur) : null,
    order.tax && order.tax.value ? line("Tax", order.tax, cur) : null,
    order.shipping && order.shipping.value ? line("Shipping", order.shipping, cur) : null,
    order.discount && order.discount.value ? line("Discount", { ...order.discount, value: -order.discount.value }, cur) : null,
    line("Total", order.total, cur, true),
    el("p", { class: "order-sheet-state", attrs: { role: "status" }, text: stateText(order) || "Not paid yet" }),
  ];
  if (order.status_description) parts.push(el("p", { class: "dialog-text", text: order.status_description }));
  if (order.payable) parts.push(payForm(order, messageId, content, opener));
  else if (order.payment_status === "unpaid" && order.expired) {
    parts.push(el("p", { class: "dialog-text", text: "This order has expired. Ask the business for a new one." }));
  }
  content.replaceChildren(...parts.filter(Boolean));
}

// "12.34" (the wallet's balance in currency units) and {value, offset} (the order's) both in micro-units, exactly.
function micros(units) {
  const [whole, fraction = ""] = String(units).split(".");
  return Number(whole) * 1_000_000 + Number(fraction.padEnd(6, "0").slice(0, 6));
}

// The wallet in the order's currency when it covers the total, and whether a payment PIN is set; null otherwise.
async function coveringWallet(order) {
  const info = await call("GET", "/wallet");
  const wallet = (info?.wallets || []).find((w) => w.currency === order.currency);
  const total = Math.round((order.total.value * 1_000_000) / (order.total.offset || 100));
  if (!wallet || micros(wallet.balance) < total) return null;
  return { balance: wallet.balance, pinSet: Boolean(info.pin_set) };
}

function choice(id, label, checked) {
  const input = el("input", { attrs: { type: "radio", id, name: "order-pay-method", value: id.replace("order-method-", "") } });
  input.checked = checked;
  return el("div", { class: "order-method" }, input, el("label", { attrs: { for: id }, text: label }));
}

function payForm(order, messageId, content, opener) {
  const error = el("p", { class: "dialog-error", attrs: { role: "alert" } });
  const pay = el("button", {
    class: "button primary order-pay",
    text: `Pay ${money(order.total, order.currency)}`,
    attrs: { type: "submit" },
  });
  const cardTitle = el("p", { class: "dialog-text", text: "Pay by card" });
  const cardFields = el("div", { class: "order-card-fields" },
    field("order-card-number", "Card number", { inputmode: "numeric", autocomplete: "cc-number", placeholder: "4242 4242 4242 4242" }),
    el("div", { class: "order-field-row" },
      field("order-card-expiry", "Expiry (MM/YY)", { inputmode: "numeric", autocomplete: "cc-exp", placeholder: "12/30" }),
      field("order-card-cvc", "CVC", { inputmode: "numeric", autocomplete: "cc-csc", placeholder: "123" })));
  const pinField = field("order-pin", "Your payment PIN", { type: "password", inputmode: "numeric", autocomplete: "off", maxlength: "6" });
  pinField.hidden = true;
  const form = el("form", { class: "order-pay-form", attrs: { novalidate: "novalidate" } },
    cardTitle, cardFields, pinField, error, pay);
  let key = null; // kept across retries of one payment; a new one after the server answered
  let wallet = null; // set when the wallet covers the order

  const fromWallet = () => Boolean(wallet) && form.querySelector("#order-method-wallet")?.checked;
  const showMethod = () => {
    const useWallet = fromWallet();
    cardFields.hidden = useWallet;
    pinField.hidden = !useWallet;
    key = null; // another method is another payment
    error.textContent = "";
  };
  coveringWallet(order).then((found) => {
    if (!found || !form.isConnected) return;
    wallet = found;
    const methods = el("fieldset", { class: "order-methods" },
      el("legend", { text: "Pay with" }),
      choice("order-method-card", "Card", true),
      choice("order-method-wallet", `Pay from wallet (balance ${money({ value: micros(found.balance), offset: 1_000_000 }, order.currency)})`, false));
    methods.addEventListener("change", showMethod);
    cardTitle.replaceWith(methods);
    if (!found.pinSet) pinField.querySelector("label").textContent = "Choose a payment PIN (4 or 6 digits)";
  }, () => {}); // no wallet to offer: the card still works

  const paid = (order) => {
    orders.set(messageId, Promise.resolve(order));
    fillSheet(content, order, messageId, opener);
    const bubbleState = opener?.closest(".order-card")?.querySelector(".order-state");
    if (bubbleState) bubbleState.textContent = stateText(order);
    if (opener?.isConnected) opener.textContent = "View order";
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = (id) => form.querySelector(`#${id}`).value.trim();
    let body;
    if (fromWallet()) {
      if (!/^(\d{4}|\d{6})$/.test(value("order-pin"))) {
        error.textContent = "Enter your payment PIN (4 or 6 digits).";
        return;
      }
      body = { method: "wallet", pin: value("order-pin") };
    } else {
      const [month, year] = value("order-card-expiry").split("/").map((part) => Number.parseInt(part, 10));
      if (!value("order-card-number") || !month || !year || !value("order-card-cvc")) {
        error.textContent = "Fill in the card number, its expiry (MM/YY) and its security code.";
        return;
      }
      body = { method: "card", card: { number: value("order-card-number"), exp_month: month, exp_year: year, cvc: value("order-card-cvc") } };
    }
    key = key || newClientId();
    pay.disabled = true;
    error.textContent = "";
    try {
      if (body.method === "wallet" && !wallet.pinSet) {
        await call("PUT", "/wallet/pin", { pin: body.pin }); // the PIN chosen here is the wallet's from now on
        wallet.pinSet = true;
      }
      paid(await call("POST", `/orders/${order.id}/pay`, body, { "Idempotency-Key": key }));
    } catch (failure) {
      if (failure.status) key = null; // answered (declined, wrong PIN, expired …): the next try is a new payment
      error.textContent = failure.message;
      pay.disabled = false;
    }
  });
  return form;
}

interactiveCards.order_details = orderDetailsCard;
interactiveCards.order_status = orderStatusCard;
