// The console's Templates page: filters, a template's detail, the create / edit form with its live preview,
// and a pending review followed until it is decided. Everything goes through /inbox/api/console/templates,
// which calls the same template service as the Cloud API. Text goes into the page through textContent only.

import { ApiError, banner, call, el } from "/static/console.js";

const API = "/inbox/api/console/templates";
const POLL_MS = 3000;
const STATUS_WORDS = {
  APPROVED: "Approved", PENDING: "In review", REJECTED: "Rejected", PAUSED: "Paused", DISABLED: "Disabled",
};
const VARIABLE = /\{\{([^{}]*)\}\}/g;

const $ = (id) => document.getElementById(id);
const state = { items: [], drawn: "", pricing: null, pollTimer: null, openId: null, editing: null, buttons: [], examples: {} };

// ---- small pure helpers ----------------------------------------------------------------------------------

/** Distinct variable names of a text in order of appearance ("Hi {{1}} {{name}}" -> ["1", "name"]). */
export function variablesOf(text) {
  const names = [];
  for (const match of (text || "").matchAll(VARIABLE)) {
    const name = match[1].trim();
    if (name && !names.includes(name)) names.push(name);
  }
  return names;
}

function isPositional(names) {
  return names.every((name) => /^[0-9]+$/.test(name));
}

/** The text with each variable replaced by its example; variables without one stay as written. */
export function fillExamples(text, examples) {
  return (text || "").replace(VARIABLE, (whole, name) => {
    const value = examples[name.trim()];
    return value ? value : whole;
  });
}

function sentence(text) {
  const trimmed = (text || "").trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

function words(status) {
  return STATUS_WORDS[status] || status;
}

function capitalise(text) {
  return text ? text.charAt(0) + text.slice(1).toLowerCase() : "";
}

function priceOf(category) {
  const rate = state.pricing && state.pricing.rates ? state.pricing.rates[category] : null;
  return rate ? rate.text : "—";
}

// ---- the WhatsApp-style bubble ---------------------------------------------------------------------------

/** A template drawn as WhatsApp draws it: header, body, footer in a bubble, buttons under it. */
function bubble(parts) {
  const box = el("div", { class: "tpl-bubble" });
  if (parts.header) box.append(el("p", { class: "tpl-bubble-header" }, parts.header));
  box.append(el("p", { class: "tpl-bubble-body" }, parts.body || "Your message text appears here."));
  if (parts.footer) box.append(el("p", { class: "tpl-bubble-footer" }, parts.footer));
  const now = new Date();
  box.append(el("span", { class: "tpl-bubble-time" }, now.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })));
  const wrap = el("div", { class: "tpl-bubble-wrap" }, box);
  if (parts.buttons && parts.buttons.length) {
    const list = el("ul", { class: "tpl-bubble-buttons", "aria-label": "Buttons" });
    for (const button of parts.buttons) {
      const mark = { URL: "↗ ", PHONE_NUMBER: "✆ ", OTP: "" }[button.type] ?? "↩ ";
      list.append(el("li", { class: "tpl-bubble-button" }, mark + (button.text || "Button")));
    }
    wrap.append(list);
  }
  return wrap;
}

/** WhatsApp's fixed wording of an authentication template, as people get it (an example code). */
function authParts(security, minutes, buttonText) {
  return {
    header: "",
    body: "123456 is your verification code." + (security ? " For your security, do not share this code." : ""),
    footer: minutes ? `This code expires in ${minutes} minutes.` : "",
    buttons: [{ type: "OTP", text: buttonText || "Copy code" }],
  };
}

