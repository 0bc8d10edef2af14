// The /subscriptions page: the person's subscriptions with their state and Cancel / Resume (subscription-offer.js).

import { session } from "./api.js";
import { signInAndReturn } from "./return-to.js";
import { mountSubscriptionList } from "./subscription-offer.js";

const list = document.getElementById("subscription-list");
if (!session.token) {
  signInAndReturn();
} else {
  mountSubscriptionList(list)
    .catch((error) => {
      const box = document.getElementById("subscriptions-error");
      box.textContent = error.message;
      box.hidden = false;
    })
    .finally(() => list.setAttribute("aria-busy", "false"));
}
