// Shopping in a chat with a business: its product messages drawn from its catalog, the business info panel with
// the catalog, and the person's cart (kept by the server, so every device and reload shows the same one).
// The app hands in its hooks once (initCart) and tells this module when the chat header is drawn (cartHeader).

import { el, productCards } from "./render.js";
import { formatMoney } from "./order-card.js";
import { modal } from "./message-menu.js";

let app = null; // {call, newClientId, showError, notify, open, rerender, refresh}
const shops = new Map(); // chat id -> the shop (GET /chats/{id}/shop), or null (none there)
const loadingShops = new Set(); // chat ids whose shop is being fetched
const carts = new Map(); // chat id -> the cart as the server last answered it
let cartView = null; // {chatId, dialog, body, clientId} while the cart sheet is open
const lookedAgain = new Set(); // "chat id:retailer id" of products missing from a loaded catalog
let headerChat = null; // the chat the header was last drawn for

export function initCart(hooks) {
  app = hooks;
  productCards.render = productMessage;
}

const openChatId = () => app?.open()?.id || null;

// ---- the business's shop ------------------------------------------------------------------------

function shopOf(chatId) {
  if (!chatId) return null;
  if (!shops.has(chatId)) loadShop(chatId);
  return shops.get(chatId) || null;
}

/** Loads (or loads again, showing the last one meanwhile) the business's shop behind a chat, then its cart. */
async function loadShop(chatId) {
  if (loadingShops.has(chatId)) return;
  loadingShops.add(chatId);
  let shop = null;
  try {
    shop = await app.call("GET", `/chats/${chatId}/shop`);
  } catch {
    shop = null; // no business or no catalog behind this chat: the plain cards stay
  }
  if (shop?.catalog_id && shop.is_cart_enabled) await loadCart(chatId);
  shops.set(chatId, shop);
  loadingShops.delete(chatId);
  if (openChatId() === chatId) {
    app.rerender();
    paintHeader();
  }
}

function productOf(shop, retailerId) {
  return shop?.products.find((p) => p.retailer_id === retailerId) || null;
}

const canAdd = (shop, product) => Boolean(shop?.is_cart_enabled && product?.orderable);

// ---- product tiles --------------------------------------------------------------------------------

function priceBlock(product) {
  if (!product.on_sale) return el("span", { class: "product-price", text: formatMoney(product.price, product.currency) });
  return el("span", { class: "product-price" },
    el("s", { class: "product-original-price", text: formatMoney(product.price, product.currency),
      attrs: { "aria-label": `was ${formatMoney(product.price, product.currency)}` } }),
    " ",
    el("strong", { class: "product-sale-price", text: formatMoney(product.unit_price, product.currency) }));
}

function availability(product) {
  const text = product.orderable ? "In stock" : "Out of stock";
  return el("span", { class: `product-availability${product.orderable ? "" : " unavailable"}`, text });
}

function productImage(product) {
  if (product.image_url) {
    return el("img", { class: "product-image", attrs: { src: product.image_url, alt: "", loading: "lazy" } });
  }
  return el("span", { class: "product-image placeholder", attrs: { "aria-hidden": "true" },
    text: (product.title || "?").trim().charAt(0).toUpperCase() });
}

function productTile(chatId, shop, product, tag = "div") {
  const actions = el("div", { class: "product-actions" },
    el("button", { class: "biz-button product-view", text: "View",
      attrs: { type: "button", "aria-label": `View ${product.title}` },
      on: { click: () => productSheet(chatId, product) } }),
    canAdd(shop, product) ? addButton(chatId, product) : null);
  return el(tag, { class: "product-tile", dataset: { retailerId: product.retailer_id } },
    productImage(product),
    el("div", { class: "product-info" },
      el("span", { class: "product-title", text: product.title }),
      priceBlock(product),
      availability(product)),
    actions);
}

function addButton(chatId, product) {
  return el("button", { class: "biz-button product-add", text: "Add to cart",
    attrs: { type: "button", "aria-label": `Add to cart: ${product.title}` },
    on: { click: () => addToCart(chatId, product) } });
}

function missingTile(retailerId) {
  return el("div", { class: "product-tile missing", dataset: { retailerId } },
    el("span", { class: "product-title", text: "This item is no longer available" }));
}

