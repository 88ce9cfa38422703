// Verification of signed objects in the browser, as the SDK does it:
// envelopes (spec/encoding.md §2.6), events (spec/events.md §3.2), identity
// documents with their home node's attestation (spec/identities.md §2–3).
//
// Bodies are checked on the bytes received: size, strict signature, strict
// parse with the spec's field tables, then the canonical-encoding rule
// (checked as spec/encoding.md §1.2 (a)–(c): compact re-serialisation in the
// received key order equals the bytes, keys in table order, no nulls, every id
// in its one spelling), then the signer and the cross-field rules.
//
// Known difference from the reference: integers above 2^53-1 (possible for
// `seq` and `depth`, never reached by honest nodes) are refused here, and a
// body that breaks several rules may be refused with another of their codes
// (e.g. a duplicate key is `non_canonical` here, `malformed` there).

import {
  b64decode,
  bech32mDecode,
  bytesEqual,
  eventIdOf,
  fromUtf8,
  hex,
  keyOfAccountId,
  keyOfNodeId,
  nodeIdOfKey,
  roomIdOf,
} from './encoding.js';
import { TAGS, isValidPublicKey, sha256, signingInput, verifyStrict } from './crypto.js';

/** A refusal, with the stable code of the spec (`bad_signature`, `inconsistent_event`, …). */
export class VerifyError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'VerifyError';
    this.code = code;
  }
}

class Malformed extends Error {}

const fail = (why) => {
  throw new Malformed(why);
};

// ------------------------------------------------------------ field rules
// A field rule checks a parsed JSON value, throws Malformed when it breaks
// the rule, and answers whether the value is in its canonical spelling.

function str(v, what) {
  if (typeof v !== 'string') fail(`${what}: expected a string`);
  if (typeof v.isWellFormed === 'function' && !v.isWellFormed()) fail(`${what}: lone surrogate`);
}

const bech = (hrp, isKey) => (v, what) => {
  str(v, what);
  let decoded;
  try {
    decoded = bech32mDecode(v, hrp);
  } catch (e) {
    fail(`${what}: ${e.message}`);
  }
  if (isKey && !isValidPublicKey(decoded.bytes)) fail(`${what}: not a usable public key`);
  return decoded.canonical;
};

const R = {
  account: bech('acct', true),
  room: bech('room', false),
  event: bech('ev', false),
  node(v, what) {
    str(v, what);
    let key;
    try {
      key = keyOfNodeId(v);
    } catch (e) {
      fail(`${what}: ${e.message}`);
    }
    if (!isValidPublicKey(key)) fail(`${what}: not a usable public key`);
    return nodeIdOfKey(key) === v;
  },
  int(v, what) {
    if (!Number.isSafeInteger(v) || v < 0) fail(`${what}: expected a non-negative integer below 2^53`);
    return true;
  },
  u32(v, what) {
    if (!Number.isSafeInteger(v) || v < 0 || v > 0xffffffff) fail(`${what}: expected an integer of 32 bits`);
    return true;
  },
  hash(v, what) {
    str(v, what);
    if (!/^[0-9a-fA-F]{64}$/.test(v)) fail(`${what}: expected 64 hex digits`);
    return v === v.toLowerCase();
  },
  text: (limit) => (v, what) => {
    str(v, what);
    if (new TextEncoder().encode(v).length > limit) fail(`${what}: longer than ${limit} bytes`);
    // General category Cc except LF and TAB (spec/encoding.md §6.2).
    if (/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(v)) fail(`${what}: control character`);
    return true;
  },
  oneOf: (...values) => (v, what) => {
    if (!values.includes(v)) fail(`${what}: expected one of ${values.join(', ')}`);
    return true;
  },
  handle(v, what) {
    str(v, what);
    const at = v.indexOf('@');
    if (at < 0) fail(`${what}: expected name@node`);
    if (!/^[a-z0-9][a-z0-9._-]{0,31}$/.test(v.slice(0, at))) fail(`${what}: bad handle name`);
    const node = v.slice(at + 1);
    if (node.length > 253 || !/^[a-z0-9][a-z0-9.-]*$/.test(node)) fail(`${what}: bad node name`);
    return true;
  },
  list: (rule) => (v, what) => {
    if (!Array.isArray(v)) fail(`${what}: expected an array`);
    let canon = true;
    v.forEach((x, i) => {
      canon = rule(x, `${what}[${i}]`) && canon;
    });
    return canon;
  },
};

