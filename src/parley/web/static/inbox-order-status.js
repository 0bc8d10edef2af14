// The team inbox's "Order status" action: on an order the business sent (its order_details card), an agent tells
// the person how it goes on (processing, shipped, completed, canceled, with an optional note) as Meta's
// order_status message, through the inbox's send path. Meta's refusals (a final order, canceling a paid one)
// come back as the server's message and are shown in the dialog. inbox.js calls decorate for each message drawn.
// Data goes into the DOM through textContent only (render.js's el).

import { el } from "./render.js";

const STATUSES = [["processing", "Processing"], ["shipped", "Shipped"], ["completed", "Completed"], ["canceled", "Canceled"]];

/** The reference id of an order_details message the business sent, or null. */
function referenceOf(message) {
  const interactive = message && !message.deleted && message.direction === "out" ? message.business?.interactive : null;
  if (interactive?.type !== "order_details") return null;
  return interactive.action?.parameters?.reference_id || null;
}

export class InboxOrderStatus {
  /** @param {{call: Function, newKey: () => string, open: () => object|null, refresh: () => Promise<void>}} inbox */
  constructor(inbox) {
    this.inbox = inbox;
    this.build();
  }

  build() {
    const titleId = "order-status-title";
    this.dialog = el("dialog", { class: "start-dialog commerce-dialog order-status-dialog",
      attrs: { id: "order-status-dialog", "aria-labelledby": titleId } });
    this.title = el("h2", { text: "Order status", attrs: { id: titleId } });
    const close = el("button", { class: "icon-button", text: "×", attrs: { type: "button", "aria-label": "Close" },
      on: { click: () => this.dialog.close() } });
    this.status = el("select", { attrs: { id: "order-status-value" } },
      ...STATUSES.map(([value, text]) => el("option", { text, attrs: { value } })));
    this.description = el("input", { attrs: { id: "order-status-description", type: "text", maxlength: "120",
      autocomplete: "off", placeholder: "e.g. Tracking code BR123" } });
    this.error = el("p", { class: "error-message", attrs: { role: "alert", hidden: "" } });
    this.send = el("button", { class: "button primary", text: "Send status", attrs: { type: "submit" } });
    const form = el("form", { class: "start-form commerce-form", attrs: { novalidate: "" } },
      el("div", { class: "start-head" }, this.title, close),
      el("div", { class: "commerce-grid" },
        el("div", { class: "commerce-field" }, el("label", { text: "Status", attrs: { for: "order-status-value" } }), this.status),
        el("div", { class: "commerce-field" },
          el("label", { text: "Description (optional)", attrs: { for: "order-status-description" } }), this.description)),
      this.error,
      el("div", { class: "start-actions" },
        el("button", { class: "button outline", text: "Cancel", attrs: { type: "button" }, on: { click: () => this.dialog.close() } }),
        this.send));
    form.addEventListener("input", () => { this.key = this.inbox.newKey(); }); // a changed request is a new one
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.dialog.append(form);
    document.body.append(this.dialog);
  }

  /** A message was drawn: the business's order_details card gets an "Order status" button. */
  decorate(node, message) {
    const reference = referenceOf(message);
    const card = node.querySelector(".card-order_details");
    if (!reference || !card) return;
    card.append(el("div", { class: "order-actions" },
      el("button", { class: "button outline small order-status-open", text: "Order status",
        attrs: { type: "button", "aria-haspopup": "dialog", "aria-label": `Order status of ${reference}` },
        on: { click: () => this.openFor(reference) } })));
  }

  openFor(reference) {
    this.reference = reference;
    this.key = this.inbox.newKey(); // one status message however often Send is pressed
    this.title.textContent = `Order status · ${reference}`;
    this.status.value = "processing";
    this.description.value = "";
    this.showError(null);
    this.dialog.showModal();
    this.status.focus();
  }

  async submit() {
    const open = this.inbox.open();
    if (!open || this.send.disabled) return;
    const body = { reference_id: this.reference, status: this.status.value,
      description: this.description.value.trim() || undefined };
    this.send.disabled = true;
    try {
      await this.inbox.call("POST", `/conversations/${open.id}/order-status`, body, { "Idempotency-Key": this.key });
    } catch (failure) {
      this.showError(failure.message);
      return;
    } finally {
      this.send.disabled = false;
    }
    this.dialog.close();
    await this.inbox.refresh();
  }

  showError(message) {
    this.error.textContent = message || "";
    this.error.hidden = !message;
  }
}