/** A product, product list, catalog or carousel message, drawn from the catalog (null: the plain card). */
function productMessage(message, interactive) {
  const kinds = ["product", "product_list", "catalog_message", "carousel"];
  if (!kinds.includes(interactive.type) || !message.chat_id) return null;
  const shop = shopOf(message.chat_id);
  if (!shop?.catalog_id) return null;
  const action = interactive.action || {};
  const tile = (retailerId) => {
    const product = productOf(shop, retailerId);
    if (product) return productTile(message.chat_id, shop, product);
    // A product added since the catalog was loaded: load it again, once per product.
    const key = `${message.chat_id}:${retailerId}`;
    if (!lookedAgain.has(key)) {
      lookedAgain.add(key);
      loadShop(message.chat_id);
    }
    return missingTile(retailerId);
  };
  if (interactive.type === "product") {
    if (String(action.catalog_id) !== shop.catalog_id) return null;
    return el("div", { class: "shop-card" }, tile(action.product_retailer_id));
  }
  if (interactive.type === "product_list") {
    if (String(action.catalog_id) !== shop.catalog_id) return null;
    return el("div", { class: "shop-card product-list" }, ...(action.sections || []).flatMap((section) => [
      section.title ? el("div", { class: "list-section-title", text: section.title }) : null,
      ...(section.product_items || []).map((item) => tile(item.product_retailer_id)),
    ]));
  }
  if (interactive.type === "carousel") {
    const cards = (action.cards || []).filter((card) => card.type === "product" && card.action);
    if (!cards.length) return null;
    return el("div", { class: "shop-card product-carousel" }, ...cards.map((card) => tile(card.action.product_retailer_id)));
  }
  const thumb = productOf(shop, action.parameters?.thumbnail_product_retailer_id);
  return el("div", { class: "shop-card catalog-card" },
    thumb ? productImage(thumb) : null,
    el("span", { class: "biz-card-label", text: `${shop.business_name} catalog` }),
    el("button", { class: "biz-button catalog-open", text: "View catalog", attrs: { type: "button" },
      on: { click: () => infoPanel(message.chat_id, { catalog: true }) } }));
}

// ---- the sheets: a product, the business info with its catalog -----------------------------------

function productSheet(chatId, product) {
  const shop = shopOf(chatId);
  const close = el("button", { class: "button ghost-dark", text: "Close", attrs: { type: "button" } });
  const body = el("div", { class: "product-sheet" },
    productImage(product),
    priceBlock(product),
    availability(product),
    product.description ? el("p", { class: "dialog-text product-description", text: product.description }) : null,
    el("div", { class: "dialog-buttons" }, close, canAdd(shop, product) ? addButton(chatId, product) : null));
  const dialog = modal(product.title, body);
  dialog.classList.add("shop-dialog");
  close.addEventListener("click", () => dialog.close());
  close.focus();
}

/** The business info panel: its name and number, and its catalog when it shows it (or a catalog message asks). */
function infoPanel(chatId, { catalog = false } = {}) {
  const shop = shopOf(chatId);
  const open = app.open();
  const name = shop?.business_name || open?.title || "Business";
  const showCatalog = shop?.catalog_id && (shop.is_catalog_visible || catalog);
  const products = showCatalog ? shop.products : [];
  const close = el("button", { class: "button ghost-dark", text: "Close", attrs: { type: "button" } });
  const body = el("div", { class: "business-info" },
    el("p", { class: "dialog-text", text: open?.peer?.phone || "" }),
    el("h3", { class: "catalog-heading", text: "Catalog" }),
    showCatalog && products.length
      ? el("ul", { class: "catalog-grid", attrs: { "aria-label": `${name} catalog` } },
        ...products.map((product) => productTile(chatId, shop, product, "li")))
      : el("p", { class: "dialog-text", text: showCatalog ? "No products yet." : "This business hasn't shared a catalog." }),
    el("div", { class: "dialog-buttons" }, close));
  const dialog = modal(name, body);
  dialog.classList.add("shop-dialog", "business-info-dialog");
  close.addEventListener("click", () => dialog.close());
  close.focus();
}

