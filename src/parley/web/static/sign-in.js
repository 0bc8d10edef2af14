// The sign-in page: phone -> one-time code -> device token in localStorage -> /app (or the page that sent the
// person here: `?next=`, same-origin paths only, see return-to.js).

import { api, ApiError, session } from "./api.js";
import { afterSignIn } from "./click-to-chat.js";
import { requestedReturn } from "./return-to.js";

const $ = (id) => document.getElementById(id);
const DEV_POLL_MS = 2000;

let signingInPhone = null; // the +E164 form the server answered with
let resendTimer = null;

function showError(message) {
  const box = $("sign-in-error");
  box.textContent = message || "";
  box.hidden = !message;
}

function setBusy(button, busy) {
  button.disabled = busy;
  button.classList.toggle("busy", busy);
}

/** Names this device in the user's device list, e.g. "Web (Chromium)". */
function deviceName() {
  const brands = (navigator.userAgentData?.brands || []).map((b) => b.brand);
  const known = [["Microsoft Edge", "Edge"], ["Opera", "Opera"], ["Google Chrome", "Chrome"], ["Chromium", "Chromium"]];
  for (const [brand, name] of known) {
    if (brands.includes(brand)) return `Web (${name})`;
  }
  const ua = navigator.userAgent;
  const byAgent = [[/Firefox\//, "Firefox"], [/Edg\//, "Edge"], [/Chrome\//, "Chrome"], [/Safari\//, "Safari"]];
  for (const [pattern, name] of byAgent) {
    if (pattern.test(ua)) return `Web (${name})`;
  }
  return "Web";
}

function showCodeStep(phone, resendAfter) {
  $("phone-form").hidden = true;
  $("code-form").hidden = false;
  $("code-phone").textContent = phone;
  $("code").value = "";
  $("code").focus();
  startResendCountdown(resendAfter);
}

function showPhoneStep() {
  clearInterval(resendTimer);
  $("code-form").hidden = true;
  $("phone-form").hidden = false;
  showError(null);
  $("phone").focus();
}

// The server refuses a new code for `resend_after` seconds (429), so say when asking again will work.
function startResendCountdown(seconds) {
  const button = $("resend-code");
  let left = Number.isFinite(seconds) ? seconds : 30;
  clearInterval(resendTimer);
  const tick = () => {
    button.disabled = left > 0;
    button.textContent = left > 0 ? `Resend code in ${left} s` : "Resend code";
    left -= 1;
    if (left < -1) clearInterval(resendTimer);
  };
  tick();
  resendTimer = setInterval(tick, 1000);
}

async function requestCode(phone, button) {
  showError(null);
  if (!phone) {
    showError("Enter your phone number, with the country code (for example +1 415 555 0101).");
    return;
  }
  setBusy(button, true);
  try {
    const answer = await api("POST", "/auth/request-code", { phone }, { auth: false });
    signingInPhone = answer.phone;
    showCodeStep(answer.phone, answer.resend_after);
    devCodes.refresh();
  } catch (error) {
    showError(error.message);
  } finally {
    setBusy(button, false);
  }
}

async function verify(event) {
  event.preventDefault();
  showError(null);
  const code = $("code").value.trim();
  if (!code) {
    showError("Enter the code we sent you.");
    return;
  }
  const button = $("verify");
  setBusy(button, true);
  try {
    const body = { phone: signingInPhone, code, device_name: deviceName() };
    const answer = await api("POST", "/auth/verify", body, { auth: false });
    session.save(answer.token);
    location.replace(destination());
  } catch (error) {
    showError(error.message);
    setBusy(button, false);
  }
}

/** Where a signed-in person goes: a shared chat link kept for after the sign-in, else the page that asked. */
function destination() {
  return afterSignIn(requestedReturn() || "/app");
}

/** Polls GET /dev/codes; a 404 means dev codes are off, so the panel stays hidden for good. */
const devCodes = {
  timer: null,
  stopped: false,

  start() {
    this.refresh();
    this.timer = setInterval(() => {
      if (document.visibilityState === "visible") this.refresh();
    }, DEV_POLL_MS);
  },

  stop() {
    clearInterval(this.timer);
    this.stopped = true;
    $("dev-panel").hidden = true;
  },

  async refresh() {
    if (this.stopped) return;
    try {
      const answer = await api("GET", "/dev/codes", undefined, { auth: false });
      this.render(answer.codes || []);
      $("dev-panel").hidden = false;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) this.stop();
    }
  },

  render(codes) {
    const list = $("dev-codes");
    list.replaceChildren(...codes.map(devCodeItem));
    $("dev-codes-empty").hidden = codes.length > 0;
  },
};

function devCodeItem(entry) {
  const item = document.createElement("li");
  item.className = "dev-code";
  item.dataset.phone = entry.phone;
  const use = document.createElement("button");
  use.type = "button";
  use.className = "dev-code-use";
  use.title = "Use this code";
  const phone = document.createElement("span");
  phone.className = "dev-code-phone";
  phone.textContent = entry.phone;
  const code = document.createElement("code");
  code.className = "dev-code-value";
  code.textContent = entry.code;
  const age = document.createElement("span");
  age.className = "dev-code-age";
  age.textContent = timeAgo(entry.created_at);
  use.append(phone, code, age);
  use.addEventListener("click", () => useDevCode(entry));
  item.append(use);
  return item;
}

function useDevCode(entry) {
  if (entry.phone !== signingInPhone) {
    signingInPhone = entry.phone;
    $("phone").value = entry.phone;
    showCodeStep(entry.phone, 0);
  }
  $("code").value = entry.code;
  $("code").focus();
}

function timeAgo(ms) {
  const seconds = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// A device that still holds a working token skips the sign-in form.
async function redirectIfSignedIn() {
  if (!session.token) return;
  try {
    await api("GET", "/me");
    location.replace(destination());
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) session.clear();
  }
}

function init() {
  $("phone-form").addEventListener("submit", (event) => {
    event.preventDefault();
    requestCode($("phone").value.trim(), $("request-code"));
  });
  $("code-form").addEventListener("submit", verify);
  $("change-phone").addEventListener("click", showPhoneStep);
  $("resend-code").addEventListener("click", () => requestCode(signingInPhone, $("resend-code")));
  devCodes.start();
  redirectIfSignedIn();
}

init();
