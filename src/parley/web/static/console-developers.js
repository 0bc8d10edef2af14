// The console's Developers page: create and revoke API tokens (a new secret shown once), change the webhook
// callback (verified by the server's handshake; its refusal shown beside the form), send a test event and follow
// it, and the delivery log with its filter, paging and redelivery. Rows are drawn like the server draws them.

import { ApiError, banner, call, el } from "/static/console.js";

const API = "/inbox/api/console/developers";
const root = document.getElementById("developers");
const TIMEZONE = root?.dataset.timezone || "UTC";
const $ = (id) => document.getElementById(id);

const STATUS_TEXT = { delivered: "Delivered", waiting: "Waiting", failed: "Failed", dropped: "Dropped" };

/** "06 Dec 2026, 17:03:12" in the business's time zone, as the server writes it. */
function formatWhen(ms) {
  if (ms === null || ms === undefined) return "";
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-GB", {
      timeZone: TIMEZONE, day: "2-digit", month: "short", year: "numeric",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
    }).formatToParts(new Date(ms)).map((p) => [p.type, p.value]),
  );
  return `${parts.day} ${parts.month} ${parts.year}, ${parts.hour}:${parts.minute}:${parts.second}`;
}

function showError(box, error) {
  box.textContent = error instanceof ApiError ? error.message : "Something went wrong. Please try again.";
  box.hidden = false;
}

function hide(...boxes) {
  for (const box of boxes) box.hidden = true;
}

async function busy(button, work) {
  button.disabled = true;
  button.classList.add("busy");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.classList.remove("busy");
  }
}

// --- tokens ----------------------------------------------------------------------------------------------

function tokenRow(token) {
  const active = token.status === "active";
  return el("tr", { dataset: { tokenId: token.id, status: token.status } },
    el("td", { dataset: { label: "Name" }, class: "dev-name" }, token.name),
    el("td", { dataset: { label: "Created" } }, formatWhen(token.created_at)),
    el("td", { dataset: { label: "Last used" }, class: "dev-last-used" }, formatWhen(token.last_used_at) || "Never"),
    el("td", { dataset: { label: "Status" } },
      el("span", { class: `dev-status dev-status-${token.status}` }, active ? "Active" : "Revoked")),
    el("td", { class: "dev-actions" },
      active ? el("button", {
        class: "button danger small dev-revoke", type: "button", "aria-label": `Revoke ${token.name}`,
      }, "Revoke") : null),
  );
}

async function reloadTokens() {
  const { data } = await call("GET", `${API}/tokens`);
  $("tokens-body").replaceChildren(...data.map(tokenRow));
  $("tokens-empty").hidden = data.length > 0;
}

function setUpTokens() {
  const form = $("token-form");
  const name = $("token-name");
  const error = $("token-error");
  const secretBox = $("token-secret");
  const secret = $("token-secret-value");
  const copyStatus = $("token-copy-status");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    hide(error);
    if (!name.value.trim()) {
      showError(error, new ApiError(400, "invalid_request", "Give the token a name, e.g. what it is for."));
      name.focus();
      return;
    }
    try {
      const created = await busy($("token-create"), () => call("POST", `${API}/tokens`, { name: name.value }));
      secret.textContent = created.access_token;
      copyStatus.textContent = "";
      secretBox.hidden = false;
      name.value = "";
      await reloadTokens();
      $("token-copy").focus();
    } catch (failure) {
      showError(error, failure);
    }
  });

  $("token-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(secret.textContent);
      copyStatus.textContent = "Copied to the clipboard.";
    } catch {
      // No clipboard permission: select it, so the person copies it with the keyboard.
      const range = document.createRange();
      range.selectNodeContents(secret);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      copyStatus.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
    }
  });

  // Once dismissed, the secret is gone from the page: it is never shown again.
  $("token-secret-done").addEventListener("click", () => {
    secret.textContent = "";
    copyStatus.textContent = "";
    secretBox.hidden = true;
    name.focus();
  });

  // Revoking asks once more on the same button: a second click within a few seconds revokes.
  $("tokens-body").addEventListener("click", async (event) => {
    const button = event.target.closest(".dev-revoke");
    if (!button) return;
    const row = button.closest("tr");
    const name = row.querySelector(".dev-name")?.textContent || "";
    if (!button.dataset.armed) {
      button.dataset.armed = "1";
      button.textContent = "Confirm revoke";
      button.setAttribute("aria-label", `Confirm revoke of ${name}`);
      setTimeout(() => {
        if (button.isConnected && button.dataset.armed) {
          delete button.dataset.armed;
          button.textContent = "Revoke";
          button.setAttribute("aria-label", `Revoke ${name}`);
        }
      }, 6000);
      return;
    }
    banner("");
    try {
      await busy(button, () => call("POST", `${API}/tokens/${row.dataset.tokenId}/revoke`));
      await reloadTokens();
    } catch (failure) {
      banner(failure.message);
    }
  });
}

// --- webhook ---------------------------------------------------------------------------------------------

