// The dashboard's only I/O: the planner's API with the person's bearer token, and its event stream.

const TOKEN_KEY = 'meshwave-token';

/**
 * The token, kept in this tab's session storage (gone when the tab closes). A `#token=` fragment (the demo's
 * link) is taken once and removed from the address bar: a fragment never reaches a server, and an address
 * without it is safe to copy.
 */
export const tokenStore = {
  get() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    const given = fragment.get('token');
    if (given) {
      sessionStorage.setItem(TOKEN_KEY, given);
      history.replaceState(null, '', location.pathname + location.search);
    }
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  },
  set(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

/** A refused or failed request: the API's stable code and message, and the HTTP status. */
export class ApiFailure extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * One request with the token in the Authorization header (never in a URL but the event stream's: ADR 0014).
 * `tagged`: a GET that sends `If-None-Match: etag` (when it has one) and answers `{ body, etag, modified }`,
 * `modified` false (and no body) when the server says 304.
 */
export async function request(token, path, { method = 'GET', body, tagged = false, etag } = {}) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (etag) headers['if-none-match'] = etag;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      // the page keeps its own tag: the browser's cache neither answers nor revalidates in its place
      ...(tagged ? { cache: 'no-store' } : {}),
    });
  } catch (err) {
    throw new ApiFailure(0, 'UNREACHABLE', `the planner did not answer: ${err.message}`);
  }
  if (tagged && res.status === 304) return { modified: false, etag };
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) throw new ApiFailure(res.status, json?.code ?? String(res.status), json?.message ?? text);
  return tagged ? { modified: true, body: json, etag: res.headers.get('etag') ?? undefined } : json;
}

const EVENT_TYPES = ['transition', 'progress', 'verdict', 'action'];

/**
 * Follows `GET /v1/events`. EventSource reconnects by itself after a drop; `onOpen` runs on every (re)connect,
 * so the page reloads what it may have missed meanwhile. A stream the server refuses (the token revoked) closes
 * for good: `onClosed`. Returns a function that stops following.
 */
export function followEvents(token, { onEvent, onOpen, onDrop, onClosed }) {
  const source = new EventSource(`/v1/events?access_token=${encodeURIComponent(token)}`);
  const handle = (e) => {
    try {
      onEvent(JSON.parse(e.data));
    } catch {
      // a payload this page cannot read is skipped; the next one reloads the rollout anyway
    }
  };
  for (const type of EVENT_TYPES) source.addEventListener(type, handle);
  source.addEventListener('open', () => onOpen());
  source.addEventListener('error', () => (source.readyState === EventSource.CLOSED ? onClosed() : onDrop()));
  return () => source.close();
}

/**
 * Coalesces reloads of one resource: a reload asked for while one runs happens once after it, and reloads start
 * at least `spacingMs` apart, so a burst of events costs one request per resource, however long the burst.
 */
export function coalesced(load, spacingMs) {
  let running = false;
  let again = false;
  let lastStart = 0;
  const run = async () => {
    running = true;
    do {
      again = false;
      const wait = lastStart + spacingMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      lastStart = Date.now();
      try {
        await load();
      } catch {
        // the load shows its own error; a later event asks again
      }
    } while (again);
    running = false;
  };
  return () => {
    if (running) again = true;
    else void run();
  };
}
