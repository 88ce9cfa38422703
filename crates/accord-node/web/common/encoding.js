// Bytes and text forms of the protocol (spec/encoding.md §1, §1.3, §4;
// spec/identities.md §1): canonical JSON, strict base64, hex, bech32m ids and
// PeerId node ids. No DOM, no network: the module runs wherever ES modules and
// BigInt do.

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The UTF-8 bytes of `text`. */
export function utf8(text) {
  return encoder.encode(text);
}

/** Decodes UTF-8 strictly: invalid bytes throw, a byte-order mark is kept (and then refused by JSON). */
export function fromUtf8(bytes) {
  return strictDecoder.decode(bytes);
}

/** Byte-wise equality of two Uint8Arrays. */
export function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Concatenates Uint8Arrays. */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ------------------------------------------------------------------ JSON

/**
 * The canonical encoding of a value (spec/encoding.md §1.2) as UTF-8 bytes:
 * compact, object fields in the order they were inserted (callers build
 * objects in the spec's table order, tag first), absent fields (`undefined`
 * or `null`) omitted, strings escaped minimally, integers in plain decimal.
 * Anything that has no canonical form (fractions, negative or unsafe
 * integers, lone surrogates) throws.
 */
export function canonical(value) {
  return utf8(canonicalText(value));
}

