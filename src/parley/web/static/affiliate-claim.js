// Affiliate links (`/r/{code}`): the landing page hands over a signed click token; signed in, the click is bound
// to the person at once, signed out it waits in sessionStorage (this tab only) until the app has a session.

const PENDING_KEY = "parley.affiliate-click";
const TOKEN = /^[0-9]{1,20}\.[0-9a-f]{24}$/;

/** Keep the landing page's click token for after the sign-in. */
export function rememberClick(token) {
  if (TOKEN.test(token || "")) sessionStorage.setItem(PENDING_KEY, token);
}

/** Bind a remembered click to the signed-in person; `call(method, path)` is the app's API call. Never throws. */
export async function claimPendingClick(call) {
  const token = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  if (!TOKEN.test(token || "")) return;
  try {
    await call("POST", `/affiliates/clicks/${encodeURIComponent(token)}/claim`);
  } catch {
    /* an old or foreign click: the purchase simply earns no commission */
  }
}
