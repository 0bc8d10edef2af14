// "Join with a link" in the sidebar (and /app#join=CODE): a free group is joined at once; a paid group shows its
// offer (subscription-offer.js) and is joined by paying for it. app.js calls initGroupJoin() once.

import { mountSubscription } from "./subscription-offer.js";

const $ = (id) => document.getElementById(id);

/** The invite code of a pasted link (…/join/CODE, …/invites/CODE/join, …#join=CODE) or of a bare code. */
export function inviteCode(text) {
  const typed = text.trim();
  const match =
    typed.match(/#join=([^&\s]+)/) || typed.match(/(?:invites|join)\/([^/?#\s]+)/);
  return decodeURIComponent(match ? match[1] : typed);
}

/** @param app {call(method, path, body), joined(group), showError(id, message)} */
export function initGroupJoin(app) {
  const form = $("join-group-form");
  const offer = $("join-group-offer");

  async function join(code) {
    app.showError("sidebar-error", null);
    offer.replaceChildren();
    try {
      const found = await app.call("GET", `/invites/${encodeURIComponent(code)}/plan`);
      const sub = found.offer?.subscription;
      const entitled = !found.offer || found.offer.manages || (sub && ["active", "past_due"].includes(sub.status));
      if (entitled) {
        app.joined(await app.call("POST", `/invites/${encodeURIComponent(code)}/join`));
        finish();
        return;
      }
      offer.addEventListener("subscribed", async () => {
        app.joined(await app.call("GET", `/groups/${found.group_id}`));
        finish();
      }, { once: true });
      await mountSubscription(offer, { kind: "invite", id: code });
      const hint = document.createElement("p");
      hint.className = "settings-hint";
      hint.textContent = "This group is paid: subscribe to join it.";
      offer.prepend(hint);
    } catch (error) {
      app.showError("sidebar-error", error.message);
    }
  }

  function finish() {
    form.reset();
    offer.replaceChildren();
    $("join-group").open = false;
    if (location.hash.startsWith("#join=")) history.replaceState(null, "", location.pathname);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const code = inviteCode($("join-group-link").value);
    if (!code) app.showError("sidebar-error", "Paste the group's invite link.");
    else join(code);
  });
  if (location.hash.startsWith("#join=")) {
    $("join-group").open = true;
    $("join-group-link").value = location.hash.slice(1);
    join(inviteCode(location.hash));
  }
}