/**
 * Checks an object against a field table `[[name, rule, presence]…]`
 * (presence: 'req', 'opt', or 'always' for arrays written even when empty).
 * Unknown and missing fields are malformed; the order, `null` optionals and
 * the spelling of the values decide the canonical answer.
 */
function struct(table, what, skip = []) {
  return (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${what}: expected an object`);
    const names = table.map((f) => f[0]);
    const keys = Object.keys(v).filter((k) => !skip.includes(k));
    for (const k of keys) if (!names.includes(k)) fail(`${what}: unknown field \`${k}\``);
    let canon = true;
    for (const [name, rule, presence] of table) {
      const present = Object.prototype.hasOwnProperty.call(v, name);
      const value = v[name];
      if (!present || value === null) {
        if (presence === 'req') fail(`${what}: missing \`${name}\``);
        if (present || presence === 'always') canon = false;
        continue;
      }
      canon = rule(value, `${what}.${name}`) && canon;
    }
    const order = names.filter((n) => keys.includes(n));
    if (order.join() !== keys.join()) canon = false;
    return canon;
  };
}

const REASON = R.text(1024);
const IMAGE_TYPES = ['image/png', 'image/jpeg'];
const ATTACHMENT = struct(
  [
    ['hash', R.hash, 'req'],
    ['size', R.int, 'req'],
    ['type', R.oneOf(...IMAGE_TYPES, 'application/pdf', 'text/plain', 'application/octet-stream'), 'req'],
    ['width', R.u32, 'opt'],
    ['height', R.u32, 'opt'],
  ],
  'attachment',
);
// An empty list is not canonical: a message without files omits the field.
const ATTACHMENTS = (v, what) => R.list(ATTACHMENT)(v, what) && v.length > 0;
const KINDS = {
  create: [
    ['name', R.text(128), 'req'],
    ['join_rule', R.oneOf('public', 'invite'), 'req'],
  ],
  join: [],
  leave: [],
  invite: [['target', R.account, 'req']],
  kick: [
    ['target', R.account, 'req'],
    ['reason', REASON, 'opt'],
  ],
  message: [
    ['text', R.text(16384), 'req'],
    ['reply_to', R.event, 'opt'],
    ['attachments', ATTACHMENTS, 'opt'],
  ],
  redact: [
    ['target', R.event, 'req'],
    ['reason', REASON, 'opt'],
  ],
  set_role: [
    ['target', R.account, 'req'],
    ['role', R.oneOf('member', 'moderator', 'owner'), 'req'],
  ],
  ban: [
    ['target', R.account, 'req'],
    ['reason', REASON, 'opt'],
  ],
  unban: [['target', R.account, 'req']],
};

