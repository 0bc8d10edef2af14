// The console's Affiliates page: the program form posts to /inbox/api/console/affiliates/program; errors show as
// text next to the form, success reloads the page with the saved program.

import { ApiError, call } from "/static/console.js";

const $ = (id) => document.getElementById(id);

function showError(text) {
  const box = $("program-error");
  box.textContent = text || "";
  box.hidden = !text;
}

async function save(event) {
  event.preventDefault();
  showError("");
  const button = $("program-save");
  const body = {
    rate_percent: $("aff-rate").value.trim(),
    window_days: Number.parseInt($("aff-window").value, 10),
    hold_days: Number.parseInt($("aff-hold").value, 10),
    terms: $("aff-terms").value.trim(),
    active: $("aff-active").checked,
  };
  if (!body.rate_percent || Number.isNaN(body.window_days) || Number.isNaN(body.hold_days)) {
    showError("Fill in the commission and both windows (whole days).");
    return;
  }
  button.disabled = true;
  try {
    await call("POST", "/inbox/api/console/affiliates/program", body);
    window.location.reload();
  } catch (error) {
    showError(error instanceof ApiError ? error.message : "Could not save the program.");
    button.disabled = false;
  }
}

$("program-form")?.addEventListener("submit", save);