function setUpWebhook() {
  const form = $("webhook-form");
  const error = $("webhook-error");
  const saved = $("webhook-saved");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    hide(error, saved);
    const body = { callback_url: $("callback-url").value, verify_token: $("verify-token").value };
    try {
      const settings = await busy($("webhook-save"), () => call("PUT", `${API}/webhook`, body));
      $("callback-url").value = settings.callback_url || "";
      $("verify-token").value = settings.verify_token || "";
      saved.textContent = "Verified and saved: updates go to this URL from now on.";
      saved.hidden = false;
    } catch (failure) {
      showError(error, failure);
    }
  });

  $("webhook-test").addEventListener("click", async (event) => {
    hide(error, saved);
    try {
      const sent = await busy(event.currentTarget, () => call("POST", `${API}/webhook/test`));
      saved.textContent = "Test event sent: follow it in the delivery log below.";
      saved.hidden = false;
      await follow(sent.event_id);
    } catch (failure) {
      showError(error, failure);
    }
  });
}

// --- delivery log ----------------------------------------------------------------------------------------

function lastResult(d) {
  if (d.last_error) return d.last_error;
  if (d.last_status !== null && d.last_status !== undefined) return `HTTP ${d.last_status}`;
  return "—";
}

function deliveryRow(d) {
  let action = null;
  if (d.status !== "waiting") {
    action = el("button", {
      class: "button outline small dev-redeliver", type: "button", "aria-label": `Redeliver event ${d.event_id}`,
    }, "Redeliver");
  } else if (d.attempts) {
    action = el("button", {
      class: "button outline small dev-redeliver", type: "button", "aria-label": `Retry event ${d.event_id} now`,
    }, "Retry now");
  }
  return el("tr", { dataset: { eventId: d.event_id, status: d.status } },
    el("td", { dataset: { label: "Time" } }, formatWhen(d.created_at)),
    el("td", { dataset: { label: "Event" } }, d.kind),
    el("td", { dataset: { label: "Target" }, class: "dev-target" }, d.target || "—"),
    el("td", { dataset: { label: "Status" } },
      el("span", { class: `dev-status dev-status-${d.status}` }, STATUS_TEXT[d.status] || d.status)),
    el("td", { dataset: { label: "Attempts" }, class: "dev-attempts" }, String(d.attempts)),
    el("td", { dataset: { label: "Last result" }, class: "dev-result" }, lastResult(d)),
    el("td", { dataset: { label: "Latency" }, class: "dev-latency" },
      d.latency_ms === null || d.latency_ms === undefined ? "—" : `${d.latency_ms} ms`),
    el("td", { class: "dev-actions" }, action),
  );
}

function deliveriesPath(before) {
  const params = new URLSearchParams();
  const status = $("delivery-status").value;
  if (status) params.set("status", status);
  if (before) params.set("before", before);
  const query = params.toString();
  return `${API}/deliveries${query ? `?${query}` : ""}`;
}

/** The newest page again (after a change, or a filter), or the next older page appended. */
async function loadDeliveries({ older = false } = {}) {
  const more = $("deliveries-more");
  const page = await call("GET", deliveriesPath(older ? more.dataset.next : ""));
  const rows = page.data.map(deliveryRow);
  if (older) $("deliveries-body").append(...rows);
  else $("deliveries-body").replaceChildren(...rows);
  more.dataset.next = page.next || "";
  more.hidden = !page.next;
  $("deliveries-empty").hidden = $("deliveries-body").children.length > 0;
  return page.data;
}

let following = 0;

/** Refresh the log until the event has been tried again (or a while has passed): the person sees it arrive. */
async function follow(eventId, triedBefore = 0) {
  const mine = ++following;
  for (let round = 0; round < 30 && mine === following; round += 1) {
    const rows = await loadDeliveries();
    const row = rows.find((d) => d.event_id === eventId);
    if (row && row.attempts > triedBefore && row.status !== "waiting") return;
    if (row && row.attempts > triedBefore && row.next_attempt_at) return; // failed, waiting for its retry
    await new Promise((resolve) => setTimeout(resolve, 700));
  }
}

function setUpDeliveries() {
  const note = $("deliveries-note");
  $("delivery-status").addEventListener("change", () => loadDeliveries().catch((e) => banner(e.message)));
  $("deliveries-refresh").addEventListener("click", (event) =>
    busy(event.currentTarget, () => loadDeliveries()).catch((e) => banner(e.message)));
  $("deliveries-more").addEventListener("click", (event) =>
    busy(event.currentTarget, () => loadDeliveries({ older: true })).catch((e) => banner(e.message)));

  $("redeliver-failed").addEventListener("click", async (event) => {
    banner("");
    try {
      const { requeued } = await busy(event.currentTarget, () => call("POST", `${API}/deliveries/redeliver-failed`));
      note.textContent = requeued === 1 ? "1 event is on its way again." : `${requeued} events are on their way again.`;
      await loadDeliveries();
    } catch (failure) {
      banner(failure.message);
    }
  });

  $("deliveries-body").addEventListener("click", async (event) => {
    const button = event.target.closest(".dev-redeliver");
    if (!button) return;
    const row = button.closest("tr");
    const eventId = row.dataset.eventId;
    const triedBefore = Number(row.querySelector(".dev-attempts")?.textContent || 0);
    banner("");
    try {
      await busy(button, () => call("POST", `${API}/deliveries/${eventId}/redeliver`));
      note.textContent = "The event is on its way again.";
      await follow(eventId, triedBefore);
    } catch (failure) {
      banner(failure.message);
    }
  });
}

if (root) {
  setUpTokens();
  setUpWebhook();
  setUpDeliveries();
}
