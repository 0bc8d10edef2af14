// A person's order (a cart sent to a business), drawn the same in the person's chat and in the team inbox.
// The card carries the order as data attributes so other tools (the inbox's "request payment") can read it.

import { el } from "./render.js";

/** An amount in micros of `currency` as the reader's locale writes money. */
export function formatMoney(micros, currency) {
  const value = Number(micros) / 1_000_000;
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "USD" }).format(value);
  } catch {
    return `${value.toFixed(2)} ${currency || ""}`.trim();
  }
}

function itemCount(order) {
  return (order.product_items || []).reduce((sum, item) => sum + (Number(item.quantity) || 0), 0);
}

function countLabel(count) {
  return `${count} item${count === 1 ? "" : "s"}`;
}

export function orderPreview(order) {
  return `Order · ${countLabel(itemCount(order))}`;
}

/** The order's bubble body: its lines (quantity, title, unit price), its total, and the note sent with it. */
export function orderBody(order) {
  const items = order.product_items || [];
  const count = itemCount(order);
  const lines = items.map((item) => el("li", { class: "order-line", dataset: { retailerId: item.product_retailer_id } },
    el("span", { class: "order-line-qty", text: `${item.quantity} ×` }),
    el("span", { class: "order-line-title", text: item.title || item.product_retailer_id }),
    el("span", { class: "order-line-price", text: formatMoney(item.item_price, item.currency || order.currency) })));
  const card = el("div", {
    class: "biz-card order-card",
    dataset: {
      orderCatalogId: order.catalog_id,
      orderTotal: String(order.total),
      orderCurrency: order.currency,
      orderItems: JSON.stringify(items.map((item) => ({
        retailer_id: item.product_retailer_id, quantity: item.quantity, item_price: item.item_price,
      }))),
    },
  },
  el("span", { class: "biz-card-label order-title" }, "Order", el("span", { class: "order-count", text: countLabel(count) })),
  el("ul", { class: "order-lines", attrs: { "aria-label": "Items" } }, ...lines),
  el("div", { class: "order-total" }, el("span", { text: "Total" }),
    el("strong", { class: "order-total-amount", text: formatMoney(order.total, order.currency) })));
  return [card, order.text ? el("div", { class: "text order-note", text: order.text }) : null].filter(Boolean);
}
