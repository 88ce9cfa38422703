// One account on one node, as the SDK's Client: logs in by itself (and again
// on `401`), signs locally, verifies everything the node hands over (both
// signatures of every event, and that its origin is its author's home node
// from the author's verified identity), caches verified identities, and
// keeps a lossless live stream of the rooms it follows (LiveStream).

import { Api, ApiError, login } from './api.js';
import { b64decode, eventIdOf, hex } from './encoding.js';
import { sha256 } from './crypto.js';
import { checkAttachment, content, signEvent, signIdentity, signReport } from './events.js';
import { VerifyError, verifyEnvelope, verifyEvent, verifyIdentity } from './verify.js';

/** How many verified identities are kept. */
const IDENTITY_CACHE = 4096;
/** The largest history page the node serves. */
export const MAX_PAGE = 500;

/**
 * A timeline entry, verified:
 * - `{ kind: 'event', cursor, event, accepted, redacted }` — `event` from verifyEvent;
 * - `{ kind: 'hidden', cursor, provenance, accepted, redacted }` — a blocklist entry hides it here;
 * - `{ kind: 'error', cursor, code, message, eventId }` — it did not verify; never shown as a message.
 */
export class Client {
  /** @param {import('./keys.js').Key} key @param {string} base the node's base URL ('' = this origin) */
  constructor(key, base = '') {
    this.key = key;
    this.account = key.account;
    this.api = new Api(base);
    this.base = base;
    this.identities = new Map();
    this.pendingIdentities = new Map();
    this.info = null;
    this.loggingIn = null;
  }

  /** `GET /v1/node`, asked once. */
  async nodeInfo() {
    if (!this.info) this.info = await this.api.get('/v1/node');
    return this.info;
  }

  /** Logs in now (challenge, signed answer, token). */
  async login() {
    if (!this.loggingIn) {
      this.loggingIn = login(this.api, this.key).finally(() => {
        this.loggingIn = null;
      });
    }
    return this.loggingIn;
  }

  /** A session token, logging in when there is none. */
  async sessionToken() {
    if (!this.api.token) await this.login();
    return this.api.token;
  }

  /** Forgets the session (the next request logs in again). */
  dropSession() {
    this.api.setSession(null);
  }

  /** An authenticated request; on `401 unauthenticated` logs in again once and repeats it. */
  async authed(method, path, body, repeatable = method === 'GET') {
    return this.withSession(() => this.api.request(method, path, body, repeatable));
  }

