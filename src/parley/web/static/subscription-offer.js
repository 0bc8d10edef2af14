// The subscription offer inside a channel's page or a paid group's join screen and group info.
// mountSubscription(element, {kind: "channel" | "group" | "invite", id, canCreate}) fills `element` with the plan as this
// person sees it: the price in their market and Subscribe (then the payment PIN), or their state ("Subscribed ·
// renews 7 Jan", "Cancels at period end", "Payment failed — top up by …") with Cancel / Resume; the creator and
// admins see subscribers and earnings instead, and (`canCreate`, a group admin) a form to sell access when there is
// no plan yet. After a subscription is paid the element gets a "subscribed" event (detail: the subscription).

import { ApiError, newClientId, session } from "./api.js";
import { el } from "./render.js";

const BASE = "/client/v1";
let mounted = 0;

/** A client API call with an optional Idempotency-Key; throws ApiError with the API's own message. */
async function call(method, path, body, key) {
  const headers = { Authorization: `Bearer ${session.token || ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (key) headers["Idempotency-Key"] = key;
  let response;
  try {
    response = await fetch(BASE + path, { method, headers, cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "network_error", "Can't reach the server. Check your connection and try again.");
  }
  const answer = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError(response.status, answer?.error?.code || "error",
      answer?.error?.message || `The request failed (HTTP ${response.status}).`);
  }
  return answer;
}

function day(ms) {
  return new Date(ms).toLocaleDateString(undefined, { day: "numeric", month: "short" });
}

/** What a subscription's state says to the person who holds it. */
export function stateText(sub) {
  if (!sub) return "";
  if (sub.status === "active" && sub.current_period_end === null) return "Paid · yours for good";
  if (sub.status === "active" && sub.cancel_at_period_end) {
    return `Cancels at period end · access until ${day(sub.current_period_end)}`;
  }
  if (sub.status === "active") return `Subscribed · renews ${day(sub.current_period_end)}`;
  if (sub.status === "past_due") return `Payment failed — top up your wallet by ${day(sub.grace_until)} to keep access`;
  return { canceled: "Cancelled", expired: "Ended: the payment failed", refunded: "Ended and refunded" }[sub.status]
    || "Ended";
}

export async function mountSubscription(element, target) {
  element.dataset.target = `${target.kind}:${target.id}`;
  element.classList.add("sub-offer");
  // An invite link's code shows a paid group's offer to someone not in it yet (kind "invite").
  const path = `/${target.kind}s/${encodeURIComponent(target.id)}/plan`;
  const status = el("p", { class: "sub-status", attrs: { role: "status" } });
  const say = (message, isError = false) => {
    status.textContent = message || "";
    status.classList.toggle("error-message", isError);
  };
  let offer;
  try {
    offer = await call("GET", path);
    if (target.kind === "invite") offer = offer.offer;
    if (!offer) {
      element.replaceChildren(); // a free group: nothing to sell
      return null;
    }
  } catch (error) {
    if (error.status === 404 && target.canCreate && target.kind === "group") {
      element.replaceChildren(planForm(target, path, () => mountSubscription(element, target)));
    } else {
      element.replaceChildren();
    }
    return null;
  }
  const rerender = () => mountSubscription(element, target);
  element.replaceChildren(offerView(element, offer, say, rerender), status);
  return offer;
}

function offerView(element, offer, say, rerender) {
  const plan = offer.plan;
  const head = el("div", { class: "sub-head" },
    el("span", { class: "sub-diamond", text: "◆", attrs: { "aria-hidden": "true" } }),
    el("span", { class: "sub-name", text: plan.name }));
  const parts = [head];
  if (plan.description) parts.push(el("p", { class: "sub-description", text: plan.description }));
  if (offer.manages) {
    parts.push(creatorView(offer));
    return el("div", { class: "sub-card" }, ...parts);
  }
  const sub = offer.subscription;
  const live = sub && (sub.status === "active" || sub.status === "past_due");
  if (live) {
    parts.push(el("p", { class: `sub-state sub-${sub.status}`, text: stateText(sub) }));
    if (sub.current_period_end !== null && sub.status === "active") {
      const resume = sub.cancel_at_period_end;
      parts.push(el("button", {
        class: resume ? "button primary small" : "button ghost small", text: resume ? "Resume" : "Cancel subscription",
        attrs: { type: "button" },
        on: { click: async () => {
          try {
            await call("POST", `/subscriptions/${sub.id}/${resume ? "resume" : "cancel"}`);
            await rerender();
          } catch (error) { say(error.message, true); }
        } },
      }));
    }
    return el("div", { class: "sub-card" }, ...parts);
  }
  if (sub) parts.push(el("p", { class: "sub-state", text: stateText(sub) }));
  if (!plan.active) {
    parts.push(el("p", { class: "sub-price", text: "Not taking new subscribers" }));
  } else if (!offer.price) {
    parts.push(el("p", { class: "sub-price", text: "Not offered in your country" }));
  } else {
    parts.push(el("p", { class: "sub-price", text: offer.price_label }), subscribeForm(element, plan, offer, say));
  }
  return el("div", { class: "sub-card" }, ...parts);
}

function subscribeForm(element, plan, offer, say) {
  const id = `sub-pin-${++mounted}`;
  const pin = el("input", { attrs: { id, type: "password", inputmode: "numeric", autocomplete: "off",
    maxlength: "6", pattern: "[0-9]*" } });
  const pinRow = el("div", { class: "sub-pin", attrs: { hidden: true } },
    el("label", { text: "Your payment PIN", attrs: { for: id } }), pin);
  const button = el("button", { class: "button primary small sub-subscribe", attrs: { type: "submit" },
    text: `Subscribe · ${offer.price_label}` });
  const key = newClientId(); // one key per offer shown: a double click or a retry charges once
  const form = el("form", { class: "sub-form", attrs: { novalidate: true } }, pinRow, button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (pinRow.hidden) {
      pinRow.hidden = false;
      button.textContent = `Pay ${offer.price_label}`;
      pin.focus();
      return;
    }
    button.disabled = true;
    say("Paying from your wallet…");
    try {
      const sub = await call("POST", `/plans/${plan.id}/subscribe`, { pin: pin.value }, key);
      say("");
      element.dispatchEvent(new CustomEvent("subscribed", { detail: sub }));
      await mountSubscription(element, { kind: plan.target.kind, id: plan.target.id });
    } catch (error) {
      button.disabled = false;
      say(error.status === 402 ? `${error.message}. Add money in Settings → Wallet, then try again.` : error.message,
        true);
    }
  });
  return form;
}

function creatorView(offer) {
  const rows = [el("p", { class: "sub-stat", text: `${offer.subscribers} subscriber${offer.subscribers === 1 ? "" : "s"}` })];
  for (const price of offer.prices) {
    const where = price.market === "*" ? "Everywhere else" : price.market;
    rows.push(el("p", { class: "sub-stat", text: `${where}: ${price.amount} ${price.currency}` }));
  }
  for (const e of offer.earnings) {
    rows.push(el("p", { class: "sub-stat", text: `Earned ${e.net} ${e.currency} (of ${e.gross}; platform ${e.platform_cut})` }));
  }
  if (!offer.plan.active) rows.push(el("p", { class: "sub-stat", text: "Not taking new subscribers" }));
  return el("div", { class: "sub-creator" }, ...rows);
}

function planForm(target, path, done) {
  const n = ++mounted;
  const input = (name, label, attrs = {}) => {
    const id = `sub-plan-${name}-${n}`;
    return [el("label", { text: label, attrs: { for: id } }), el("input", { attrs: { id, name, type: "text", ...attrs } })];
  };
  const billingId = `sub-plan-billing-${n}`;
  const billing = el("select", { attrs: { id: billingId, name: "billing" } },
    el("option", { text: "Monthly", attrs: { value: "monthly" } }),
    el("option", { text: "Pay once", attrs: { value: "one_off" } }));
  const error = el("p", { class: "error-message", attrs: { role: "alert", hidden: true } });
  const form = el("form", { class: "sub-plan-form", attrs: { novalidate: true } },
    el("p", { class: "sub-name", text: "Sell access to this group" }),
    ...input("name", "Plan name", { maxlength: "100", placeholder: "Coaching circle" }),
    ...input("amount", "Price", { inputmode: "decimal", placeholder: "49.90" }),
    ...input("currency", "Currency", { maxlength: "3", value: "BRL" }),
    el("label", { text: "Billing", attrs: { for: billingId } }), billing,
    el("button", { class: "button primary small", text: "Make the group paid", attrs: { type: "submit" } }),
    error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = {
      name: String(data.get("name") || "").trim(),
      billing: data.get("billing"),
      prices: [{ market: "*", amount: String(data.get("amount") || "").trim(),
        currency: String(data.get("currency") || "").trim().toUpperCase() }],
    };
    try {
      await call("POST", path, body);
      await done();
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    }
  });
  return form;
}

/** The person's subscriptions, live and ended, each with its state and Cancel / Resume (the /subscriptions page). */
export async function mountSubscriptionList(element) {
  const { subscriptions } = await call("GET", "/subscriptions");
  if (!subscriptions.length) {
    element.replaceChildren(el("li", { class: "empty-list", text: "No subscriptions yet." }));
    return;
  }
  element.replaceChildren(...subscriptions.map((sub) => {
    const item = el("li", { class: "sub-item", dataset: { status: sub.status } });
    const target = { kind: sub.plan.target.kind, id: sub.plan.target.id };
    item.append(el("div", { class: "sub-offer-slot" }));
    mountSubscription(item.firstChild, target);
    return item;
  }));
}
