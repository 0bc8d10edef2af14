// Back to the page that asked for a sign-in: a page that needs a session sends a signed-out person to
// `/?next=/earn`, and the sign-in page goes there afterwards. Only a path of this site is followed, never
// `//host`, `https://host` or `/\host` (an open redirect would let a link sign people in, then drop them on a
// look-alike page that asks for their code).

const PARAM = "next";

/** `raw` as a same-origin path with its query and hash, or null for anything else (and for the sign-in page). */
export function safeReturnPath(raw, origin = location.origin) {
  if (typeof raw !== "string" || raw.length > 2000 || !raw.startsWith("/") || raw.startsWith("//")) return null;
  if (/[\\\u0000-\u001f\u007f]/.test(raw)) return null; // browsers read "/\evil" as "//evil"; no control characters
  let url;
  try {
    url = new URL(raw, origin);
  } catch {
    return null;
  }
  if (url.origin !== origin || url.pathname === "/") return null;
  return url.pathname + url.search + url.hash;
}

/** Sends a signed-out person to the sign-in page, which brings them back here afterwards. */
export function signInAndReturn() {
  location.replace(`/?${PARAM}=${encodeURIComponent(location.pathname + location.search + location.hash)}`);
}

/** The page the sign-in page was asked to return to (`?next=`), when it is one of this site's. */
export function requestedReturn() {
  return safeReturnPath(new URLSearchParams(location.search).get(PARAM));
}