  /** Runs `call` with a session; on `401 unauthenticated` logs in again once and runs it again. */
  async withSession(call) {
    await this.sessionToken();
    try {
      return await call();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401 && err.code === 'unauthenticated') {
        this.dropSession();
        await this.login();
        return call();
      }
      throw err;
    }
  }

  /**
   * Uploads a file (`POST /v1/media`, spec/client-api.md §10.1) and answers
   * the attachment descriptor to put in a message (spec/events.md §2.3),
   * built in canonical order from the node's answer after checking its
   * shape, plus `thumbnail` (the thumbnail's hash, or null) beside it.
   */
  async uploadMedia(file) {
    const answer = await this.withSession(() => this.api.bytes('POST', '/v1/media', file));
    let attachment;
    try {
      attachment = checkAttachment({ hash: answer?.hash, size: answer?.size, type: answer?.type, width: answer?.width, height: answer?.height });
    } catch (err) {
      throw new ApiError('bad_response', 200, `the node's upload answer is not an attachment: ${err.message}`);
    }
    return { attachment, thumbnail: typeof answer.thumbnail === 'string' ? answer.thumbnail : null };
  }

  /**
   * A file's bytes as a Blob (`GET /v1/media/{hash}`), checked to hash to
   * `hash`: a node cannot serve other bytes under a message's attachment.
   * With `thumbnail`, the image's thumbnail instead (which no signature
   * covers; it is only ever shown small, never offered as the file).
   */
  async media(hash, { thumbnail = false } = {}) {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new ApiError('bad_request', 0, 'not a media hash');
    const path = `/v1/media/${hash}${thumbnail ? '/thumbnail' : ''}`;
    const blob = await this.withSession(() => this.api.bytes('GET', path, undefined, { as: 'blob' }));
    if (!thumbnail && hex(await sha256(new Uint8Array(await blob.arrayBuffer()))) !== hash) {
      throw new VerifyError('media_mismatch', `the node served bytes that do not hash to ${hash}`);
    }
    return blob;
  }

  /**
   * Registers the account with `handle` (the name part, or name@node with
   * this node's name) and the invite code if any; verifies the attestation.
   */
  async register(handle, invite) {
    const info = await this.nodeInfo();
    const full = handle.includes('@') ? handle : `${handle}@${info.name}`;
    if (full.slice(full.indexOf('@') + 1) !== info.name) {
      throw new Error(`the handle must end in @${info.name}, the name of this node`);
    }
    if (!/^[a-z0-9][a-z0-9._-]{0,31}$/.test(full.slice(0, full.indexOf('@')))) {
      throw new Error('a handle name is 1 to 32 of a–z, 0–9, “.”, “-”, “_”, starting with a letter or digit');
    }
    const identity = await signIdentity(this.key, full, info.node);
    const resp = await this.api.post('/v1/register', { identity, invite: invite || undefined });
    const verified = await verifyIdentity({ identity, attestation: resp.attestation }, this.account);
    this.cacheIdentity(verified);
    return verified;
  }

  cacheIdentity(identity) {
    if (this.identities.size >= IDENTITY_CACHE) this.identities.delete(this.identities.keys().next().value);
    this.identities.set(identity.account, identity);
  }

  /** The verified identity of `account` (cached; `refresh` asks the node again, for fresh trust signals). */
  async identity(account, { refresh = false } = {}) {
    if (!refresh && this.identities.has(account)) return this.identities.get(account);
    if (!refresh && this.pendingIdentities.has(account)) return this.pendingIdentities.get(account);
    const pending = (async () => {
      const answer = await this.api.get(`/v1/identities/${encodeURIComponent(account)}`);
      const identity = await verifyIdentity(answer, account);
      this.cacheIdentity(identity);
      return identity;
    })().finally(() => this.pendingIdentities.delete(account));
    this.pendingIdentities.set(account, pending);
    return pending;
  }

  /** The identity if it is already verified and cached, else null. */
  cachedIdentity(account) {
    return this.identities.get(account) ?? null;
  }

  /** `GET /v1/rooms`. */
  async rooms() {
    return (await this.authed('GET', '/v1/rooms')).rooms;
  }

  /** `GET /v1/rooms/{room}` (the node's report of the room state). */
  async roomState(room) {
    return this.authed('GET', `/v1/rooms/${encodeURIComponent(room)}`);
  }

  /** A raw history page: `{ after }` or `{ before }`, and `limit`. Checked for order, not verified. */
  async fetchHistory(room, { after, before, limit = 100 }) {
    const q = before !== undefined ? `before=${before}` : `after=${after ?? 0}`;
    const page = await this.authed('GET', `/v1/rooms/${encodeURIComponent(room)}/events?${q}&limit=${limit}`);
    let last = before !== undefined ? before : after ?? 0;
    for (const item of page.events) {
      const ok = before !== undefined ? item.cursor < last : item.cursor > last;
      if (!Number.isSafeInteger(item.cursor) || item.cursor < 1 || !ok) {
        throw new ApiError('bad_response', 200, 'the node returned history out of order');
      }
      last = item.cursor;
    }
    return page;
  }

  /** A history page with every item verified (see the entry shapes above), in the query's order. */
  async history(room, query) {
    const page = await this.fetchHistory(room, query);
    const entries = [];
    // One by one, not batched: the node composes the page.
    for (const raw of page.events) entries.push(await this.verifyItem(room, raw));
    return { entries, more: Boolean(page.more) };
  }

  /**
   * Verifies one timeline item of `room`. Failures of the item become an
   * error entry; a failure to ask the node for an identity throws.
   */
  async verifyItem(room, raw) {
    const base = { cursor: raw.cursor, accepted: Boolean(raw.accepted), redacted: Boolean(raw.redacted) };
    if (raw.hidden) return { ...base, kind: 'hidden', provenance: raw.hidden };
    if (!raw.event) return { ...base, kind: 'error', code: 'malformed', message: 'the item has neither an event nor a hidden mark', eventId: null };
    try {
      const event = await this.verifyEventOf(raw.event, room);
      return { ...base, kind: 'event', event };
    } catch (err) {
      if (!(err instanceof VerifyError)) throw err;
      return { ...base, kind: 'error', code: err.code, message: err.message, eventId: await claimedId(raw.event) };
    }
  }

  /**
   * Verifies an event: signatures and structure, the room (when given), and
   * that its origin is the author's home node. Throws VerifyError.
   */
  async verifyEventOf(wire, room = null) {
    const event = await verifyEvent(wire);
    if (room !== null && event.room !== room) {
      throw new VerifyError('wrong_room', `the event belongs to room ${event.room}, not to this room`);
    }
    let identity;
    try {
      identity = await this.identity(event.author);
    } catch (err) {
      if (err instanceof VerifyError) {
        throw new VerifyError('author_identity', `the identity of the author ${event.author} does not verify: ${err.message}`);
      }
      if (err instanceof ApiError && (err.status === 404 || err.code === 'blocked')) {
        throw new VerifyError('unknown_author', `the author's home node cannot be checked: ${err.code}`);
      }
      throw err;
    }
    if (identity.home !== event.origin) {
      throw new VerifyError(
        'wrong_origin',
        `the event was stamped by ${event.origin}, but its author's home node is ${identity.home}`,
      );
    }
    return event;
  }

  /**
   * Signs `eventContent` for `room` (null for create), sends it (naming
   * `via` nodes for a join of a room not held here yet) and verifies the
   * receipt: the node must hold exactly the bytes signed, under their id and
   * room, stamped by the home node. Answers `{ id, room, cursor, event }`.
   */
  async send(room, eventContent, via = []) {
    const signed = await signEvent(this.key, room, eventContent);
    const body = { event: signed.envelope, via: via.length ? via : undefined };
    let resp;
    try {
      resp = await this.authed('POST', '/v1/events', body, true);
    } catch (err) {
      // An earlier attempt of this very event was stored after all.
      if (err instanceof ApiError && err.code === 'duplicate_event') return { id: signed.id, room, cursor: null, event: null };
      throw err;
    }
    const fail = (why) => {
      throw new VerifyError('receipt_mismatch', `the node's receipt does not match what was sent: ${why}`);
    };
    const a = resp.event && resp.event.author;
    if (!a || a.body !== signed.envelope.body || a.sig !== signed.envelope.sig || a.signer !== signed.envelope.signer) {
      fail('it holds another author body');
    }
    if (resp.event_id !== signed.id) fail(`it names the event ${resp.event_id}`);
    if (!Number.isSafeInteger(resp.cursor) || resp.cursor < 1) fail('its cursor is not a cursor');
    const event = await this.verifyEventOf(resp.event, room);
    if (resp.room !== event.room) fail(`it puts the event in room ${resp.room}`);
    return { id: signed.id, room: resp.room, cursor: resp.cursor, event };
  }

  /** Creates a room; answers its id. */
  async createRoom(name, joinRule = 'public') {
    return (await this.send(null, content.create(name, joinRule))).room;
  }

  /**
   * Files a report (spec/reports.md §11) with the evidence events in wire
   * form exactly as received, and up to 5 context events before them.
   */
  async report(fields) {
    const report = await signReport(this.key, fields);
    // The report is checked as the node will check it before it is sent:
    // its own signature, and every embedded event's.
    for (const e of [...(fields.evidence ?? []), ...(fields.context ?? [])]) await verifyEvent(e);
    return this.authed('POST', '/v1/reports', { report }, false);
  }

  /** `GET /v1/reports`: the account's reports, newest first. */
  async myReports() {
    return (await this.authed('GET', '/v1/reports')).reports;
  }
}

