// The node's HTTP API (spec/client-api.md) from the browser: JSON in and out,
// every error an ApiError with the spec's stable code.

import { canonical } from './encoding.js';
import { TAGS, signBytes } from './crypto.js';

/** An error answer of the node (`{"error": {"code", "message", …}}`), or a failure to reach it. */
export class ApiError extends Error {
  /**
   * @param {string} code the stable error code (`network` when the node could not be reached,
   *   `bad_response` when its answer was not JSON)
   * @param {number} status the HTTP status (0 when there was none)
   * @param {string} message the node's human message
   * @param {object} [detail] the rest of the error object (`provenance`, `retry_after_ms`, …)
   */
  constructor(code, status, message, detail = {}) {
    super(message || code);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.provenance = detail.provenance ?? null;
    this.retryAfterMs = detail.retry_after_ms ?? null;
    this.detail = detail;
  }
}

/** How often a refused-as-rate-limited request that is safe to repeat is sent again. */
const RATE_LIMIT_RETRIES = 3;

/** A client of one node's HTTP API. */
export class Api {
  /** @param {string} base the node's base URL; '' for the page's own origin. */
  constructor(base = '') {
    this.base = base.replace(/\/$/, '');
    this.token = null;
  }

  /** Uses `token` (or none, with null) as the bearer token of later requests. */
  setSession(token) {
    this.token = token;
  }

  /** GET `path`; answers the parsed JSON. Repeated after `rate_limited`. */
  async get(path) {
    return this.request('GET', path, undefined, true);
  }

  /** POST `body` as JSON to `path`; answers the parsed JSON. */
  async post(path, body, { repeatable = false } = {}) {
    return this.request('POST', path, body, repeatable);
  }

  /** One request; `repeatable` requests are sent again (bounded) after `rate_limited`. */
  async request(method, path, body, repeatable) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(method, path, body);
      } catch (err) {
        if (!(err instanceof ApiError) || err.code !== 'rate_limited' || !repeatable || attempt >= RATE_LIMIT_RETRIES) {
          throw err;
        }
        await sleep(Math.min(err.retryAfterMs ?? 1000, 10_000));
      }
    }
  }

  async once(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const resp = await this.fetch(method, path, headers, body === undefined ? undefined : JSON.stringify(body));
    const text = await resp.text();
    const json = parseJson(text);
    if (!resp.ok) throw failure(resp, json, text);
    if (json === null && text) throw new ApiError('bad_response', resp.status, 'the node answered something that is not JSON');
    return json;
  }

  /**
   * A request whose body is bytes (a Blob, File or ArrayBuffer, sent as
   * `application/octet-stream`) or none, answered with the parsed JSON
   * (`as: 'json'`) or the answer's bytes as a Blob (`as: 'blob'`). Errors
   * are ApiErrors as for JSON requests. Not repeated.
   */
  async bytes(method, path, body, { as = 'json' } = {}) {
    const headers = { Accept: as === 'json' ? 'application/json' : '*/*' };
    if (body !== undefined) headers['Content-Type'] = 'application/octet-stream';
    const resp = await this.fetch(method, path, headers, body);
    if (!resp.ok) {
      const text = await resp.text();
      throw failure(resp, parseJson(text), text);
    }
    if (as === 'blob') return resp.blob();
    try {
      return await resp.json();
    } catch {
      throw new ApiError('bad_response', resp.status, 'the node answered something that is not JSON');
    }
  }

  /** One fetch with the session's token; a failure to reach the node is ApiError `network`. */
  async fetch(method, path, headers, body) {
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    try {
      return await fetch(this.base + path, { method, headers, body, cache: 'no-store', credentials: 'omit' });
    } catch (err) {
      throw new ApiError('network', 0, `the node could not be reached: ${err.message}`);
    }
  }
}

/** The ApiError of an error answer (`{"error": {...}}`, or a bare status). */
/** The JSON value of an answer's text, or null if it is empty or not JSON. */
function parseJson(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

function failure(resp, json, text) {
  const e = json && json.error;
  if (e && typeof e.code === 'string') return new ApiError(e.code, resp.status, e.message ?? '', e);
  return new ApiError(resp.status === 404 ? 'not_found' : 'internal', resp.status, text.slice(0, 200) || resp.statusText);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Logs in (spec/client-api.md §2): asks a challenge for the key's account,
 * signs an `AuthResponse` over it in domain `accord/v1/auth`, and exchanges
 * it for a session token, which it sets on `api` and returns. The node's
 * answers are checked: the challenge must name the node `GET /v1/node` names,
 * and the session must be for the key's account.
 */
export async function login(api, key) {
  const info = await api.get('/v1/node');
  const challenge = await api.post('/v1/auth/challenge', { account: key.account }, { repeatable: true });
  if (challenge.node !== info.node) {
    throw new ApiError('bad_response', 200, `the login challenge names node ${challenge.node}, but the node is ${info.node}`);
  }
  const body = canonical({ account: key.account, node: info.node, challenge: challenge.challenge, ts: Date.now() });
  const response = await signBytes(key, TAGS.auth.tag, body);
  const session = await api.post('/v1/auth/login', { response }, { repeatable: true });
  if (session.account !== key.account) {
    throw new ApiError('bad_response', 200, `the node opened a session for ${session.account}, not ${key.account}`);
  }
  api.setSession(session.token);
  api.sessionExpires = session.expires;
  return session.token;
}
