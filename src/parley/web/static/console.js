// What every console page's module shares: the JSON call with the session's CSRF header, and the banner
// that shows what went wrong in the API's own words. Data goes into the DOM through textContent only.

const CSRF = document.querySelector(".console")?.dataset.csrf || "";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** One call to `/inbox/api/console/…`: JSON in and out; a 401 goes back to sign-in. `extraHeaders` adds
 * e.g. an `Idempotency-Key`. */
export async function call(method, path, body = undefined, extraHeaders = {}) {
  const headers = { ...extraHeaders };
  if (method !== "GET") headers["X-CSRF-Token"] = CSRF;
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    window.location.assign("/inbox/login");
    throw new ApiError(401, "unauthenticated", "Signed out.");
  }
  if (!response.ok) {
    let payload = null;
    try {
      payload = await response.json();
    } catch {
      /* not JSON */
    }
    const error = payload && typeof payload === "object" ? payload.error : null;
    const message = error && typeof error.message === "string" ? error.message
      : response.status >= 500 ? "The server had a problem. Please try again in a moment."
        : `The request failed (HTTP ${response.status}).`;
    throw new ApiError(response.status, (error && error.code) || `http_${response.status}`, message);
  }
  return response.status === 204 ? null : response.json();
}

/** Shows a message in the page's banner (role=alert); an empty text hides it. */
export function banner(text) {
  const box = document.getElementById("console-banner");
  if (!box) return;
  box.textContent = text || "";
  box.hidden = !text;
}

/** `document.createElement` with properties and children; strings become text nodes, never HTML. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("aria-") || key === "role" || key === "for") node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}
