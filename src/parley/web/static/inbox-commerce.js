// The inbox sells: the catalog panel (browse, search, send one product, a product list or the catalog), the
// payment request form (from a person's order or for a free amount) and the CSV catalog import in Settings.
// inbox.js gives it what it needs and calls three hooks: render (the composer changed), decorate (a message
// was drawn: the order card order-card.js drew for a person's order gets a "Request payment" button) and
// loadImport (the Catalog settings section opened).
// Data goes into the DOM through textContent only (render.js's el).

import { el } from "./render.js";

const $ = (id) => document.getElementById(id);
const MAX_LIST = 30; // Meta's cap on a product_list message
const PAGE = 24;
const MAX_FILE = 5 * 1024 * 1024;
const EXPIRIES = [["", "Never"], ["15", "15 minutes"], ["60", "1 hour"], ["1440", "1 day"], ["4320", "3 days"]];

const PAYMENT_CURRENCIES = ["BRL", "INR"]; // the only currencies Meta's order_details (payments in the chat) runs in

/** The order a person's message carries (render.py's `business.order`: catalog_id, text, currency, total and
 * product_items, amounts in micros), or null. */
function orderOf(message) {
  const order = message && !message.deleted ? message.business?.order : null;
  return order && Array.isArray(order.product_items) && order.product_items.length ? order : null;
}

/** Micros (an integer or its digits) as a plain decimal with 2 places: 12000000 -> "12.00"; "" when the amount is
 * not whole cents (Meta's offset 100 cannot carry it, so the agent types it). BigInt keeps it exact. */
function centsText(micros) {
  const digits = String(micros ?? "");
  if (!/^\d+$/.test(digits)) return "";
  const value = BigInt(digits);
  if (value % 10_000n) return "";
  const hundredths = value / 10_000n;
  return `${hundredths / 100n}.${String(hundredths % 100n).padStart(2, "0")}`;
}

/** "12.5" -> 1250 hundredths; NaN for anything that is not a plain decimal with at most 2 places. */
function cents(text) {
  const value = String(text ?? "").trim();
  if (!/^\d+(\.\d{1,2})?$/.test(value)) return NaN;
  const [whole, fraction = ""] = value.split(".");
  return Number(whole) * 100 + Number(fraction.padEnd(2, "0"));
}

const money = (hundredths, currency) => `${(hundredths / 100).toFixed(2)} ${currency}`;

function field(id, label, input) {
  input.id = id;
  return el("div", { class: "commerce-field" }, el("label", { text: label, attrs: { for: id } }), input);
}

function dialogShell(id, title) {
  const titleId = `${id}-title`;
  const dialog = el("dialog", { class: "start-dialog commerce-dialog", attrs: { id, "aria-labelledby": titleId } });
  const close = el("button", { class: "icon-button", text: "×", attrs: { type: "button", "aria-label": "Close" },
    on: { click: () => dialog.close() } });
  const form = el("form", { class: "start-form commerce-form", attrs: { novalidate: "" } },
    el("div", { class: "start-head" }, el("h2", { text: title, attrs: { id: titleId } }), close));
  dialog.append(form);
  document.body.append(dialog);
  return { dialog, form };
}

export class InboxCommerce {
  /**
   * @param {{call: Function, newKey: () => string, csrf: () => string, open: () => object|null,
   *          refresh: () => Promise<void>}} inbox
   */
  constructor(inbox) {
    this.inbox = inbox;
    this.products = [];
    this.chosen = new Map(); // retailer id -> product, in the order picked
    this.next = null;
    this.catalog = null;
    this.searchSeq = 0;
    this.buildCatalogDialog();
    this.buildPaymentDialog();
    $("open-catalog")?.addEventListener("click", () => this.openCatalog());
    $("open-payment")?.addEventListener("click", () => this.openPayment(null));
  }

  // ---- hooks called by inbox.js ----------------------------------------------------------------

