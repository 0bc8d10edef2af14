// The landing page of an affiliate link: signed in, the click is bound to the person and the browser goes on to
// the merchant's chat and shop; signed out, the click and the chat wait for the sign-in.

import { api, session } from "./api.js";
import { claimPendingClick, rememberClick } from "./affiliate-claim.js";

const card = document.getElementById("landing");
const target = card?.dataset.target || "";
const token = card?.dataset.claim || "";

async function go() {
  if (!target.startsWith("/app#")) return;
  rememberClick(token);
  if (session.token) {
    await claimPendingClick((method, path) => api(method, path));
    location.replace(target);
    return;
  }
  sessionStorage.setItem("parley.chat-link", target); // click-to-chat.js opens it after the sign-in
  document.getElementById("landing-signed-out").hidden = false;
}

go();