/** The id an event claims (SHA-256 of its author body), when its author body decodes at all. */
async function claimedId(wire) {
  try {
    return eventIdOf(await sha256(b64decode(wire.author.body)));
  } catch {
    return null;
  }
}

/** Re-exported for callers that verify envelopes of other kinds. */
export { verifyEnvelope };

/**
 * The live timelines of the rooms a client follows, over one WebSocket
 * (`/v1/stream?token=…`, spec/client-api.md §6), lossless as the SDK's
 * Subscription: each room remembers the last cursor it delivered; a repeat
 * is skipped, a jump is filled from history first; when the socket drops it
 * reconnects with backoff (logging in again when the node refused the
 * token) and resubscribes every room from its last cursor.
 *
 * Handlers: `onEntry(room, entry)` for each cursor in order (verified
 * entries as Client.verifyItem makes them), `onState('live'|'connecting'|
 * 'offline', detail)`, `onRoomError(room, error)` when the node refuses a
 * room (e.g. `not_member`: the room is then dropped).
 */
export class LiveStream {
  constructor(client, { onEntry, onState = () => {}, onRoomError = () => {} }) {
    this.client = client;
    this.onEntry = onEntry;
    this.onState = onState;
    this.onRoomError = onRoomError;
    this.rooms = new Map();
    this.ws = null;
    this.failures = 0;
    this.timer = null;
    this.closed = false;
    this.state = 'offline';
    this.connecting = false;
  }

