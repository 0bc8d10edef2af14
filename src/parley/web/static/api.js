// The one place that talks HTTP to the client API (/client/v1) and keeps the device token.

const BASE = "/client/v1";
const TOKEN_KEY = "parley.token";

/** A failed API call, carrying the API's own `{"error": {code, message}}` when there was one. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  get token() {
    return localStorage.getItem(TOKEN_KEY);
  },
  save(token) {
    localStorage.setItem(TOKEN_KEY, token);
  },
  clear() {
    localStorage.removeItem(TOKEN_KEY);
  },
};

function authHeaders(auth) {
  const token = session.token;
  return auth && token ? { Authorization: `Bearer ${token}` } : {};
}

async function send(method, path, init) {
  try {
    return await fetch(BASE + path, { method, cache: "no-store", ...init });
  } catch {
    throw new ApiError(0, "network_error", "Can't reach the server. Check your connection and try again.");
  }
}

// Errors are data: prefer the API's message, fall back to something a person can act on.
async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON: a proxy page or an empty body */
  }
  const error = body && typeof body === "object" ? body.error : null;
  if (error && typeof error.message === "string") {
    return new ApiError(response.status, error.code || "error", error.message);
  }
  const fallback = response.status >= 500
    ? "The server had a problem. Please try again in a moment."
    : `The request failed (HTTP ${response.status}).`;
  return new ApiError(response.status, "http_" + response.status, fallback);
}

/** Calls a JSON route; answers the parsed body, or null for 204. Throws ApiError. */
export async function api(method, path, body = undefined, { auth = true } = {}) {
  const headers = authHeaders(auth);
  const init = { headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await send(method, path, init);
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  return response.json();
}

/** Uploads one file as multipart (`file`); answers the media object. */
export async function uploadMedia(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  const response = await send("POST", "/media", { headers: authHeaders(true), body: form });
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}

/** Downloads media with the bearer header (an <img src> can't send it); answers a Blob. */
export async function fetchMediaBlob(mediaId) {
  const path = `/media/${encodeURIComponent(mediaId)}`;
  const response = await send("GET", path, { headers: authHeaders(true) });
  if (!response.ok) throw await errorFrom(response);
  return response.blob();
}

/** ws:// or wss:// matching the page, with the token in the query (browsers can't set WS headers). */
export function streamUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${BASE}/stream?token=${encodeURIComponent(session.token || "")}`;
}

/** A fresh idempotency key; randomUUID is missing outside secure contexts (plain http on a LAN). */
export function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// rights: the data export is a zip behind the bearer header (a plain link can't send it).
/** GETs a file route; answers the Response (its blob and Content-Disposition). Throws ApiError. */
export async function fetchFile(path) {
  const response = await send("GET", path, { headers: authHeaders(true) });
  if (!response.ok) throw await errorFrom(response);
  return response;
}
