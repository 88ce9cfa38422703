// Text forms of identifiers (spec/identities.md §1): bech32m ids (account,
// issuer, event, room) and node ids (libp2p PeerId text, base58btc), so the
// dashboard can check that a signer is who a body names.

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const BECH32M = 0x2bc830a3;
const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values) {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GEN[i];
  }
  return chk >>> 0;
}

function hrpExpand(hrp) {
  const out = [];
  for (const c of hrp) out.push(c.charCodeAt(0) >> 5);
  out.push(0);
  for (const c of hrp) out.push(c.charCodeAt(0) & 31);
  return out;
}

/** The bech32m text of 32 bytes under `hrp` (§1.1 encoding). */
export function bech32m(hrp, bytes) {
  const data = [];
  let acc = 0, bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      data.push((acc >> bits) & 31);
    }
  }
  if (bits > 0) data.push((acc << (5 - bits)) & 31);
  const mod = polymod([...hrpExpand(hrp), ...data, 0, 0, 0, 0, 0, 0]) ^ BECH32M;
  const checksum = [0, 1, 2, 3, 4, 5].map((i) => (mod >>> (5 * (5 - i))) & 31);
  return `${hrp}1${[...data, ...checksum].map((v) => CHARSET[v]).join('')}`;
}

/** The 32 bytes of a bech32m id with `hrp`, or null if it is not one. */
export function bech32mDecode(hrp, text) {
  if (typeof text !== 'string' || text.length > 100 || text !== text.toLowerCase()) return null;
  const at = text.lastIndexOf('1');
  if (text.slice(0, at) !== hrp) return null;
  const values = [];
  for (const c of text.slice(at + 1)) {
    const v = CHARSET.indexOf(c);
    if (v < 0) return null;
    values.push(v);
  }
  if (values.length < 6 || polymod([...hrpExpand(hrp), ...values]) !== BECH32M) return null;
  const out = [];
  let acc = 0, bits = 0;
  for (const v of values.slice(0, -6)) {
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 255);
    }
  }
  return out.length === 32 ? Uint8Array.from(out) : null;
}

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

function base58(bytes) {
  let n = 0n;
  for (const b of bytes) n = n * 256n + BigInt(b);
  let out = '';
  while (n > 0n) {
    out = B58[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = `1${out}`;
  }
  return out;
}

function unbase58(text) {
  let n = 0n;
  for (const c of text) {
    const v = B58.indexOf(c);
    if (v < 0) return null;
    n = n * 58n + BigInt(v);
  }
  const out = [];
  while (n > 0n) {
    out.unshift(Number(n % 256n));
    n /= 256n;
  }
  for (const c of text) {
    if (c !== '1') break;
    out.unshift(0);
  }
  return Uint8Array.from(out);
}

const PEER_PREFIX = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20];

/** The node id (PeerId text) of a 32-byte Ed25519 key (§1.2). */
export function nodeIdOf(key) {
  return base58(Uint8Array.from([...PEER_PREFIX, ...key]));
}

/** The key of a node id, or null. */
export function keyOfNode(nodeId) {
  if (typeof nodeId !== 'string' || nodeId.length > 60) return null;
  const bytes = unbase58(nodeId);
  if (!bytes || bytes.length !== 38 || PEER_PREFIX.some((b, i) => bytes[i] !== b)) return null;
  return bytes.slice(6);
}

/** The account id of a key. */
export const accountIdOf = (key) => bech32m('acct', key);

/** The issuer id of a key (a node's lists are issued by its key). */
export const issuerIdOf = (key) => bech32m('iss', key);

/** The event id of an author body's SHA-256. */
export const eventIdOf = (hash) => bech32m('ev', hash);

/** Whether two byte arrays are equal. */
export function sameBytes(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
