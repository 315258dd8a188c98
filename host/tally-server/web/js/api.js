// The one way pages reach Tally: the same /api/v1 calls a script makes.

const BASE = '/api/v1';
let csrf = null;
let onUnauthorised = () => {};

export function setCsrf(token) { csrf = token; }
export function setUnauthorisedHandler(fn) { onUnauthorised = fn; }

export class ApiError extends Error {
  constructor(status, message, requestId) {
    super(message);
    this.status = status;
    this.requestId = requestId || null;
  }
}

// `/api/v1` + path + the query's non-empty values, as shown to people and used by scripts.
export function apiUrl(path, query = {}) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const q = params.toString();
  return BASE + path + (q ? '?' + q : '');
}

export async function api(path, { method = 'GET', query, body, quietAuth = false } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin' };
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  if (body instanceof FormData || body instanceof Blob) {
    init.body = body;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(apiUrl(path, query), init);
  } catch (e) {
    throw new ApiError(0, `Tally cannot be reached (${e.message})`);
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const message = (data && data.error) || `${res.status} ${res.statusText || 'error'}`;
    const err = new ApiError(res.status, message, data && data.request_id);
    if (res.status === 401 && !quietAuth) onUnauthorised(err);
    throw err;
  }
  return data;
}
