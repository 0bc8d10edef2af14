// Settings → Your devices (e2ee): every device signed in to this account, which one this is, and for each other
// one "Send chat history" (this browser's room keys, end-to-end encrypted to that device, so it reads the past
// messages: docs/e2ee.md) and "Sign out" (the server forgets its keys at once).

import { api } from "./api.js";
import { el } from "./render.js";
import { transferHistory } from "./secure-chats.js";

const $ = (id) => document.getElementById(id);
const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function status(text) {
  $("devices-status").textContent = text;
}

async function sendHistory(device, element) {
  if (!window.confirm(`Send your chat history to “${device.name}”? That device will be able to read your past messages.`)) return;
  element.disabled = true;
  status("Sending your chat history…");
  try {
    const sent = await transferHistory(device.id, (done, total) => {
      status(total ? `Sending your chat history… ${Math.floor((100 * done) / total)}%` : "Sending your chat history…");
    });
    status(sent ? `Sent: “${device.name}” can now read your past messages.` : "There is no chat history on this device to send.");
  } catch (error) {
    status(error.message);
  } finally {
    element.disabled = false;
  }
}

async function signOut(device, element) {
  if (!window.confirm(`Sign out “${device.name}”? It will stop receiving your messages.`)) return;
  element.disabled = true;
  try {
    await api("DELETE", `/devices/${encodeURIComponent(device.id)}`);
    status(`Signed out “${device.name}”.`);
    await showDevices(false);
  } catch (error) {
    element.disabled = false;
    status(error.message);
  }
}

function row(device) {
  const signedIn = `signed in ${when.format(new Date(device.created_at))}`;
  const detail = device.current ? `This device, ${signedIn}`
    : `Last active ${when.format(new Date(device.last_seen_at))}, ${signedIn}`;
  const about = el("div", { class: "device-about" },
    el("span", { class: "device-name", text: device.name }), el("span", { class: "device-detail", text: detail }));
  if (device.current) return el("li", { class: "device", dataset: { deviceId: device.id } }, about);
  const action = (label, className, name, onClick) => el("button", {
    class: className, text: label, attrs: { type: "button", "aria-label": `${name} ${device.name}` },
    on: { click: (event) => onClick(device, event.currentTarget) },
  });
  return el("li", { class: "device", dataset: { deviceId: device.id } }, about, el("div", { class: "device-actions" },
    action("Send chat history", "button primary small", "Send chat history to", sendHistory),
    action("Sign out", "link-button", "Sign out", signOut)));
}

/** Settings opened (or a device was signed out): list the devices again. */
export async function showDevices(clearStatus = true) {
  const list = $("device-list");
  if (!list) return;
  if (clearStatus) status("");
  try {
    const { devices } = await api("GET", "/devices");
    devices.sort((a, b) => Number(b.current) - Number(a.current) || b.last_seen_at - a.last_seen_at);
    list.replaceChildren(...devices.map(row));
  } catch (error) {
    status(error.message);
  }
}