/** The parts of stored components, with the examples the template was submitted with filled in. */
function partsOfComponents(components, category) {
  if (category === "AUTHENTICATION") {
    const body = (components || []).find((c) => c.type === "BODY") || {};
    const footer = (components || []).find((c) => c.type === "FOOTER") || {};
    const buttons = ((components || []).find((c) => c.type === "BUTTONS") || {}).buttons || [];
    return authParts(Boolean(body.add_security_recommendation), footer.code_expiration_minutes, buttons[0] && buttons[0].text);
  }
  const parts = { header: "", body: "", footer: "", buttons: [] };
  for (const component of components || []) {
    const example = component.example || {};
    if (component.type === "HEADER" && component.format === "TEXT") {
      const named = Object.fromEntries((example.header_text_named_params || []).map((p) => [p.param_name, String(p.example)]));
      const positional = Array.isArray(example.header_text) ? { 1: String(example.header_text[0]) } : {};
      parts.header = fillExamples(component.text, { ...positional, ...named });
    } else if (component.type === "HEADER" && component.format) {
      parts.header = `[${capitalise(component.format)}]`;
    } else if (component.type === "BODY") {
      const named = Object.fromEntries((example.body_text_named_params || []).map((p) => [p.param_name, String(p.example)]));
      const row = Array.isArray(example.body_text) && Array.isArray(example.body_text[0]) ? example.body_text[0] : [];
      const positional = Object.fromEntries(row.map((value, i) => [String(i + 1), String(value)]));
      parts.body = fillExamples(component.text || "", { ...positional, ...named });
    } else if (component.type === "FOOTER") {
      parts.footer = component.text || "";
    } else if (component.type === "BUTTONS") {
      parts.buttons = (component.buttons || []).map((b) => ({ type: b.type, text: b.text || b.type }));
    }
  }
  return parts;
}

// ---- the list --------------------------------------------------------------------------------------------

function listQuery(extra = {}) {
  const params = new URLSearchParams();
  const q = $("tpl-search").value.trim();
  if (q) params.set("q", q);
  if ($("tpl-status").value) params.set("status", $("tpl-status").value);
  if ($("tpl-market").value) params.set("market", $("tpl-market").value);
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  return params.toString();
}

function rowOf(item) {
  const open = el("a", { class: "tpl-open", href: `#template-${item.id}`, dataset: { id: item.id } }, item.name);
  return el(
    "tr",
    { class: "tpl-item", dataset: { id: item.id, status: item.status } },
    el("td", { dataset: { label: "Name" } }, open),
    el("td", { dataset: { label: "Language" } }, item.language),
    el("td", { dataset: { label: "Category" } }, capitalise(item.category)),
    el("td", { dataset: { label: "Status" } }, el("span", { class: `tpl-status status-${item.status.toLowerCase()}` }, words(item.status))),
    el("td", { dataset: { label: "Quality" } }, item.quality),
    el("td", { dataset: { label: "Price" } }, priceOf(item.category)),
  );
}

function showPricing(pricing) {
  state.pricing = pricing;
  const note = `Price: one delivered ${pricing.per} of the template's category in ${pricing.market} (${pricing.currency}, list rate`
    + (pricing.charged ? ")." : "; billing is off here, so nothing is charged).");
  $("tpl-price-note").textContent = note;
  showCategoryPrice();
}

async function loadList({ append = false } = {}) {
  const after = append ? $("tpl-more").dataset.after : "";
  let page;
  try {
    page = await call("GET", `${API}?${listQuery(after ? { after } : {})}`);
  } catch (error) {
    banner(error.message);
    return;
  }
  banner("");
  showPricing(page.pricing);
  const items = append ? [...state.items, ...page.data] : page.data;
  const drawn = JSON.stringify(items) + JSON.stringify(page.pricing);
  // A poll that finds nothing new leaves the rows alone (and the keyboard focus where it was).
  if (drawn !== state.drawn) $("tpl-rows").replaceChildren(...items.map(rowOf));
  state.drawn = drawn;
  state.items = items;
  $("tpl-empty").hidden = state.items.length > 0;
  $("tpl-more").hidden = !page.paging.after;
  $("tpl-more").dataset.after = page.paging.after || "";
  followReviews();
}

/** While a review is pending, ask again every few seconds: the review decides on its own, a little later. */
function followReviews() {
  clearTimeout(state.pollTimer);
  const detail = $("tpl-detail");
  const pending = state.items.some((item) => item.status === "PENDING")
    || (!detail.hidden && detail.dataset.status === "PENDING");
  if (!pending) return;
  state.pollTimer = setTimeout(async () => {
    await loadList();
    if (state.openId) await openDetail(state.openId, { quiet: true });
  }, POLL_MS);
}

// ---- a template's detail ---------------------------------------------------------------------------------

function fact(term, value) {
  return [el("dt", {}, term), el("dd", {}, value)];
}

