// A person's rights, from Settings: "Download my data" (one zip of everything Parley holds about them) and
// "Delete my account" (confirmed with their number and a fresh one-time code). Kept apart from app.js.

import { api, fetchFile, session } from "./api.js";

const $ = (id) => document.getElementById(id);

function busy(button, on) {
  button.disabled = on;
  button.classList.toggle("busy", on);
}

async function downloadData() {
  const button = $("export-data");
  const status = $("rights-status");
  busy(button, true);
  status.textContent = "Preparing your data…";
  try {
    const response = await fetchFile("/me/export");
    const blob = await response.blob();
    const name = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") || "")?.[1]
      || "parley-data.zip";
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    status.textContent = `Downloaded ${name}.`;
  } catch (error) {
    status.textContent = error.message;
  } finally {
    busy(button, false);
  }
}

function showEraseError(message) {
  $("erase-error").textContent = message || "";
  $("erase-error").hidden = !message;
}

function openErase() {
  $("erase-form").reset();
  $("erase-note").textContent = "";
  showEraseError("");
  $("erase-dialog").showModal();
  $("erase-phone").focus();
}

async function sendCode() {
  const button = $("erase-send-code");
  showEraseError("");
  busy(button, true);
  try {
    const sent = await api("POST", "/me/erase/code");
    $("erase-note").textContent = `We sent a code to ${sent.phone}. It works for ${Math.round(sent.expires_in / 60)} minutes.`;
    $("erase-code").focus();
  } catch (error) {
    showEraseError(error.message);
  } finally {
    busy(button, false);
  }
}

async function confirmErase(event) {
  event.preventDefault();
  const phone = $("erase-phone").value.trim();
  const code = $("erase-code").value.trim();
  if (!phone) return showEraseError("Type your phone number to confirm.");
  if (!/^\d{6}$/.test(code)) return showEraseError("Type the 6-digit code we sent to your number.");
  const button = $("erase-confirm");
  busy(button, true);
  showEraseError("");
  try {
    await api("POST", "/me/erase", { phone, code });
  } catch (error) {
    busy(button, false);
    return showEraseError(error.message);
  }
  // The account is gone and this device's token with it.
  session.clear();
  location.replace("/");
}

function init() {
  if (!$("export-data")) return;
  $("export-data").addEventListener("click", downloadData);
  $("erase-open").addEventListener("click", openErase);
  $("erase-send-code").addEventListener("click", sendCode);
  $("erase-form").addEventListener("submit", confirmErase);
  $("erase-cancel").addEventListener("click", () => $("erase-dialog").close());
}

init();