  /** The composer was drawn: products and payment requests go out only inside the 24-hour window. */
  render(conversation) {
    const open = Boolean(conversation?.window?.open);
    for (const id of ["open-catalog", "open-payment"]) {
      const button = $(id);
      if (!button) continue;
      button.disabled = !open;
      button.title = open ? "" : "The 24-hour window is closed: only templates can be sent";
    }
  }

  /** A message was drawn: the card of a person's order (order-card.js) gets a "Request payment" button when
   * the order is in a currency payments in the chat take. */
  decorate(node, message) {
    const order = orderOf(message);
    const card = node.querySelector(".order-card");
    if (!order || !card || message.direction === "out" || !PAYMENT_CURRENCIES.includes(order.currency)) return;
    card.append(el("div", { class: "order-actions" },
      el("button", { class: "button primary small order-request-payment", text: "Request payment",
        attrs: { type: "button", "aria-haspopup": "dialog" }, on: { click: () => this.openPayment(order) } })));
  }

  // ---- the catalog panel -----------------------------------------------------------------------

  buildCatalogDialog() {
    const { dialog, form } = dialogShell("catalog-dialog", "Send from the catalog");
    this.catalogDialog = dialog;
    const search = el("input", { attrs: { type: "search", placeholder: "Search by name, id or brand", autocomplete: "off" } });
    search.addEventListener("input", () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.loadProducts(false), 250);
    });
    this.searchInput = search;
    this.productList = el("ul", { class: "catalog-products", attrs: { "aria-label": "Products" } });
    this.catalogEmpty = el("p", { class: "hint", attrs: { hidden: "" } });
    this.moreButton = el("button", { class: "load-more", text: "More products", attrs: { type: "button", hidden: "" },
      on: { click: () => this.loadProducts(true) } });
    this.chosenText = el("p", { class: "catalog-chosen", attrs: { "aria-live": "polite" } });
    this.listHeader = el("input", { attrs: { type: "text", maxlength: "60", placeholder: "Our products" } });
    this.listBody = el("textarea", { attrs: { rows: "2", maxlength: "1024", placeholder: "A message with the products (optional)" } });
    this.listHeaderField = field("catalog-header", "List title", this.listHeader);
    this.catalogError = el("p", { class: "error-message", attrs: { role: "alert", hidden: "" } });
    this.sendChosen = el("button", { class: "button primary", text: "Send product", attrs: { type: "submit", disabled: "" } });
    const sendCatalog = el("button", { class: "button outline", text: "Send whole catalog", attrs: { type: "button" },
      on: { click: () => this.sendProducts({ type: "catalog_message", body: this.listBody.value.trim() || undefined }) } });
    this.sendCatalogButton = sendCatalog;
    form.append(field("catalog-search", "Search the catalog", search), this.productList, this.catalogEmpty, this.moreButton,
      this.chosenText, this.listHeaderField, field("catalog-body", "Message", this.listBody), this.catalogError,
      el("div", { class: "start-actions" }, sendCatalog, this.sendChosen));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const ids = [...this.chosen.keys()];
      if (!ids.length) return;
      const body = { retailer_ids: ids, body: this.listBody.value.trim() || undefined };
      if (ids.length > 1) body.header = this.listHeader.value.trim() || undefined;
      this.sendProducts(body);
    });
  }

  async openCatalog() {
    this.chosen.clear();
    this.searchInput.value = "";
    this.listBody.value = "";
    this.listHeader.value = "";
    this.showError(this.catalogError, null);
    this.renderChosen();
    this.catalogDialog.showModal();
    await this.loadProducts(false);
    this.searchInput.focus();
  }

  async loadProducts(more) {
    const seq = ++this.searchSeq;
    const params = new URLSearchParams({ limit: String(PAGE) });
    const q = this.searchInput.value.trim();
    if (q) params.set("q", q);
    if (more && this.next) params.set("cursor", this.next);
    let page;
    try {
      page = await this.inbox.call("GET", `/catalog/products?${params}`);
    } catch (error) {
      this.showError(this.catalogError, error.message);
      return;
    }
    if (seq !== this.searchSeq) return; // a newer search overtook this one
    this.catalog = page.catalog;
    this.products = more ? [...this.products, ...page.data] : page.data;
    this.next = page.paging.next;
    this.renderProducts();
  }

  renderProducts() {
    this.productList.replaceChildren(...this.products.map((product) => this.productRow(product)));
    this.moreButton.hidden = !this.next;
    this.sendCatalogButton.disabled = !this.catalog;
    this.catalogEmpty.hidden = this.products.length > 0;
    this.catalogEmpty.textContent = !this.catalog
      ? "This business has no catalog yet. An owner or admin imports one in Settings → Catalog."
      : this.searchInput.value.trim() ? "No product matches." : "The catalog has no active products.";
  }

  productRow(product) {
    const id = `catalog-pick-${product.id}`;
    const box = el("input", { attrs: { type: "checkbox", id }, dataset: { retailerId: product.retailer_id } });
    box.checked = this.chosen.has(product.retailer_id);
    box.addEventListener("change", () => {
      if (box.checked && this.chosen.size >= MAX_LIST) {
        box.checked = false;
        this.showError(this.catalogError, `A product list holds at most ${MAX_LIST} products.`);
        return;
      }
      if (box.checked) this.chosen.set(product.retailer_id, product);
      else this.chosen.delete(product.retailer_id);
      this.renderChosen();
    });
    // Only images stored here: the page's Content-Security-Policy (img-src 'self') refuses other sites' images.
    const image = product.image?.startsWith("/")
      ? el("img", { class: "catalog-image", attrs: { src: product.image, alt: "", loading: "lazy", width: "48", height: "48" } })
      : el("span", { class: "catalog-image placeholder", text: (product.title || "?")[0].toUpperCase(), attrs: { "aria-hidden": "true" } });
    const price = product.on_sale
      ? el("span", { class: "catalog-price" }, el("s", { text: product.price }), " ", el("strong", { text: product.unit_price }))
      : el("span", { class: "catalog-price", text: product.price });
    const availability = el("span", { class: `catalog-availability${product.orderable ? "" : " unavailable"}`,
      text: product.orderable ? product.availability : product.availability === "in stock" ? "sold out" : product.availability });
    return el("li", { class: "catalog-product", dataset: { retailerId: product.retailer_id } },
      box,
      el("label", { class: "catalog-product-label", attrs: { for: id } },
        image,
        el("span", { class: "catalog-product-text" },
          el("span", { class: "catalog-title", text: product.title }),
          el("span", { class: "catalog-meta" }, price, " · ", availability, " · ",
            el("span", { class: "catalog-sku", text: product.retailer_id })))));
  }

  renderChosen() {
    const count = this.chosen.size;
    this.chosenText.textContent = count === 0 ? "Pick one product, or several for a list."
      : count === 1 ? "1 product chosen: sent as a product message." : `${count} products chosen: sent as a product list.`;
    this.sendChosen.disabled = count === 0;
    this.sendChosen.textContent = count > 1 ? `Send list of ${count}` : "Send product";
    this.listHeaderField.hidden = count < 2;
    this.showError(this.catalogError, null);
  }

  async sendProducts(body) {
    const open = this.inbox.open();
    if (!open) return;
    try {
      await this.inbox.call("POST", `/conversations/${open.id}/products`, body, { "Idempotency-Key": this.inbox.newKey() });
    } catch (error) {
      this.showError(this.catalogError, error.message);
      return;
    }
    this.catalogDialog.close();
    await this.inbox.refresh();
  }

  // ---- payment requests ------------------------------------------------------------------------

  buildPaymentDialog() {
    const { dialog, form } = dialogShell("payment-dialog", "Request payment");
    this.paymentDialog = dialog;
    this.paymentForm = form;
    const input = (attrs) => el("input", { attrs: { type: "text", autocomplete: "off", ...attrs } });
    this.payItems = el("ul", { class: "payment-items", attrs: { "aria-label": "Order lines" } });
    this.payAmount = input({ inputmode: "decimal", placeholder: "0.00" });
    this.payDescription = input({ maxlength: "60", placeholder: "What it is for" });
    this.freeFields = el("div", { class: "commerce-grid" },
      field("payment-amount", "Amount", this.payAmount), field("payment-description", "Description", this.payDescription));
    this.payCurrency = el("select", {}, ...["BRL", "INR"].map((c) => el("option", { text: c, attrs: { value: c } })));
    this.payTax = input({ inputmode: "decimal", placeholder: "0.00" });
    this.payShipping = input({ inputmode: "decimal", placeholder: "0.00" });
    this.payDiscount = input({ inputmode: "decimal", placeholder: "0.00" });
    this.payMethod = el("select", {},
      el("option", { text: "Payment link", attrs: { value: "payment_link" } }),
      el("option", { text: "Pix code (Brazil)", attrs: { value: "pix_dynamic_code" } }));
    this.payLink = input({ type: "url", placeholder: "https://…", maxlength: "2048" });
    this.pixCode = input({ maxlength: "512" });
    this.pixMerchant = input({ maxlength: "100" });
    this.pixKey = input({ maxlength: "100" });
    this.pixKeyType = el("select", {}, ...["CPF", "CNPJ", "EMAIL", "PHONE", "EVP"].map((k) => el("option", { text: k, attrs: { value: k } })));
    this.linkFields = el("div", { class: "commerce-grid single" }, field("payment-link", "Payment link", this.payLink));
    this.pixFields = el("div", { class: "commerce-grid" }, field("pix-code", "Pix code (copia e cola)", this.pixCode),
      field("pix-merchant", "Account holder", this.pixMerchant), field("pix-key", "Pix key", this.pixKey),
      field("pix-key-type", "Key type", this.pixKeyType));
    this.payExpiry = el("select", {}, ...EXPIRIES.map(([value, text]) => el("option", { text, attrs: { value } })));
    this.expiryField = field("payment-expiry", "Expires", this.payExpiry);
    this.payTotal = el("p", { class: "payment-total", attrs: { "aria-live": "polite" } });
    this.payError = el("p", { class: "error-message", attrs: { role: "alert", hidden: "" } });
    this.paySend = el("button", { class: "button primary", text: "Send payment request", attrs: { type: "submit" } });
    form.append(this.payItems, this.freeFields,
      el("div", { class: "commerce-grid" },
        field("payment-currency", "Currency", this.payCurrency), field("payment-tax", "Tax", this.payTax),
        field("payment-shipping", "Shipping", this.payShipping), field("payment-discount", "Discount", this.payDiscount),
        field("payment-method", "Paid by", this.payMethod), this.expiryField),
      this.linkFields, this.pixFields, this.payTotal, this.payError,
      el("div", { class: "start-actions" },
        el("button", { class: "button outline", text: "Cancel", attrs: { type: "button" }, on: { click: () => dialog.close() } }),
        this.paySend));
    form.addEventListener("input", () => this.renderPayment());
    form.addEventListener("change", () => this.renderPayment());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendPayment();
    });
  }

  async openPayment(order) {
    this.order = order;
    this.payKey = this.inbox.newKey(); // one request however often Send is pressed
    for (const box of [this.payAmount, this.payDescription, this.payTax, this.payShipping, this.payDiscount, this.payLink,
      this.pixCode, this.pixMerchant, this.pixKey]) box.value = "";
    this.payExpiry.value = "";
    this.payMethod.value = "payment_link";
    const lines = order ? order.product_items : [];
    let currency = order?.currency;
    if (!currency) {
      try {
        currency = (await this.inbox.call("GET", "/catalog/products?limit=1")).data[0]?.currency;
      } catch {
        currency = null;
      }
    }
    if (PAYMENT_CURRENCIES.includes(currency)) this.payCurrency.value = currency;
    this.payItems.replaceChildren(...lines.map((item, index) => this.itemRow(item, index)));
    this.payItems.hidden = lines.length === 0;
    this.freeFields.hidden = lines.length > 0;
    this.showError(this.payError, null);
    this.renderPayment();
    this.paymentDialog.showModal();
    (lines.length ? this.payTax : this.payAmount).focus();
  }

  itemRow(item, index) {
    const quantity = el("input", { class: "payment-quantity", attrs: { type: "number", min: "1", max: "999", step: "1",
      value: String(item.quantity || 1), id: `payment-qty-${index}` }, dataset: { retailerId: item.product_retailer_id } });
    const amount = el("input", { class: "payment-amount-item", attrs: { type: "text", inputmode: "decimal",
      value: centsText(item.item_price), id: `payment-price-${index}` } });
    return el("li", { class: "payment-item", dataset: { retailerId: item.product_retailer_id } },
      el("span", { class: "payment-item-name", text: item.title || item.product_retailer_id }),
      el("span", { class: "payment-item-inputs" },
        el("label", { text: "Qty", attrs: { for: quantity.id } }), quantity,
        el("label", { text: "Unit price", attrs: { for: amount.id } }), amount));
  }

  paymentItems() {
    return [...this.payItems.querySelectorAll(".payment-item")].map((row) => ({
      retailer_id: row.dataset.retailerId,
      quantity: Number(row.querySelector(".payment-quantity").value),
      amount: row.querySelector(".payment-amount-item").value.trim(),
    }));
  }

  /** The total as the server will compute it (subtotal + tax + shipping − discount), or a reason it cannot be. */
  paymentTotal() {
    const items = this.order ? this.paymentItems() : [];
    let subtotal = 0;
    if (items.length) {
      for (const item of items) {
        const unit = cents(item.amount);
        if (Number.isNaN(unit) || !Number.isInteger(item.quantity) || item.quantity < 1) return { error: "Check each line's quantity and unit price." };
        subtotal += unit * item.quantity;
      }
    } else {
      subtotal = cents(this.payAmount.value);
      if (Number.isNaN(subtotal)) return { error: "Enter the amount, like 25.00." };
    }
    const extra = [this.payTax, this.payShipping, this.payDiscount].map((box) => (box.value.trim() ? cents(box.value) : 0));
    if (extra.some(Number.isNaN)) return { error: "Tax, shipping and discount are amounts like 2.50." };
    const total = subtotal + extra[0] + extra[1] - extra[2];
    return total > 0 ? { total } : { error: "The total must be above zero." };
  }

  renderPayment() {
    const pix = this.payMethod.value === "pix_dynamic_code";
    const brl = this.payCurrency.value === "BRL";
    if (pix && !brl) this.payMethod.value = "payment_link";
    this.payMethod.querySelector('option[value="pix_dynamic_code"]').disabled = !brl;
    this.linkFields.hidden = this.payMethod.value !== "payment_link";
    this.pixFields.hidden = this.payMethod.value !== "pix_dynamic_code";
    // Meta's simplified Brazilian request (a free amount, no order lines) cannot expire.
    this.expiryField.hidden = brl && !this.order;
    const { total, error } = this.paymentTotal();
    this.payTotal.textContent = error || `Total ${money(total, this.payCurrency.value)}`;
    // A hint until something is typed; a problem (in red) once the agent has entered an amount.
    const untouched = !this.order && !this.payAmount.value.trim();
    this.payTotal.classList.toggle("invalid", Boolean(error) && !untouched);
  }

  async sendPayment() {
    const open = this.inbox.open();
    if (!open) return;
    const { error } = this.paymentTotal();
    if (error) {
      this.showError(this.payError, error);
      return;
    }
    const method = this.payMethod.value;
    const payment = method === "payment_link" ? { type: method, uri: this.payLink.value.trim() } : {
      type: method, code: this.pixCode.value.trim(), merchant_name: this.pixMerchant.value.trim(),
      key: this.pixKey.value.trim(), key_type: this.pixKeyType.value,
    };
    const body = { currency: this.payCurrency.value, tax: this.payTax.value.trim(), shipping: this.payShipping.value.trim(),
      discount: this.payDiscount.value.trim(), payment };
    if (this.order) body.items = this.paymentItems();
    else Object.assign(body, { amount: this.payAmount.value.trim(), description: this.payDescription.value.trim() || undefined });
    if (!this.expiryField.hidden && this.payExpiry.value) body.expires_in_minutes = Number(this.payExpiry.value);
    this.paySend.disabled = true;
    try {
      await this.inbox.call("POST", `/conversations/${open.id}/payment-request`, body, { "Idempotency-Key": this.payKey });
    } catch (failure) {
      this.showError(this.payError, failure.message);
      return;
    } finally {
      this.paySend.disabled = false;
    }
    this.paymentDialog.close();
    await this.inbox.refresh();
  }

  // ---- CSV import (Settings → Catalog) ---------------------------------------------------------

  /** The Catalog settings section: a file, its preview with each refused line, then Apply. */
  async loadImport() {
    const section = $("settings-catalog");
    if (!section) return;
    if (!section.dataset.built) this.buildImport(section);
    const page = await this.inbox.call("GET", "/catalog/products?limit=1");
    this.importCatalog.textContent = page.catalog
      ? `Catalog: ${page.catalog.name}` : "No catalog yet: importing a file creates one.";
  }

  buildImport(section) {
    section.dataset.built = "true";
    this.importFile = el("input", { attrs: { type: "file", id: "catalog-file", accept: ".csv,text/csv" } });
    this.importCatalog = el("p", { class: "hint" });
    this.importStatus = el("p", { class: "import-status", attrs: { role: "status" } });
    this.importErrors = el("ul", { class: "import-errors", attrs: { "aria-label": "Refused lines", hidden: "" } });
    this.importApply = el("button", { class: "button primary small", text: "Apply import", attrs: { type: "button", hidden: "" },
      on: { click: () => this.runImport(true) } });
    this.importFile.addEventListener("change", () => this.runImport(false));
    section.append(
      el("h2", { text: "Catalog" }),
      this.importCatalog,
      el("p", { class: "hint", text: "Import products from a CSV file in Meta's catalog feed columns: id, title, description, "
        + "availability, condition, price (like 14.99 BRL), link, image_link, brand, sale_price, sale_price_effective_date, "
        + "item_group_id, quantity_to_sell_on_facebook, status. Products with a known id are updated." }),
      el("div", { class: "settings-form" },
        el("label", { text: "CSV file (up to 5 MB)", attrs: { for: "catalog-file" } }), this.importFile),
      this.importStatus, this.importErrors, this.importApply);
  }

  async runImport(apply) {
    const file = this.importFile.files[0];
    this.importErrors.hidden = true;
    this.importApply.hidden = true;
    if (!file) return;
    if (file.size > MAX_FILE) {
      this.importStatus.textContent = "The file is larger than 5 MB.";
      return;
    }
    this.importStatus.textContent = apply ? "Importing…" : "Checking the file…";
    let report;
    try {
      const response = await fetch(`/inbox/api/catalog/import?apply=${apply}`, {
        method: "POST", credentials: "same-origin", cache: "no-store",
        headers: { "X-CSRF-Token": this.inbox.csrf(), "Content-Type": "text/csv" }, body: file,
      });
      report = await response.json().catch(() => null);
      if (!response.ok) throw new Error(report?.error?.message || `The import failed (HTTP ${response.status}).`);
    } catch (error) {
      this.importStatus.textContent = error.message === "Failed to fetch"
        ? "Can't reach the server. Check your connection and try again." : error.message;
      return;
    }
    const { created, updated, unchanged, refused } = report.counts;
    const summary = `${created} new, ${updated} changed, ${unchanged} unchanged, ${refused} refused`;
    this.importStatus.textContent = apply ? `Imported: ${summary}.` : `Preview: ${summary}.`;
    this.importErrors.replaceChildren(...report.errors.map((error) => el("li", { class: "import-error" },
      el("strong", { text: `Line ${error.line}` }), error.id ? ` (${error.id})` : "", `: ${error.message}`)));
    this.importErrors.hidden = report.errors.length === 0;
    this.importApply.hidden = apply || created + updated === 0;
    if (apply) {
      this.importCatalog.textContent = report.catalog ? `Catalog: ${report.catalog.name}` : this.importCatalog.textContent;
      this.importFile.value = "";
    }
  }

  showError(box, message) {
    box.textContent = message || "";
    box.hidden = !message;
  }
}