  /** Follows `room` from the first cursor after `after`. */
  follow(room, after) {
    if (this.rooms.has(room)) return;
    this.rooms.set(room, { last: after, chain: Promise.resolve() });
    this.sendSubscribe(room);
    if (!this.ws && !this.timer && !this.connecting) this.connect();
  }

  /** Stops following `room`. */
  unfollow(room) {
    if (!this.rooms.delete(room)) return;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'unsubscribe', room }));
  }

  /** The last cursor delivered for `room` (or the starting one). */
  lastCursor(room) {
    return this.rooms.get(room)?.last ?? 0;
  }

  /** Closes the socket for good. */
  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
  }

  /** Drops the connection now and reconnects (used by tests and on 'online'). */
  reconnectNow() {
    if (this.ws) this.ws.close();
    else if (!this.connecting) {
      clearTimeout(this.timer);
      this.connect();
    }
  }

  setState(state, detail = '') {
    this.state = state;
    this.onState(state, detail);
  }

  sendSubscribe(room) {
    const r = this.rooms.get(room);
    if (r && this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: 'subscribe', room, after: r.last }));
    }
  }

  async connect() {
    this.timer = null;
    if (this.closed || this.ws || this.connecting) return;
    this.connecting = true;
    this.setState('connecting');
    let token;
    try {
      // After a failed attempt the token may be what the node refused
      // (a WebSocket upgrade's 401 is invisible to the page): log in afresh.
      if (this.failures > 0) this.client.dropSession();
      token = await this.client.sessionToken();
    } catch (err) {
      this.connecting = false;
      this.retry(err.message);
      return;
    }
    this.connecting = false;
    const base = this.client.base || location.origin;
    const url = new URL('/v1/stream', base);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('token', token);
    const ws = new WebSocket(url);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.setState('live');
      for (const room of this.rooms.keys()) this.sendSubscribe(room);
    };
    ws.onmessage = (msg) => this.onFrame(msg.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (opened) this.failures = 0;
      this.retry('the live stream closed');
    };
  }

  retry(detail) {
    if (this.closed) return;
    this.failures += 1;
    const delay = Math.min(250 * 2 ** Math.min(this.failures, 7), 15_000);
    this.setState('offline', `${detail}; reconnecting in ${Math.round(delay / 1000)} s`);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  onFrame(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (frame.type === 'event') {
      const r = this.rooms.get(frame.room);
      if (!r) return;
      r.chain = r.chain.then(() => this.onItem(frame.room, frame.item)).catch((err) => {
        // Not delivered (e.g. the identity lookup failed): reconnecting
        // resubscribes from the last cursor delivered, so nothing is lost.
        console.warn('live stream item not delivered', err);
        this.reconnectNow();
      });
    } else if (frame.type === 'error') {
      const err = new ApiError(frame.error?.code ?? 'internal', 0, frame.error?.message ?? '', frame.error ?? {});
      const room = [...this.rooms.keys()].find((id) => err.message.includes(id));
      if (err.code === 'not_member' || err.code === 'unknown_room' || err.code === 'blocked') {
        if (room) this.rooms.delete(room);
        this.onRoomError(room ?? null, err);
      }
    }
  }

  async onItem(room, raw) {
    const r = this.rooms.get(room);
    if (!r || !raw || !Number.isSafeInteger(raw.cursor) || raw.cursor <= r.last) return;
    if (raw.cursor > r.last + 1) await this.fillGap(room, raw.cursor - 1);
    if (this.rooms.get(room) !== r || raw.cursor !== r.last + 1) return;
    await this.deliver(room, r, raw);
  }

  async fillGap(room, to) {
    const r = this.rooms.get(room);
    while (r.last < to) {
      const from = r.last;
      const page = await this.client.fetchHistory(room, { after: from, limit: Math.min(to - from, MAX_PAGE) });
      for (const raw of page.events) {
        if (raw.cursor > to) break;
        if (raw.cursor === r.last + 1) await this.deliver(room, r, raw);
      }
      if (r.last === from) {
        // The node cannot serve these cursors; say so once and go on.
        this.onEntry(room, { kind: 'error', cursor: to, code: 'missing_cursors', message: `the node cannot serve cursors ${from + 1}–${to}`, eventId: null });
        r.last = to;
      }
    }
  }

  async deliver(room, r, raw) {
    const entry = await this.client.verifyItem(room, raw);
    r.last = raw.cursor;
    this.onEntry(room, entry);
  }
}