// ---- the cart -------------------------------------------------------------------------------------

async function loadCart(chatId) {
  try {
    remember(chatId, await app.call("GET", `/chats/${chatId}/cart`));
  } catch {
    carts.delete(chatId);
  }
}

function remember(chatId, cart) {
  carts.set(chatId, cart);
  if (openChatId() === chatId) paintHeader();
  if (cart.notice) app.notify(cart.notice);
}

const quantityOf = (chatId, retailerId) =>
  carts.get(chatId)?.items.find((item) => item.retailer_id === retailerId)?.quantity || 0;

async function setQuantity(chatId, retailerId, quantity) {
  const shop = shopOf(chatId);
  const answer = await app.call("PUT", `/chats/${chatId}/cart/items/${encodeURIComponent(retailerId)}`,
    { catalog_id: shop.catalog_id, quantity });
  remember(chatId, answer);
  return answer;
}

async function addToCart(chatId, product) {
  try {
    await setQuantity(chatId, product.retailer_id, Math.min(99, quantityOf(chatId, product.retailer_id) + 1));
    app.notify(`${product.title} added to your cart`);
  } catch (error) {
    app.showError("chat-error", error.message);
  }
}

function cartSheet(chatId) {
  const body = el("div", { class: "cart-sheet" });
  const dialog = modal("Your cart", body);
  dialog.classList.add("shop-dialog", "cart-dialog");
  // One client_id for this sheet: a retried send (a lost answer) never sends the order twice.
  cartView = { chatId, dialog, body, clientId: app.newClientId(), note: "" };
  dialog.addEventListener("close", () => { cartView = null; });
  paintCart();
  loadCart(chatId).then(() => cartView?.chatId === chatId && paintCart());
}

function paintCart(focusKey = null) {
  if (!cartView) return;
  const { chatId, body } = cartView;
  const cart = carts.get(chatId) || { items: [], total: 0, currency: null };
  const status = el("p", { class: "dialog-text cart-notice", attrs: { role: "status" }, text: cart.notice || "" });
  const error = el("p", { class: "dialog-text dialog-error", attrs: { role: "alert" } });
  const change = async (item, quantity, key) => {
    try {
      await setQuantity(chatId, item.retailer_id, quantity);
      paintCart(key);
    } catch (failure) {
      error.textContent = failure.message;
    }
  };
  const rows = cart.items.map((item) => el("li", { class: "cart-item", dataset: { retailerId: item.retailer_id } },
    el("div", { class: "cart-item-info" },
      el("span", { class: "product-title", text: item.title }),
      el("span", { class: "cart-item-price", text: formatMoney(item.unit_price, item.currency) })),
    el("div", { class: "cart-stepper", attrs: { role: "group", "aria-label": `Quantity of ${item.title}` } },
      el("button", { class: "stepper-button", text: "−", dataset: { focus: `dec-${item.retailer_id}` },
        attrs: { type: "button", "aria-label": `One less ${item.title}`, disabled: item.quantity <= 1 ? "disabled" : null },
        on: { click: () => change(item, item.quantity - 1, `dec-${item.retailer_id}`) } }),
      el("output", { class: "cart-quantity", text: String(item.quantity), attrs: { "aria-live": "polite" } }),
      el("button", { class: "stepper-button", text: "+", dataset: { focus: `inc-${item.retailer_id}` },
        attrs: { type: "button", "aria-label": `One more ${item.title}`, disabled: item.quantity >= 99 ? "disabled" : null },
        on: { click: () => change(item, item.quantity + 1, `inc-${item.retailer_id}`) } })),
    el("button", { class: "cart-remove", text: "Remove", attrs: { type: "button", "aria-label": `Remove ${item.title}` },
      on: { click: () => change(item, 0, "note") } })));
  const note = el("textarea", { class: "cart-note", dataset: { focus: "note" },
    attrs: { id: "cart-note", rows: "2", maxlength: "1000", placeholder: "Add a note (optional)" } });
  note.value = cartView.note;
  note.addEventListener("input", () => { if (cartView) cartView.note = note.value; });
  const close = el("button", { class: "button ghost-dark", text: "Close", attrs: { type: "button" },
    on: { click: () => cartView?.dialog.close() } });
  const send = el("button", { class: "button primary cart-send", text: "Send to business",
    attrs: { type: "button", disabled: cart.items.length ? null : "disabled" },
    on: { click: () => sendCart(send, error) } });
  body.replaceChildren(
    status,
    cart.items.length
      ? el("ul", { class: "cart-items", attrs: { "aria-label": "Items in your cart" } }, ...rows)
      : el("p", { class: "dialog-text cart-empty", text: "Your cart is empty." }),
    el("div", { class: "cart-total" }, el("span", { text: "Total" }),
      el("strong", { class: "cart-total-amount", text: cart.currency ? formatMoney(cart.total, cart.currency) : "—" })),
    el("label", { class: "cart-note-label", text: "Note to the business", attrs: { for: "cart-note" } }),
    note,
    error,
    el("div", { class: "dialog-buttons" }, close, send));
  const target = focusKey && body.querySelector(`[data-focus="${CSS.escape(focusKey)}"]`);
  (target && !target.disabled ? target : close).focus();
}

