// The dashboard's clients: the operator's admin endpoint (spec/blocklists.md
// §12, reached with the HttpOnly session cookie of §12.1a and the header
// X-Accord-Dashboard: 1 — the token itself never reaches the page's
// storage), and a moderator's member session on /v1/mod/* (spec/reports.md
// §11) through web/common/api.js.

/** A refusal of the node, with its stable code (spec/client-api.md §1.1). */
export class DashError extends Error {
  constructor(code, status, message) {
    super(message || code);
    this.code = code;
    this.status = status;
  }
}

async function refusal(response) {
  let code = 'internal', message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch {
    // Not a JSON error body (e.g. a query string that does not parse).
  }
  return new DashError(code, response.status, message);
}

const HEADERS = { 'X-Accord-Dashboard': '1' };

/** The admin endpoint, through the dashboard session cookie. */
export class AdminApi {
  async request(method, path, body) {
    const init = { method, credentials: 'same-origin', headers: { ...HEADERS }, cache: 'no-store' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(`/admin${path}`, init);
    if (!response.ok) throw await refusal(response);
    const type = response.headers.get('Content-Type') || '';
    return type.includes('application/json') ? response.json() : response.text();
  }

  get(path) {
    return this.request('GET', path);
  }

  post(path, body = {}) {
    return this.request('POST', path, body);
  }

  /** Trades the admin token for the session cookie (§12.1a). */
  async openSession(token) {
    const response = await fetch('/admin/session', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: token.trim() }),
    });
    if (!response.ok) throw await refusal(response);
    return response.json();
  }

  closeSession() {
    return this.post('/session/logout');
  }

  // Reports, the same shapes as the moderators' routes.
  cases(state, source = 'people') {
    return this.get(`/reports?state=${encodeURIComponent(state)}&source=${encodeURIComponent(source)}`);
  }

  caseDetail(id) {
    return this.get(`/reports/${encodeURIComponent(id)}`);
  }

  addNote(id, text) {
    return this.post(`/reports/${encodeURIComponent(id)}/notes`, { text });
  }

  appeals(state) {
    return this.get(`/appeals?state=${encodeURIComponent(state)}`);
  }

  audit() {
    return this.get('/audit');
  }
}

/** A moderator's routes on the client API, with a member session. */
export class ModApi {
  constructor(api, key, node) {
    this.api = api;
    this.key = key;
    this.node = node;
  }

  cases(state, source = 'people') {
    return this.api.get(`/v1/mod/cases?state=${encodeURIComponent(state)}&source=${encodeURIComponent(source)}`);
  }

  caseDetail(id) {
    return this.api.get(`/v1/mod/cases/${encodeURIComponent(id)}`);
  }

  addNote(id, text) {
    return this.api.post(`/v1/mod/cases/${encodeURIComponent(id)}/notes`, { text });
  }

  appeals(state) {
    return this.api.get(`/v1/mod/appeals?state=${encodeURIComponent(state)}`);
  }

  audit() {
    return this.api.get('/v1/audit');
  }

  act(action) {
    return this.api.post('/v1/mod/actions', { action });
  }
}
