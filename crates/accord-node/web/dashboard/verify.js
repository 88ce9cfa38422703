// What the dashboard verifies itself instead of trusting the node: the
// audit log (spec/reports.md §10: the signed head, every signed action, and
// the Merkle root over them in order, RFC 9162 as spec/blocklists.md §3)
// and the events carried as evidence (spec/events.md §3.2: both signatures,
// the signers named by the bodies, the stamp bound to the author body, with
// web/common/verify.js). Strict signature checks and id encodings come from
// web/common, loaded when needed so that the operator's pages work without.

let common = null;

/** Uses `lib` (crypto and encoding functions as web/common exports them)
 *  instead of loading web/common. */
export function useCommon(lib) {
  common = Promise.resolve(lib);
}

/** web/common's crypto and encoding modules. */
export async function commonLib() {
  if (!common) {
    common = Promise.all([
      import('/web/common/crypto.js'),
      import('/web/common/encoding.js'),
      import('/web/common/verify.js'),
    ]).then(([crypto, encoding, verify]) => ({ ...encoding, ...crypto, verifyWireEvent: verify.verifyEvent }));
    // A failed load is tried again next time.
    common.catch(() => {
      common = null;
    });
  }
  return common;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The Merkle tree hash of `leaves` (RFC 9162 §2.1.1), as 64 hex. */
export async function merkleRoot(leaves, sha256) {
  const leafHashes = await Promise.all(leaves.map((l) => sha256(concat(Uint8Array.of(0), l))));
  async function mth(hashes) {
    if (hashes.length === 1) return hashes[0];
    let k = 1;
    while (k * 2 < hashes.length) k *= 2;
    const [left, right] = await Promise.all([mth(hashes.slice(0, k)), mth(hashes.slice(k))]);
    return sha256(concat(Uint8Array.of(1), left, right));
  }
  return toHex(leaves.length === 0 ? await sha256(new Uint8Array(0)) : await mth(leafHashes));
}

/** Reads a SignedBytes envelope verified under `tag`: its signer key, body
 *  bytes and parsed body, or null when the signature does not verify. */
async function opened(envelope, tag, lib) {
  const key = lib.b64decode(envelope.signer);
  if (!(await lib.verifySigned(envelope, tag, key))) return null;
  const bytes = lib.b64decode(envelope.body);
  return { key, bytes, body: JSON.parse(decoder.decode(bytes)) };
}

/** Verifies an audit log export `{head, actions}` (spec/reports.md §10).
 *  Answers `{ok, code, index, head, actions: [{index, body, ok}]}` with the
 *  code of the first defect: bad_head, bad_action, wrong_node or
 *  root_mismatch. */
export async function verifyAudit(exported) {
  const lib = await commonLib();
  const result = { ok: false, code: null, index: null, head: null, actions: [] };
  let head;
  try {
    head = await opened(exported.head, 'accord/v1/audit-head', lib);
  } catch {
    head = null;
  }
  if (!head || head.body.node !== lib.nodeIdOfKey(head.key)) {
    result.code = 'bad_head';
    return result;
  }
  result.head = head.body;
  const bodies = [];
  for (const [index, envelope] of exported.actions.entries()) {
    let action;
    try {
      action = await opened(envelope, 'accord/v1/mod-action', lib);
    } catch {
      action = null;
    }
    const signerOk = action && [lib.accountIdOfKey(action.key), lib.nodeIdOfKey(action.key)].includes(action.body.moderator);
    if (!signerOk) {
      result.actions.push({ index, body: action ? action.body : null, ok: false });
      Object.assign(result, { code: 'bad_action', index });
      return result;
    }
    if (action.body.node !== head.body.node) {
      result.actions.push({ index, body: action.body, ok: false });
      Object.assign(result, { code: 'wrong_node', index });
      return result;
    }
    result.actions.push({ index, body: action.body, ok: true });
    bodies.push(action.bytes);
  }
  const root = await merkleRoot(bodies, lib.sha256);
  if (root !== head.body.root || bodies.length !== Number(head.body.size)) {
    result.code = 'root_mismatch';
    return result;
  }
  result.ok = true;
  result.root = root;
  return result;
}

/** Verifies one event in wire form `{author, origin}` as the chat client
 *  does (spec/events.md §3.2). Answers `{ok, error, id, body}` where `body`
 *  has the verified `author`, `ts` and `content`; never throws. */
export async function verifyEvent(wire) {
  try {
    const lib = await commonLib();
    const event = await lib.verifyWireEvent(wire);
    return { ok: true, id: event.id, body: { author: event.author, ts: event.ts, content: event.content } };
  } catch (e) {
    return { ok: false, error: e.code ? `${e.code}: ${e.message}` : e.message };
  }
}

/** The text shown for an event body's content. */
export function contentText(body) {
  const c = body && body.content;
  if (!c) return '';
  if (c.type === 'message') return c.text;
  return `(${c.type}${c.target ? ` ${c.target}` : ''})`;
}