function reviewBox(item) {
  const box = $("tpl-detail-review");
  box.replaceChildren();
  box.className = `tpl-review status-${item.status.toLowerCase()}`;
  if (item.status === "PENDING") {
    box.append(el("p", { class: "tpl-review-title" }, "In review"), el("p", {}, "WhatsApp's rules are being checked. This page updates when the review is done."));
  } else if (item.status === "REJECTED" && item.review) {
    box.append(
      el("p", { class: "tpl-review-title" }, "Rejected: " + item.review.in_plain_words),
      el("p", {}, "What the review found: " + sentence(item.review.details)),
      el("p", {}, item.review.what_to_do),
    );
  } else if (item.status === "APPROVED") {
    const recategorised = item.previous_category && item.previous_category !== item.category;
    box.append(el("p", { class: "tpl-review-title" }, "Approved: it can be sent."));
    if (recategorised) box.append(el("p", {}, `Submitted as ${capitalise(item.previous_category)}; approved as ${capitalise(item.category)} — ${item.review ? item.review.details : ""}`));
  } else if (item.status === "PAUSED") {
    box.append(el("p", { class: "tpl-review-title" }, item.paused_by === "business"
      ? "Paused by you: nothing is sent with it until you resume it."
      : "Paused because people reported or blocked it; it resumes by itself."));
  } else if (item.status === "DISABLED") {
    box.append(el("p", { class: "tpl-review-title" }, "Disabled after repeated low quality: it cannot be sent."));
  }
}

function showDetail(item) {
  state.openId = item.id;
  $("tpl-detail-title").textContent = item.name;
  $("tpl-detail-facts").replaceChildren(
    ...fact("Language", item.language),
    ...fact("Category", capitalise(item.category)),
    ...fact("Status", words(item.status)),
    ...fact("Quality", item.quality),
    ...fact("Price", `${priceOf(item.category)} per delivered ${state.pricing ? state.pricing.per : "message"} in ${state.pricing ? state.pricing.market : ""}`),
  );
  reviewBox(item);
  $("tpl-detail-preview").replaceChildren(bubble(partsOfComponents(item.components, item.category)));
  $("tpl-pause").hidden = !item.can_pause;
  $("tpl-resume").hidden = !item.can_resume;
  $("tpl-edit").hidden = !item.can_edit;
  $("tpl-detail").dataset.status = item.status;
  $("tpl-detail").hidden = false;
}

async function openDetail(id, { quiet = false } = {}) {
  try {
    const item = await call("GET", `${API}/${encodeURIComponent(id)}`);
    const fresh = !state.openId || state.openId !== id;
    showDetail(item);
    followReviews();
    if (!quiet && fresh) {
      $("tpl-editor").hidden = true;
      $("tpl-detail").scrollIntoView({ block: "start" });
      $("tpl-detail-title").focus({ preventScroll: true });
    }
  } catch (error) {
    if (!quiet) banner(error.message);
  }
}

function closeDetail() {
  state.openId = null;
  $("tpl-detail").hidden = true;
}

async function act(method, suffix) {
  const id = state.openId;
  if (!id) return;
  try {
    const item = await call(method, `${API}/${encodeURIComponent(id)}${suffix}`);
    banner("");
    showDetail(item);
    await loadList();
  } catch (error) {
    banner(error.message);
  }
}

async function deleteOpen() {
  const item = state.items.find((entry) => entry.id === state.openId);
  const name = item ? item.name : $("tpl-detail-title").textContent;
  $("tpl-confirm-text").textContent = `“${name}” is deleted in every language. Messages already sent stay; it cannot be sent again.`;
  const dialog = $("tpl-confirm");
  dialog.returnValue = "";
  dialog.showModal();
  dialog.addEventListener("close", async () => {
    if (dialog.returnValue !== "delete") return;
    try {
      await call("DELETE", `${API}/${encodeURIComponent(state.openId)}`);
      banner("");
      closeDetail();
      await loadList();
    } catch (error) {
      banner(error.message);
    }
  }, { once: true });
}

// ---- the create / edit form ------------------------------------------------------------------------------

function exampleInputs(containerId, names, where) {
  const box = $(containerId);
  const existing = new Set([...box.querySelectorAll("input")].map((input) => input.dataset.name));
  const wanted = names.join("\u0000");
  const have = [...existing].join("\u0000");
  if (wanted === have) return;
  box.replaceChildren(...names.map((name) => {
    const input = el("input", { type: "text", autocomplete: "off", maxLength: 200, dataset: { name } });
    input.value = state.examples[`${where}:${name}`] || "";
    input.addEventListener("input", () => {
      state.examples[`${where}:${name}`] = input.value;
      drawPreview();
    });
    const label = where === "header" ? `Header example for {{${name}}}` : `Example for {{${name}}}`;
    return el("label", { class: "tpl-field tpl-example" }, label, input);
  }));
}

function examplesFor(where, names) {
  return Object.fromEntries(names.map((name) => [name, (state.examples[`${where}:${name}`] || "").trim()]));
}

