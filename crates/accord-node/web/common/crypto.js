// Hashes and signatures (spec/encoding.md §2, §4) on WebCrypto.
//
// Ed25519 verification is WebCrypto's (BoringSSL in Chromium: cofactorless,
// `R` compared byte for byte, so a non-canonical `R` never verifies), plus the
// checks of spec/encoding.md §2.4 that WebCrypto does not promise: the key is
// a canonical, decodable point of not-small order, `S < L`, and `R` is not a
// small-order point.

import { b64decode, b64encode, bytesEqual, concat, hex, utf8 } from './encoding.js';

const P = (1n << 255n) - 19n;
const L = (1n << 252n) + 27742317777372353535851937790883648493n;
const D = (P - ((121665n * modPow(121666n, P - 2n, P)) % P)) % P;
const SQRT_M1 = modPow(2n, (P - 1n) / 4n, P);

/** The canonical encodings of the 8 points of small order (their order divides 8). */
const SMALL_ORDER = new Set([
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
]);

/** Domain tags (spec/encoding.md §2.3) and body limits. */
export const TAGS = Object.freeze({
  identity: { tag: 'accord/v1/identity', limit: 2048 },
  attestation: { tag: 'accord/v1/attestation', limit: 2048 },
  event: { tag: 'accord/v1/event', limit: 24576 },
  origin: { tag: 'accord/v1/event-origin', limit: 4096 },
  report: { tag: 'accord/v1/report', limit: 1048576 },
  auth: { tag: 'accord/v1/auth', limit: 1024 },
  modAction: { tag: 'accord/v1/mod-action', limit: 4096 },
  auditHead: { tag: 'accord/v1/audit-head', limit: 1024 },
  manifest: { tag: 'accord/v1/manifest', limit: 262144 },
});

function modPow(base, exp, mod) {
  let result = 1n;
  base %= mod;
  while (exp > 0n) {
    if (exp & 1n) result = (result * base) % mod;
    base = (base * base) % mod;
    exp >>= 1n;
  }
  return result;
}

function littleEndian(bytes) {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

/** Whether `x` is a canonical 32-byte encoding of an Edwards point (RFC 8032 §5.1.3). */
function decodesAsPoint(bytes) {
  const y = littleEndian(bytes) & ((1n << 255n) - 1n);
  const sign = bytes[31] >> 7;
  if (y >= P) return false;
  const y2 = (y * y) % P;
  const u = (y2 - 1n + P) % P;
  const v = (D * y2 + 1n) % P;
  const v3 = (v * v * v) % P;
  let x = (u * v3 * modPow((u * v3 * v3 * v) % P, (P - 5n) / 8n, P)) % P;
  const vx2 = (v * x * x) % P;
  if (vx2 !== u) {
    if (vx2 !== (P - u) % P) return false;
    x = (x * SQRT_M1) % P;
  }
  return !(x === 0n && sign === 1);
}

/**
 * Whether 32 bytes are an acceptable public key (spec/encoding.md §2.4 step
 * 1): a canonical encoding of a curve point that is not of small order.
 */
export function isValidPublicKey(bytes) {
  return bytes instanceof Uint8Array && bytes.length === 32 && !SMALL_ORDER.has(hex(bytes)) && decodesAsPoint(bytes);
}

/** SHA-256 of `bytes`. */
export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

/** `TAG ‖ 0x00 ‖ BODY` (spec/encoding.md §2.2). */
export function signingInput(tag, bytes) {
  return concat(utf8(tag), new Uint8Array([0]), bytes);
}

const verifyKeys = new Map();

async function verifyKey(publicKey) {
  const id = hex(publicKey);
  let key = verifyKeys.get(id);
  if (!key) {
    key = await crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
    if (verifyKeys.size > 4096) verifyKeys.clear();
    verifyKeys.set(id, key);
  }
  return key;
}

/**
 * Strict Ed25519 verification (spec/encoding.md §2.4) of `sig` by
 * `publicKey` over `message`.
 */
export async function verifyStrict(publicKey, sig, message) {
  if (!isValidPublicKey(publicKey) || !(sig instanceof Uint8Array) || sig.length !== 64) return false;
  if (littleEndian(sig.subarray(32)) >= L) return false;
  if (SMALL_ORDER.has(hex(sig.subarray(0, 32)))) return false;
  try {
    return await crypto.subtle.verify({ name: 'Ed25519' }, await verifyKey(publicKey), sig, message);
  } catch {
    return false;
  }
}

/**
 * Verifies a `SignedBytes` envelope `{signer, body, sig}` (base64 fields)
 * in domain `tag` by the key `publicKeyBytes`: the envelope's signer must be
 * that key and the signature must verify over `tag ‖ 0 ‖ body`. Malformed
 * envelopes verify as false.
 */
export async function verifySigned(envelope, tag, publicKeyBytes) {
  try {
    const signer = b64decode(envelope.signer);
    if (!bytesEqual(signer, publicKeyBytes)) return false;
    return await verifyStrict(signer, b64decode(envelope.sig), signingInput(tag, b64decode(envelope.body)));
  } catch {
    return false;
  }
}

/**
 * Signs `bytes` in domain `tag` with `key` (from keys.js) and returns the
 * `SignedBytes` envelope, fields in the reference order.
 */
export async function signBytes(key, tag, bytes) {
  const sig = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key.privateKey, signingInput(tag, bytes)));
  return { signer: b64encode(key.publicKey), body: b64encode(bytes), sig: b64encode(sig) };
}

/** Whether this context can sign and verify Ed25519 with WebCrypto; `{ ok, reason }`. */
export async function cryptoSupport() {
  if (typeof globalThis.isSecureContext === 'boolean' && !globalThis.isSecureContext) {
    return {
      ok: false,
      reason:
        'This page was loaded over plain HTTP from an address other than localhost, so the browser ' +
        'withholds WebCrypto and this client cannot make or use a signing key. Open it over HTTPS, ' +
        'or as http://localhost / http://127.0.0.1 on the node’s own machine.',
    };
  }
  if (!globalThis.crypto || !crypto.subtle) {
    return { ok: false, reason: 'This browser offers no WebCrypto (crypto.subtle), so this client cannot sign.' };
  }
  try {
    const probe = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
    if (!probe.privateKey) throw new Error('no key');
  } catch {
    return {
      ok: false,
      reason:
        'This browser’s WebCrypto has no Ed25519, so this client cannot sign or verify. ' +
        'Use a current browser (Chromium 137 or later, Firefox 129 or later, Safari 17 or later).',
    };
  }
  return { ok: true, reason: '' };
}
