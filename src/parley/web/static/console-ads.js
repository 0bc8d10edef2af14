// The console's Ads page: the "New campaign" form (an optional image upload, then campaign + ad set + ad in one
// call) and pause / resume per campaign. Everything goes through /inbox/api/console/ads; errors show as text.

import { ApiError, banner, call } from "/static/console.js";

const API = "/inbox/api/console/ads";
const $ = (id) => document.getElementById(id);

function codes(text) {
  return (text || "").split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}

async function uploadImage(file) {
  const csrf = document.querySelector(".console")?.dataset.csrf || "";
  const body = new FormData();
  body.append("file", file, file.name);
  const response = await fetch(`${API}/media`, {
    method: "POST", body, credentials: "same-origin", headers: { "X-CSRF-Token": csrf },
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, data.error?.code || "error", data.error?.message || "Upload failed.");
  return data.id;
}

function showError(text) {
  const box = $("new-campaign-error");
  box.textContent = text || "";
  box.hidden = !text;
}

async function submit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = $("new-campaign-submit");
  showError("");
  const fields = new FormData(form);
  const body = {
    name: (fields.get("name") || "").trim(),
    objective: fields.get("objective"),
    daily_budget: (fields.get("daily_budget") || "").trim(),
    bid_strategy: fields.get("bid_strategy"),
    markets: codes(fields.get("markets")),
    languages: codes(fields.get("languages")),
    interests: fields.getAll("interests"),
    headline: (fields.get("headline") || "").trim(),
    body: (fields.get("body") || "").trim(),
    prefilled_text: (fields.get("prefilled_text") || "").trim(),
    welcome_message: (fields.get("welcome_message") || "").trim(),
  };
  const bid = (fields.get("bid_amount") || "").trim();
  if (bid) body.bid_amount = bid;
  if (!body.name || !body.daily_budget || !body.headline || !body.body) {
    showError("Fill in the name, daily budget, headline and text.");
    return;
  }
  button.disabled = true;
  try {
    const file = $("ad-image").files[0];
    if (file) body.image_id = await uploadImage(file);
    await call("POST", `${API}/campaigns`, body);
    window.location.reload();
  } catch (error) {
    showError(error instanceof ApiError ? error.message : "Could not create the campaign.");
    button.disabled = false;
  }
}

async function toggle(event) {
  const button = event.target.closest(".campaign-toggle");
  if (!button) return;
  const row = button.closest("tr");
  button.disabled = true;
  try {
    await call("POST", `${API}/campaigns/${row.dataset.campaign}/status`, { status: button.dataset.next });
    window.location.reload();
  } catch (error) {
    banner(error instanceof ApiError ? error.message : "Could not change the campaign.");
    button.disabled = false;
  }
}

$("new-campaign")?.addEventListener("submit", submit);
$("campaigns-table")?.addEventListener("click", toggle);