function drawButtons() {
  const box = $("tpl-buttons");
  box.replaceChildren(...state.buttons.map((button, index) => {
    const label = { QUICK_REPLY: "Quick reply", URL: "Link", PHONE_NUMBER: "Phone number" }[button.type];
    const text = el("input", { type: "text", maxLength: 25, autocomplete: "off", value: button.text || "" });
    text.addEventListener("input", () => { button.text = text.value; drawPreview(); });
    const fields = [el("label", { class: "tpl-field" }, `${label} ${index + 1}: text`, text)];
    if (button.type === "URL") {
      const url = el("input", { type: "url", autocomplete: "off", value: button.url || "", placeholder: "https://example.com/orders/{{1}}" });
      url.addEventListener("input", () => { button.url = url.value; drawButtonsExample(); });
      fields.push(el("label", { class: "tpl-field" }, "Web address", url));
      const sample = el("input", { type: "url", autocomplete: "off", value: button.example || "", dataset: { role: "url-example" } });
      sample.addEventListener("input", () => { button.example = sample.value; });
      const sampleField = el("label", { class: "tpl-field", dataset: { role: "url-example-field" } }, "Example web address (with the {{1}} filled in)", sample);
      sampleField.hidden = !(button.url || "").includes("{{");
      fields.push(sampleField);
    } else if (button.type === "PHONE_NUMBER") {
      const phone = el("input", { type: "tel", autocomplete: "off", value: button.phone_number || "", placeholder: "+14155550100" });
      phone.addEventListener("input", () => { button.phone_number = phone.value; });
      fields.push(el("label", { class: "tpl-field" }, "Phone number", phone));
    }
    const remove = el("button", { type: "button", class: "button tpl-secondary small" }, `Remove ${label.toLowerCase()} ${index + 1}`);
    remove.addEventListener("click", () => { state.buttons.splice(index, 1); drawButtons(); drawPreview(); });
    return el("div", { class: "tpl-button-row" }, ...fields, remove);
  }));
}

function drawButtonsExample() {
  $("tpl-buttons").querySelectorAll(".tpl-button-row").forEach((row, index) => {
    const field = row.querySelector("[data-role=url-example-field]");
    if (field) field.hidden = !(state.buttons[index].url || "").includes("{{");
  });
}

function isAuthentication() {
  return $("tpl-category").value === "AUTHENTICATION";
}

function authForm() {
  const minutes = $("tpl-auth-minutes").value.trim();
  return {
    security: $("tpl-auth-security").checked,
    minutes: minutes ? Number(minutes) : null,
    buttonText: $("tpl-auth-button").value.trim(),
  };
}

/** Authentication templates have WhatsApp's fixed parts; the others the parts the owner writes. */
function showCategoryParts() {
  const auth = isAuthentication();
  $("tpl-free-parts").hidden = auth;
  $("tpl-auth-set").hidden = !auth;
  placePreview();
  drawPreview();
}

function formParts() {
  const headerKind = $("tpl-header-kind").value;
  const headerText = headerKind === "TEXT" ? $("tpl-header-text").value : "";
  const body = $("tpl-body").value;
  return { headerKind, headerText, body, footer: $("tpl-footer").value.trim() };
}

/** Redraws the example fields and the bubble from what is typed, as it is typed. */
function drawPreview() {
  if (isAuthentication()) {
    const { security, minutes, buttonText } = authForm();
    $("tpl-preview").replaceChildren(bubble(authParts(security, minutes, buttonText)));
    return;
  }
  const { headerText, body, footer } = formParts();
  const headerNames = variablesOf(headerText);
  const bodyNames = variablesOf(body);
  exampleInputs("tpl-header-examples", headerNames, "header");
  exampleInputs("tpl-body-examples", bodyNames, "body");
  const parts = {
    header: fillExamples(headerText, examplesFor("header", headerNames)),
    body: fillExamples(body, examplesFor("body", bodyNames)),
    footer,
    buttons: state.buttons,
  };
  $("tpl-preview").replaceChildren(bubble(parts));
}

function showCategoryPrice() {
  if (!state.pricing) return;
  const category = $("tpl-category").value;
  $("tpl-category-price").textContent = `${capitalise(category)}: ${priceOf(category)} per delivered ${state.pricing.per} in ${state.pricing.market}.`;
}

