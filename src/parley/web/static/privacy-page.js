// The /privacy page: consent per purpose (the wording and its version, what is used and why), the EU/EEA notice
// for numbers there, what the signals store keeps of the person, and the ledger of their consent events.

import { api, session } from "./api.js";
import { signInAndReturn } from "./return-to.js";

const $ = (id) => document.getElementById(id);
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const when = (ms) => dateTime.format(new Date(ms));

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function showError(message) {
  const box = $("privacy-error");
  box.textContent = message;
  box.hidden = !message;
}

function versionLine(purpose) {
  const current = `Wording version ${purpose.wording_version}.`;
  if (!purpose.agreed_version || purpose.updated_at === null) return `${current} You have not chosen yet.`;
  const verb = purpose.granted ? "Allowed" : "Turned off";
  const older = purpose.agreed_version !== purpose.wording_version ? ` (under version ${purpose.agreed_version})` : "";
  return `${current} ${verb} on ${when(purpose.updated_at)}${older}.`;
}

function consentCard(purpose, market) {
  const card = el("article", undefined, "consent-card");
  const titleId = `consent-title-${purpose.purpose}`;
  card.setAttribute("aria-labelledby", titleId);
  const title = el("h3", purpose.title);
  title.id = titleId;
  card.append(title, el("p", purpose.wording, "consent-wording"), el("p", versionLine(purpose), "consent-version"));
  card.append(el("h4", "What we use and why"));
  const uses = el("ul", undefined, "consent-uses");
  for (const line of purpose.uses) uses.append(el("li", line));
  card.append(uses);
  const label = el("label", undefined, "consent-switch");
  const input = document.createElement("input");
  input.type = "checkbox";
  input.id = `consent-${purpose.purpose}`;
  input.checked = purpose.granted;
  input.addEventListener("change", () => save(purpose.purpose, input));
  label.append(input, ` Allow ${purpose.title.toLowerCase()}`);
  card.append(label);
  if (market.eu_eea && purpose.purpose === "ads_personalisation") {
    card.append(el("p", "For your number this never turns on interest-based ads (see the notice above).", "consent-eu"));
  }
  return card;
}

function showConsents(answer) {
  const notice = $("eu-notice");
  notice.hidden = !answer.market.eu_eea;
  $("eu-notice-text").textContent = answer.market.notice || "";
  const list = $("consent-list");
  list.replaceChildren(...answer.purposes.map((p) => consentCard(p, answer.market)));
  list.setAttribute("aria-busy", "false");
  $("never-used").replaceChildren(...answer.never_used.map((line) => el("li", line)));
}

function showHeld(held) {
  $("held-window").textContent =
    `Counters over the last ${held.window_days} days, kept whatever you choose above (they are only used as you allow).`;
  const figures = [
    ["Messages you sent", held.messages_sent],
    ["Days you were active", held.active_days],
    ["Messages to businesses", held.business_messages],
    ["Ads you opened", held.ad_clicks],
    ["Purchases in chats", held.purchases],
    ["Business categories", held.categories.length ? held.categories.join(", ") : "none"],
  ];
  $("held-figures").replaceChildren(
    ...figures.map(([name, value]) => {
      const row = el("div");
      row.append(el("dt", name), el("dd", String(value)));
      return row;
    }),
  );
}

const ACTIONS = { given: "Allowed", withdrawn: "Turned off" };

function showHistory(events, titles) {
  $("history-empty").hidden = events.length > 0;
  $("consent-history").replaceChildren(
    ...events.map((e) =>
      el("li", `${when(e.created_at)}: ${ACTIONS[e.action] || e.action} ${titles[e.purpose] || e.purpose} (wording version ${e.wording_version})`),
    ),
  );
}

let titles = {};

async function loadHistory() {
  showHistory((await api("GET", "/consents/history")).events, titles);
}

async function save(purpose, input) {
  const granted = input.checked;
  const status = $("privacy-status");
  status.textContent = "Saving…";
  input.disabled = true;
  try {
    const answer = await api("PUT", `/consents/${encodeURIComponent(purpose)}`, { granted });
    showError("");
    showConsents(answer);
    status.textContent = `Saved: ${titles[purpose] || purpose} ${granted ? "allowed" : "turned off"}.`;
    await loadHistory();
    $(`consent-${purpose}`)?.focus();
  } catch (error) {
    input.checked = !granted;
    input.disabled = false;
    status.textContent = "";
    showError(error.message);
  }
}

async function load() {
  const [consents, held] = await Promise.all([api("GET", "/consents"), api("GET", "/signals")]);
  titles = Object.fromEntries(consents.purposes.map((p) => [p.purpose, p.title]));
  showConsents(consents);
  showHeld(held);
  await loadHistory();
}

if (!session.token) {
  signInAndReturn();
} else {
  load().catch((error) => showError(error.message));
}