async function sendCart(button, error) {
  const view = cartView;
  if (!view) return;
  button.disabled = true;
  try {
    await app.call("POST", `/chats/${view.chatId}/cart/send`, { text: view.note.trim(), client_id: view.clientId });
    carts.set(view.chatId, { items: [], total: 0, currency: null, item_count: 0 });
    view.dialog.close();
    paintHeader();
    app.notify("Order sent");
    app.refresh();
  } catch (failure) {
    error.textContent = failure.message;
    button.disabled = false;
    loadCart(view.chatId).then(() => cartView === view && paintCart());
  }
}

// ---- the chat header's buttons ----------------------------------------------------------------------

function headerButton(id, label, path, onClick) {
  const button = document.getElementById(id);
  if (button) return button;
  const created = el("button", { class: "icon-button shop-header-button", attrs: { id, type: "button", "aria-label": label, title: label },
    on: { click: onClick } });
  created.innerHTML = `<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><path fill="currentColor" d="${path}"/></svg>`;
  document.getElementById("chat-info").before(created);
  return created;
}

const STORE = "M4 4h16l1 5a3 3 0 0 1-2 2.8V20H5v-8.2A3 3 0 0 1 3 9zm2 8v6h5v-4h2v4h5v-6a3 3 0 0 1-3-1 3 3 0 0 1-3 1 3 3 0 0 1-3-1 3 3 0 0 1-3 1z";
const CART = "M7 18a2 2 0 1 0 0 4 2 2 0 0 0 0-4zm10 0a2 2 0 1 0 0 4 2 2 0 0 0 0-4zM5.2 4H2V2h4.6l.9 2H22l-3.4 8.6a2 2 0 0 1-1.9 1.4H8.1l-1 2H19v2H4l2.6-5.1L5.2 4z";

function paintHeader() {
  const open = app?.open();
  const business = open?.id && open.peer?.kind === "business";
  if (business && open.id !== headerChat && shops.has(open.id)) {
    loadShop(open.id); // back in a chat: its catalog and cart as they are now (another device may have changed it)
  }
  headerChat = business ? open.id : null;
  const shop = business ? shopOf(open.id) : null;
  const info = headerButton("business-info-button", "Business info", STORE, () => infoPanel(openChatId()));
  const cartButton = headerButton("cart-button", "Cart", CART, () => cartSheet(openChatId()));
  info.hidden = !business;
  cartButton.hidden = !(shop?.catalog_id && shop.is_cart_enabled);
  const count = business ? carts.get(open.id)?.item_count || 0 : 0;
  let badge = cartButton.querySelector(".cart-count");
  if (!badge) {
    badge = el("span", { class: "cart-count", attrs: { "aria-hidden": "true" } });
    cartButton.append(badge);
  }
  badge.textContent = count ? String(count) : "";
  badge.hidden = !count;
  const label = count ? `Cart, ${count} item${count === 1 ? "" : "s"}` : "Cart";
  cartButton.setAttribute("aria-label", label);
  cartButton.title = label;
}

/** The app drew the chat header: show the business info and cart buttons of a chat with a business. */
export function cartHeader() {
  if (app) paintHeader();
}