/** The Cloud API's template body for what the form holds (the API checks it; its errors come back as said). */
function submission() {
  const base = { name: $("tpl-name").value.trim(), language: $("tpl-language").value, category: $("tpl-category").value };
  if (isAuthentication()) {
    const { security, minutes, buttonText } = authForm();
    const components = [{ type: "BODY", add_security_recommendation: security }];
    if (minutes !== null) components.push({ type: "FOOTER", code_expiration_minutes: minutes });
    const button = { type: "OTP", otp_type: "COPY_CODE" };
    if (buttonText) button.text = buttonText;
    components.push({ type: "BUTTONS", buttons: [button] });
    return { ...base, parameter_format: "POSITIONAL", components };
  }
  const { headerKind, headerText, body, footer } = formParts();
  const names = [...variablesOf(headerText), ...variablesOf(body)];
  const positional = isPositional(names);
  const components = [];
  if (headerKind === "TEXT") {
    const header = { type: "HEADER", format: "TEXT", text: headerText };
    const headerNames = variablesOf(headerText);
    if (headerNames.length) {
      const values = examplesFor("header", headerNames);
      header.example = positional
        ? { header_text: headerNames.map((name) => values[name]) }
        : { header_text_named_params: headerNames.map((name) => ({ param_name: name, example: values[name] })) };
    }
    components.push(header);
  }
  const bodyComponent = { type: "BODY", text: body };
  const bodyNames = variablesOf(body);
  if (bodyNames.length) {
    const values = examplesFor("body", bodyNames);
    bodyComponent.example = positional
      ? { body_text: [[...bodyNames].sort((a, b) => Number(a) - Number(b)).map((name) => values[name])] }
      : { body_text_named_params: bodyNames.map((name) => ({ param_name: name, example: values[name] })) };
  }
  components.push(bodyComponent);
  if (footer) components.push({ type: "FOOTER", text: footer });
  if (state.buttons.length) {
    components.push({
      type: "BUTTONS",
      buttons: state.buttons.map((button) => {
        const out = { type: button.type, text: button.text || "" };
        if (button.type === "URL") {
          out.url = button.url || "";
          if ((button.url || "").includes("{{")) out.example = [button.example || ""];
        }
        if (button.type === "PHONE_NUMBER") out.phone_number = button.phone_number || "";
        return out;
      }),
    });
  }
  return { ...base, parameter_format: positional ? "POSITIONAL" : "NAMED", components };
}

function openEditor(item = null) {
  state.editing = item;
  state.examples = {};
  state.buttons = [];
  $("tpl-form").reset();
  $("tpl-form-error").hidden = true;
  $("tpl-editor-title").textContent = item ? `Edit ${item.name}` : "New template";
  $("tpl-submit").textContent = item ? "Save and submit for review" : "Submit for review";
  $("tpl-name").disabled = Boolean(item);
  $("tpl-language").disabled = Boolean(item);
  if (item) {
    $("tpl-name").value = item.name;
    $("tpl-language").value = item.language;
    $("tpl-category").value = item.category;
    for (const component of item.components) {
      const example = component.example || {};
      if (component.type === "HEADER" && component.format === "TEXT") {
        $("tpl-header-kind").value = "TEXT";
        $("tpl-header-text").value = component.text || "";
        const names = variablesOf(component.text);
        (example.header_text || []).forEach((value, i) => { if (names[i]) state.examples[`header:${names[i]}`] = String(value); });
        (example.header_text_named_params || []).forEach((p) => { state.examples[`header:${p.param_name}`] = String(p.example); });
      } else if (component.type === "BODY" && item.category === "AUTHENTICATION") {
        $("tpl-auth-security").checked = Boolean(component.add_security_recommendation);
      } else if (component.type === "FOOTER" && item.category === "AUTHENTICATION") {
        $("tpl-auth-minutes").value = component.code_expiration_minutes || "";
      } else if (component.type === "BUTTONS" && item.category === "AUTHENTICATION") {
        $("tpl-auth-button").value = ((component.buttons || [])[0] || {}).text || "";
      } else if (component.type === "BODY") {
        $("tpl-body").value = component.text || "";
        const row = Array.isArray(example.body_text) && Array.isArray(example.body_text[0]) ? example.body_text[0] : [];
        row.forEach((value, i) => { state.examples[`body:${i + 1}`] = String(value); });
        (example.body_text_named_params || []).forEach((p) => { state.examples[`body:${p.param_name}`] = String(p.example); });
      } else if (component.type === "FOOTER") {
        $("tpl-footer").value = component.text || "";
      } else if (component.type === "BUTTONS") {
        state.buttons = (component.buttons || []).map((b) => ({
          type: b.type, text: b.text, url: b.url, phone_number: b.phone_number,
          example: Array.isArray(b.example) ? b.example[0] : b.example,
        }));
      }
    }
  }
  $("tpl-header-text-field").hidden = $("tpl-header-kind").value !== "TEXT";
  drawButtons();
  showCategoryParts();
  showCategoryPrice();
  $("tpl-detail").hidden = true;
  $("tpl-editor").hidden = false;
  $("tpl-editor").scrollIntoView({ block: "start" });
  (item ? $("tpl-category") : $("tpl-name")).focus({ preventScroll: true });
}