/** `canonical` as a string. */
export function canonicalText(value) {
  if (value === null || value === undefined) throw new TypeError('canonical: no value');
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`canonical: ${value} is not a non-negative integer`);
    return String(value);
  }
  if (typeof value === 'string') {
    if (!isWellFormed(value)) throw new TypeError('canonical: string with a lone surrogate');
    // JSON.stringify escapes exactly `"`, `\`, \b \t \n \f \r and the other
    // controls below U+0020 as \u00xx (lowercase), and nothing else: the
    // minimal escaping of §1.2.
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalText).join(',')}]`;
  if (typeof value === 'object') {
    const fields = [];
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined || v === null) continue;
      fields.push(`${JSON.stringify(k)}:${canonicalText(v)}`);
    }
    return `{${fields.join(',')}}`;
  }
  throw new TypeError(`canonical: cannot encode ${typeof value}`);
}

function isWellFormed(s) {
  if (typeof s.isWellFormed === 'function') return s.isWellFormed();
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

// ---------------------------------------------------------------- base64

const B64_SHAPE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard base64 with padding (RFC 4648 §4). */
export function b64encode(bytes) {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/**
 * Decodes base64 strictly (spec/encoding.md §1.3): standard alphabet, exact
 * padding, no whitespace, zero unused bits; throws on anything else.
 */
export function b64decode(text) {
  if (typeof text !== 'string' || !B64_SHAPE.test(text)) throw new Error('not canonical base64');
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  if (b64encode(out) !== text) throw new Error('base64 with non-zero unused bits');
  return out;
}

// ------------------------------------------------------------------- hex

/** Lowercase hexadecimal. */
export function hex(bytes) {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Decodes hexadecimal of either case; throws on odd length or other characters. */
export function unhex(text) {
  if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new Error('not hexadecimal');
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// --------------------------------------------------------------- bech32m

const BECH32_ALPHABET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const BECH32M_CONST = 0x2bc830a3;

function polymod(values) {
  const gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= gen[i];
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

function convertBits(data, from, to, pad) {
  let acc = 0;
  let bits = 0;
  const out = [];
  const maxv = (1 << to) - 1;
  for (const v of data) {
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & maxv);
    }
    acc &= (1 << bits) - 1;
  }
  if (pad && bits > 0) out.push((acc << (to - bits)) & maxv);
  return out;
}

/** The bech32m text of `bytes` under `hrp` (spec/identities.md §1.1), zero padding. */
export function bech32mEncode(hrp, bytes) {
  const data = convertBits(bytes, 8, 5, true);
  const mod = polymod([...hrpExpand(hrp), ...data, 0, 0, 0, 0, 0, 0]) ^ BECH32M_CONST;
  let out = `${hrp}1`;
  for (const v of data) out += BECH32_ALPHABET[v];
  for (let i = 0; i < 6; i++) out += BECH32_ALPHABET[(mod >>> (5 * (5 - i))) & 31];
  return out;
}

/**
 * Decodes a bech32m id of `hrp` to its 32 bytes, with the decoding rules of
 * spec/identities.md §1.1 (length, checksum, lowercase, HRP, 32 bytes).
 * Returns `{ bytes, canonical }`: `canonical` is false when the padding bits
 * are not zero (decodes, but is not the id's one spelling).
 */
export function bech32mDecode(text, hrp) {
  if (typeof text !== 'string' || text.length > 100) throw new Error('not an id');
  if (text !== text.toLowerCase()) throw new Error('ids are lowercase');
  const sep = text.lastIndexOf('1');
  if (sep < 1) throw new Error('no separator');
  if (text.slice(0, sep) !== hrp) throw new Error(`expected a ${hrp}1… id`);
  const values = [];
  for (const c of text.slice(sep + 1)) {
    const v = BECH32_ALPHABET.indexOf(c);
    if (v < 0) throw new Error('invalid character');
    values.push(v);
  }
  if (values.length < 6) throw new Error('too short');
  if (polymod([...hrpExpand(hrp), ...values]) !== BECH32M_CONST) throw new Error('bad checksum');
  const data = values.slice(0, -6);
  const bytes = new Uint8Array(convertBits(data, 5, 8, false));
  if (bytes.length !== 32 || data.length !== 52) throw new Error('not 32 bytes');
  return { bytes, canonical: bech32mEncode(hrp, bytes) === text };
}

// ------------------------------------------------------- base58 / PeerId

const B58_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const PEER_ID_PREFIX = new Uint8Array([0x00, 0x24, 0x08, 0x01, 0x12, 0x20]);

/** base58btc (Bitcoin alphabet, leading zero bytes as `1`). */
export function base58Encode(bytes) {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = '';
  while (n > 0n) {
    out = B58_ALPHABET[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = `1${out}`;
  }
  return out;
}

/** Decodes base58btc; throws on other characters. */
export function base58Decode(text) {
  let n = 0n;
  let zeros = 0;
  let leading = true;
  for (const c of text) {
    const v = B58_ALPHABET.indexOf(c);
    if (v < 0) throw new Error('not base58');
    if (leading && v === 0) zeros++;
    else leading = false;
    n = n * 58n + BigInt(v);
  }
  const tail = [];
  while (n > 0n) {
    tail.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  return new Uint8Array([...new Array(zeros).fill(0), ...tail]);
}

/** The node id (PeerId text, spec/identities.md §1.2) of a 32-byte Ed25519 key. */
export function nodeIdOfKey(key) {
  return base58Encode(concat(PEER_ID_PREFIX, key));
}

/** The 32 key bytes of a node id text; throws if it is not an Ed25519 PeerId. */
export function keyOfNodeId(text) {
  if (typeof text !== 'string' || text.length > 60) throw new Error('not a node id');
  const bytes = base58Decode(text);
  if (bytes.length !== 38 || !bytesEqual(bytes.subarray(0, 6), PEER_ID_PREFIX)) throw new Error('not an Ed25519 node id');
  return bytes.slice(6);
}

/** `acct1…` of a public key. */
export function accountIdOfKey(key) {
  return bech32mEncode('acct', key);
}

/** The public key of an `acct1…` id (checksum and syntax checked, not the point). */
export function keyOfAccountId(text) {
  return bech32mDecode(text, 'acct').bytes;
}

/** `ev1…` of 32 id bytes. */
export function eventIdOf(bytes) {
  return bech32mEncode('ev', bytes);
}

/** `room1…` of 32 id bytes. */
export function roomIdOf(bytes) {
  return bech32mEncode('room', bytes);
}
