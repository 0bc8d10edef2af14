// /earn: a person's affiliate side. Shops with an active program (rate, windows) and a button to get a link; the
// person's links with copy / share / revoke and their figures; totals. Data from /client/v1/affiliates; the DOM is
// built with textContent only (shop names and terms are other people's text).

import { api, ApiError, session } from "./api.js";
import { signInAndReturn } from "./return-to.js";

const $ = (id) => document.getElementById(id);
const LABELS = { pending: "Pending", paid: "Paid", clawed_back: "Clawed back" };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function showError(error) {
  const box = $("earn-error");
  box.textContent = error ? (error instanceof ApiError ? error.message : "Something went wrong. Try again.") : "";
  box.hidden = !error;
}

/** `{BRL: {pending, paid, clawed_back}}` as definition-list rows. */
function moneyRows(list, commissions, prefix) {
  const currencies = Object.keys(commissions);
  if (!currencies.length) {
    list.append(el("div", { class: "earn-figure" }, el("dt", { text: "Commissions" }), el("dd", { text: "none yet" })));
    return;
  }
  for (const currency of currencies) {
    for (const [key, label] of Object.entries(LABELS)) {
      list.append(
        el("div", { class: `earn-figure ${key}`, "data-figure": `${prefix}${key}` },
          el("dt", { text: label }), el("dd", { text: `${commissions[currency][key]} ${currency}` })),
      );
    }
  }
}

function renderTotals(totals) {
  const list = $("earn-totals");
  list.replaceChildren(
    el("div", { class: "earn-figure" }, el("dt", { text: "Clicks" }), el("dd", { text: String(totals.clicks) })),
    el("div", { class: "earn-figure" }, el("dt", { text: "Purchases" }), el("dd", { text: String(totals.purchases) })),
  );
  moneyRows(list, totals.commissions, "total-");
}

async function copyLink(url, button) {
  try {
    await navigator.clipboard.writeText(url);
    button.textContent = "Copied";
  } catch {
    button.textContent = "Select the link to copy it";
  }
}

/** "merchant id:retailer id" -> the product's name, from the programs' catalogs. */
function productNames(programs) {
  const names = new Map();
  for (const program of programs) {
    for (const product of program.products) names.set(`${program.merchant.id}:${product.retailer_id}`, product.title);
  }
  return names;
}

function renderLink(link, names) {
  const product = link.product_retailer_id;
  const what = product ? names.get(`${link.merchant.id}:${product}`) || `Product ${product}` : "Whole shop";
  const figures = el("dl", { class: "earn-totals compact" },
    el("div", { class: "earn-figure" }, el("dt", { text: "Clicks" }), el("dd", { text: String(link.clicks) })),
    el("div", { class: "earn-figure" }, el("dt", { text: "Purchases" }), el("dd", { text: String(link.purchases) })));
  moneyRows(figures, link.commissions, "");
  const url = el("input", { type: "text", readonly: "", value: link.url, "aria-label": `Your link for ${link.merchant.name}`, class: "earn-url" });
  const copy = el("button", { type: "button", class: "button primary small", text: "Copy link" });
  copy.addEventListener("click", () => copyLink(link.url, copy));
  const actions = el("div", { class: "earn-actions" }, copy);
  if (navigator.share) {
    const share = el("button", { type: "button", class: "button outline small", text: "Share" });
    share.addEventListener("click", () => navigator.share({ title: link.merchant.name, url: link.url }).catch(() => {}));
    actions.append(share);
  }
  if (!link.revoked) {
    const revoke = el("button", { type: "button", class: "button outline small", text: "Revoke", "aria-label": `Revoke your link for ${link.merchant.name}` });
    revoke.addEventListener("click", () => act(() => api("DELETE", `/affiliates/links/${link.id}`)));
    actions.append(revoke);
  }
  const qr = link.revoked ? null : el("details", { class: "earn-qr" }, el("summary", { text: "QR code" }),
    el("img", { src: `/r/${encodeURIComponent(link.code)}/qr.svg`, alt: `QR code of your link for ${link.merchant.name}`, width: "164", height: "164" }));
  return el("li", { class: "earn-item", "data-link": link.id, "data-code": link.code },
    el("h3", { text: link.merchant.name }),
    el("p", { class: "hint", text: link.revoked ? `${what} · revoked` : what }),
    link.revoked ? null : url, link.revoked ? null : actions, qr, figures);
}

function renderProgram(program) {
  // The shop's catalog products (name and price) a link can name; "Whole shop" unless the person picks one.
  const picker = el("select", { id: `product-${program.id}` }, el("option", { value: "", text: "Whole shop" }),
    ...program.products.map((p) => el("option", { value: p.retailer_id, text: `${p.title} · ${p.price_text}` })));
  const label = el("label", { for: `product-${program.id}`, text: "Link to" });
  const get = el("button", { type: "button", class: "button primary small", text: "Get my link", "aria-label": `Get my link for ${program.merchant.name}` });
  get.addEventListener("click", () => act(async () => {
    const body = { merchant_id: program.merchant.id };
    if (picker.value) body.product_retailer_id = picker.value;
    await api("POST", "/affiliates/links", body);
  }));
  const facts = `${program.rate_percent} % commission · purchases within ${program.window_days} days of a click · paid after ${program.hold_days} days`;
  return el("li", { class: "earn-item", "data-program": program.merchant.id },
    el("h3", { text: program.merchant.name }), el("p", { class: "hint", text: facts }),
    program.terms ? el("p", { class: "earn-terms", text: program.terms }) : null,
    el("div", { class: "earn-field" }, label, picker), el("div", { class: "earn-actions" }, get));
}

async function act(fn) {
  showError(null);
  try {
    await fn();
    await load();
  } catch (error) {
    showError(error);
  }
}

async function load() {
  const [programs, links] = await Promise.all([api("GET", "/affiliates/programs"), api("GET", "/affiliates/links")]);
  renderTotals(links.totals);
  const names = productNames(programs.data);
  $("earn-links").replaceChildren(...links.data.map((link) => renderLink(link, names)));
  $("links-none").hidden = links.data.length > 0;
  $("earn-programs").replaceChildren(...programs.data.map(renderProgram));
  $("programs-none").hidden = programs.data.length > 0;
}

async function boot() {
  if (!session.token) {
    signInAndReturn();
    return;
  }
  try {
    await load();
  } catch (error) {
    showError(error);
  }
  $("earn").removeAttribute("aria-busy");
}

boot();