function closeEditor() {
  $("tpl-editor").hidden = true;
  state.editing = null;
}

async function submitForm(event) {
  event.preventDefault();
  const error = $("tpl-form-error");
  error.hidden = true;
  const body = submission();
  const submit = $("tpl-submit");
  submit.disabled = true;
  try {
    const item = state.editing
      ? await call("PATCH", `${API}/${encodeURIComponent(state.editing.id)}`,
        { category: body.category, parameter_format: body.parameter_format, components: body.components })
      : await call("POST", API, body);
    closeEditor();
    showDetail(item);
    $("tpl-detail").scrollIntoView({ block: "start" });
    await loadList();
  } catch (failure) {
    if (!(failure instanceof ApiError)) throw failure;
    error.textContent = failure.message;
    error.hidden = false;
    error.scrollIntoView({ block: "nearest" });
  } finally {
    submit.disabled = false;
  }
}

// ---- wiring ----------------------------------------------------------------------------------------------

const NARROW = window.matchMedia("(max-width: 760px)");

/** On a phone the preview sits right under the body text, where the owner types; beside the form elsewhere. */
function placePreview() {
  const wrap = $("tpl-editor-preview");
  if (NARROW.matches) (isAuthentication() ? $("tpl-auth-set") : $("tpl-body-set")).after(wrap);
  else $("tpl-editor-grid").append(wrap);
}

function start() {
  $("tpl-new").addEventListener("click", () => openEditor());
  $("tpl-cancel").addEventListener("click", closeEditor);
  $("tpl-form").addEventListener("submit", submitForm);
  $("tpl-form").addEventListener("input", drawPreview);
  $("tpl-header-kind").addEventListener("change", () => {
    $("tpl-header-text-field").hidden = $("tpl-header-kind").value !== "TEXT";
    drawPreview();
  });
  $("tpl-category").addEventListener("change", () => {
    showCategoryPrice();
    showCategoryParts();
  });
  document.querySelectorAll("[data-add-button]").forEach((button) => {
    button.addEventListener("click", () => {
      if (state.buttons.length >= 10) return;
      state.buttons.push({ type: button.dataset.addButton, text: "" });
      drawButtons();
      drawPreview();
      const inputs = $("tpl-buttons").querySelectorAll(".tpl-button-row:last-child input");
      if (inputs.length) inputs[0].focus();
    });
  });
  let searchTimer = null;
  $("tpl-filters").addEventListener("submit", (event) => { event.preventDefault(); loadList(); });
  $("tpl-search").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(loadList, 250); });
  $("tpl-status").addEventListener("change", () => loadList());
  $("tpl-market").addEventListener("change", async () => {
    await loadList();
    if (state.openId) await openDetail(state.openId, { quiet: true });
  });
  $("tpl-more").addEventListener("click", () => loadList({ append: true }));
  $("tpl-rows").addEventListener("click", (event) => {
    const link = event.target.closest(".tpl-open");
    if (!link) return;
    event.preventDefault();
    openDetail(link.dataset.id);
  });
  $("tpl-detail-close").addEventListener("click", closeDetail);
  $("tpl-pause").addEventListener("click", () => act("POST", "/pause"));
  $("tpl-resume").addEventListener("click", () => act("POST", "/resume"));
  $("tpl-edit").addEventListener("click", async () => {
    try {
      openEditor(await call("GET", `${API}/${encodeURIComponent(state.openId)}`));
    } catch (error) {
      banner(error.message);
    }
  });
  $("tpl-delete").addEventListener("click", deleteOpen);
  $("tpl-detail-title").tabIndex = -1;
  NARROW.addEventListener("change", placePreview);
  placePreview();
  loadList();
  const match = /^#template-(\d+)$/.exec(window.location.hash);
  if (match) openDetail(match[1]);
}

start();