function content(v, what) {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${what}: expected an object`);
  const kind = KINDS[v.type];
  if (typeof v.type !== 'string' || !kind) fail(`${what}: unknown type`);
  const canon = struct(kind, `${what}(${v.type})`, ['type'])(v);
  return canon && Object.keys(v)[0] === 'type';
}

/** The cross-field rules of a message (spec/events.md §2.2–2.3), or null. */
function messageRules(c) {
  const files = c.attachments ?? [];
  if (c.text === '' && files.length === 0) return 'a message has text or files';
  if (files.length > 8) return 'a message carries at most 8 files';
  if (new Set(files.map((a) => a.hash.toLowerCase())).size !== files.length) return 'a file is attached twice';
  for (const a of files) {
    if (a.size < 1) return 'an attachment has at least one byte';
    const image = IMAGE_TYPES.includes(a.type);
    const dims = [a.width, a.height];
    if (image && !dims.every((d) => d !== undefined && d >= 1 && d <= 16384)) return 'an image has a width and height of 1 to 16384';
    if (!image && dims.some((d) => d !== undefined)) return 'only images have a width and height';
  }
  return null;
}

/** The kinds of signed object this module verifies. */
const OBJECTS = {
  event: {
    ...TAGS.event,
    rule: struct(
      [
        ['room', R.room, 'opt'],
        ['author', R.account, 'req'],
        ['ts', R.int, 'req'],
        ['content', content, 'req'],
      ],
      'event',
    ),
    signer: (b) => keyOfAccountId(b.author),
    cross(b) {
      if ((b.content.type === 'create') !== (b.room === undefined || b.room === null)) {
        return 'a room is named exactly by the events other than create';
      }
      if (b.content.type === 'message') return messageRules(b.content);
      return null;
    },
  },
  origin: {
    ...TAGS.origin,
    rule: struct(
      [
        ['event', R.event, 'req'],
        ['room', R.room, 'req'],
        ['origin', R.node, 'req'],
        ['seq', R.int, 'req'],
        ['depth', R.int, 'req'],
        ['prev', R.list(R.event), 'always'],
        ['received', R.int, 'req'],
      ],
      'stamp',
    ),
    signer: (b) => keyOfNodeId(b.origin),
    cross(b) {
      const prev = b.prev ?? [];
      if (b.seq < 1) return 'seq starts at 1';
      if (prev.length > 16) return 'more than 16 prev references';
      if (new Set(prev).size !== prev.length) return 'duplicate prev references';
      if (prev.includes(b.event)) return 'the event references itself';
      return null;
    },
  },
  identity: {
    ...TAGS.identity,
    rule: struct(
      [
        ['account', R.account, 'req'],
        ['handle', R.handle, 'req'],
        ['home', R.node, 'req'],
        ['created', R.int, 'req'],
      ],
      'identity',
    ),
    signer: (b) => keyOfAccountId(b.account),
    cross: () => null,
  },
  attestation: {
    ...TAGS.attestation,
    rule: struct(
      [
        ['account', R.account, 'req'],
        ['identity', R.hash, 'req'],
        ['node', R.node, 'req'],
        ['registered', R.int, 'req'],
        ['level', R.oneOf('open', 'invited', 'verified'), 'req'],
      ],
      'attestation',
    ),
    signer: (b) => keyOfNodeId(b.node),
    cross: () => null,
  },
};

/** Parses a `SignedBytes` carrier (strict field set, canonical base64, usable key, 64-byte signature). */
export function parseEnvelope(env, what = 'envelope') {
  if (typeof env !== 'object' || env === null || Array.isArray(env)) throw new VerifyError('malformed', `${what} is not an object`);
  const keys = Object.keys(env).sort().join();
  if (keys !== 'body,sig,signer') throw new VerifyError('malformed', `${what} does not have exactly signer, body, sig`);
  try {
    const signer = b64decode(env.signer);
    const body = b64decode(env.body);
    const sig = b64decode(env.sig);
    if (!isValidPublicKey(signer)) throw new Error('the signer is not a usable public key');
    if (sig.length !== 64) throw new Error('the signature is not 64 bytes');
    return { signer, body, sig };
  } catch (e) {
    throw new VerifyError('malformed', `${what}: ${e.message}`);
  }
}

/**
 * Verifies a `SignedBytes` envelope as an object of `kind` ('event',
 * 'origin', 'identity', 'attestation') in the order of spec/encoding.md §2.6
 * and answers `{ value, bytes, signer }` (the parsed body, its exact bytes,
 * the signer key). Throws VerifyError with the step's code.
 */
export async function verifyEnvelope(env, kind) {
  const k = OBJECTS[kind];
  const { signer, body, sig } = parseEnvelope(env, kind);
  if (body.length > k.limit) throw new VerifyError('too_large', `the ${kind} body is longer than ${k.limit} bytes`);
  if (!(await verifyStrict(signer, sig, signingInput(k.tag, body)))) {
    throw new VerifyError('bad_signature', `the ${kind} signature does not verify`);
  }
  let value;
  let canon;
  let text;
  try {
    text = fromUtf8(body);
    value = JSON.parse(text);
    canon = k.rule(value);
  } catch (e) {
    throw new VerifyError('malformed', `the ${kind} body does not parse: ${e instanceof Malformed ? e.message : 'not JSON'}`);
  }
  if (!canon || JSON.stringify(value) !== text) {
    throw new VerifyError('non_canonical', `the ${kind} body is not in canonical form`);
  }
  if (!bytesEqual(k.signer(value), signer)) throw new VerifyError('signer_mismatch', `the ${kind} body names another signer`);
  const why = k.cross(value);
  if (why) throw new VerifyError('invalid', `the ${kind} is invalid: ${why}`);
  return { value, bytes: body, signer };
}

/**
 * Verifies a `SignedBytes` envelope of a kind this module has no field
 * table for (e.g. `TAGS.modAction`, `TAGS.auditHead` of crypto.js): size,
 * strict signature in `tag`, a JSON object whose bytes are its compact
 * re-serialisation (spec/encoding.md §1.2 (a); the field rules of the kind
 * are the caller's). Answers `{ value, bytes, signer }`; throws VerifyError.
 */
export async function verifySignedJson(env, { tag, limit }) {
  const { signer, body, sig } = parseEnvelope(env, tag);
  if (body.length > limit) throw new VerifyError('too_large', `the body is longer than ${limit} bytes`);
  if (!(await verifyStrict(signer, sig, signingInput(tag, body)))) {
    throw new VerifyError('bad_signature', `the ${tag} signature does not verify`);
  }
  let text;
  let value;
  try {
    text = fromUtf8(body);
    value = JSON.parse(text);
  } catch {
    throw new VerifyError('malformed', 'the body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new VerifyError('malformed', 'the body is not an object');
  if (JSON.stringify(value) !== text) throw new VerifyError('non_canonical', 'the body is not in canonical form');
  return { value, bytes: body, signer };
}

/**
 * Verifies an event in wire form `{author, origin}` (spec/events.md §3.2):
 * both envelopes, then that the stamp belongs to the body. Answers the
 * verified event:
 * `{ id, room, author, origin, ts, content, depth, seq, prev, received, wire }`
 * (`wire` is the event as received, for reports). Throws VerifyError.
 */
export async function verifyEvent(wire) {
  if (typeof wire !== 'object' || wire === null || Array.isArray(wire) || Object.keys(wire).sort().join() !== 'author,origin') {
    throw new VerifyError('malformed', 'the event is not {author, origin}');
  }
  const author = await verifyEnvelope(wire.author, 'event');
  const stamp = await verifyEnvelope(wire.origin, 'origin');
  const idBytes = await sha256(author.bytes);
  const id = eventIdOf(idBytes);
  const body = author.value;
  const s = stamp.value;
  const inconsistent = (why) => {
    throw new VerifyError('inconsistent_event', `the origin stamp does not belong to the event: ${why}`);
  };
  if (!bytesEqual(bech32mDecode(s.event, 'ev').bytes, idBytes)) inconsistent('it stamps another event');
  const stampRoom = bech32mDecode(s.room, 'room').bytes;
  if (body.content.type === 'create') {
    if (!bytesEqual(stampRoom, idBytes)) inconsistent('a create event is its own room');
    if (s.depth !== 0 || s.prev.length !== 0 || s.seq !== 1) inconsistent('a create has depth 0, no prev, seq 1');
  } else {
    if (!bytesEqual(stampRoom, bech32mDecode(body.room, 'room').bytes)) inconsistent('it names another room');
    if (s.depth === 0 || s.prev.length === 0) inconsistent('only a create has depth 0 and no prev');
  }
  return {
    id,
    room: body.content.type === 'create' ? roomIdOf(idBytes) : body.room,
    author: body.author,
    origin: s.origin,
    ts: body.ts,
    content: body.content,
    depth: s.depth,
    seq: s.seq,
    prev: s.prev,
    received: s.received,
    wire,
  };
}

/**
 * Verifies an identity answer `{identity, attestation, trust?}` of
 * `GET /v1/identities/{account}` (or of registration, without trust): both
 * envelopes, and that the attestation is for the document (same account, the
 * hash of the document's bytes, signed by the document's home node), and, if
 * `account` is given, that it is that account's. The trust signals' home,
 * level and registration time are taken from the verified objects, not from
 * the node's word. Throws VerifyError.
 */
export async function verifyIdentity(answer, account = null) {
  const doc = await verifyEnvelope(answer.identity, 'identity');
  const att = await verifyEnvelope(answer.attestation, 'attestation');
  const d = doc.value;
  const a = att.value;
  const mismatch = (why) => {
    throw new VerifyError('identity_mismatch', `the identity of ${d.account} does not hold together: ${why}`);
  };
  if (a.account !== d.account) mismatch('the attestation is for another account');
  if (a.identity.toLowerCase() !== hex(await sha256(doc.bytes))) mismatch('the attestation names another identity document');
  if (a.node !== d.home) mismatch(`the document names home ${d.home}, the attestation is by ${a.node}`);
  if (account !== null && d.account !== account) mismatch(`the node returned the identity of ${d.account}`);
  const raw = answer.trust && typeof answer.trust === 'object' ? answer.trust : null;
  return {
    account: d.account,
    handle: d.handle,
    home: d.home,
    created: d.created,
    registered: a.registered,
    level: a.level,
    trust: raw && {
      home: d.home,
      level: a.level,
      registered: a.registered,
      ageMs: Number.isSafeInteger(raw.age_ms) ? raw.age_ms : null,
      flags: Array.isArray(raw.flags) ? raw.flags : [],
      reports: Number.isSafeInteger(raw.reports) ? raw.reports : 0,
    },
  };
}
