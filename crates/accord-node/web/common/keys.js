// The member's account key in the browser.
//
// The key is an Ed25519 key pair. Its private half is a WebCrypto CryptoKey
// imported as NON-EXTRACTABLE and kept in IndexedDB (which stores CryptoKey
// objects as they are): scripts of this origin can ask the browser to sign
// with it, but cannot read its bytes through WebCrypto.
//
// Moving one identity between the CLI and the browser needs the seed, so a
// second copy is kept for export: the 32-byte seed encrypted with AES-GCM
// under a separate, also non-extractable, AES key stored next to it (the
// public key is the AES-GCM associated data). The seed is decrypted only when
// the member explicitly exports the key file, and exists in page memory only
// during an import or an export.
//
// Threat model, honestly:
// - This protects against the key leaking by accident (logs, a stray
//   `exportKey`, a copy of a JavaScript object) and keeps the seed out of
//   page memory in normal use.
// - It does NOT protect against code running in this origin (an XSS hole, a
//   malicious node serving this page): such code can sign as the member and
//   can call the export itself. The node serves this page, so the member
//   trusts the node's web assets as much as a CLI user trusts the binary they
//   run; the Content-Security-Policy (no inline or foreign scripts) narrows
//   what else can run here.
// - It does NOT protect against someone who can read the browser profile on
//   disk: browsers store non-extractable keys in the profile, and the AES key
//   sits beside the encrypted seed. Use an encrypted disk and a locked screen,
//   and keep the exported key file as carefully as the CLI's key file.
// - "Forget key" deletes both copies from this browser; without an exported
//   key file the account cannot be used again.

import { accountIdOfKey, b64decode, hex, unhex } from './encoding.js';

const DB_NAME = 'accord';
const STORE = 'keys';
const RECORD = 'member';
/** PKCS#8 for an Ed25519 private key: this prefix, then the 32-byte seed (RFC 8410). */
const PKCS8_PREFIX = unhex('302e020100300506032b657004220420');

/** An account key: `.account` (acct1…), `.publicKey` (32 bytes), `.privateKey` (non-extractable CryptoKey). */
export class Key {
  constructor(publicKey, privateKey) {
    this.publicKey = publicKey;
    this.privateKey = privateKey;
    this.account = accountIdOfKey(publicKey);
  }
}

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function withStore(mode, fn) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** The key kept in this browser, or null. */
export async function loadKey() {
  const record = await withStore('readonly', (s) => s.get(RECORD));
  if (!record) return null;
  return new Key(new Uint8Array(record.publicKey), record.privateKey);
}

/** Makes a new random key, keeps it in this browser and returns it. */
export async function createKey() {
  const seed = crypto.getRandomValues(new Uint8Array(32));
  try {
    return await keepSeed(seed);
  } finally {
    seed.fill(0);
  }
}

/**
 * Parses a key file of the CLI (64 hexadecimal digits of the seed, then a
 * newline; surrounding whitespace ignored, either case), keeps the key in
 * this browser (replacing any other) and returns it.
 */
export async function importKeyFile(text) {
  const digits = String(text).trim();
  if (!/^[0-9a-fA-F]{64}$/.test(digits)) {
    throw new Error(`a key file holds 64 hexadecimal digits; this holds ${digits.length} characters`);
  }
  const seed = unhex(digits);
  try {
    return await keepSeed(seed);
  } finally {
    seed.fill(0);
  }
}

/** The key file (the CLI's format: 64 lowercase hex digits and a newline) of the key kept here. */
export async function exportKeyFile(key) {
  const record = await withStore('readonly', (s) => s.get(RECORD));
  if (!record) throw new Error('no key is kept in this browser');
  if (key && hex(new Uint8Array(record.publicKey)) !== hex(key.publicKey)) {
    throw new Error('the key kept in this browser is not this one');
  }
  const seed = new Uint8Array(
    await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: record.iv, additionalData: new Uint8Array(record.publicKey) },
      record.wrapKey,
      record.wrapped,
    ),
  );
  try {
    return `${hex(seed)}\n`;
  } finally {
    seed.fill(0);
  }
}

/** Deletes the key (both copies) from this browser. */
export async function forgetKey() {
  await withStore('readwrite', (s) => s.delete(RECORD));
}

/** Imports `seed` as a non-extractable signing key, wraps a copy for export, stores both. */
async function keepSeed(seed) {
  const pkcs8 = new Uint8Array(PKCS8_PREFIX.length + 32);
  pkcs8.set(PKCS8_PREFIX);
  pkcs8.set(seed, PKCS8_PREFIX.length);
  try {
    // The public key: WebCrypto derives it when the private key is exported
    // as a JWK, which needs a short-lived extractable import.
    const temporary = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, true, ['sign']);
    const jwk = await crypto.subtle.exportKey('jwk', temporary);
    const publicKey = b64urlDecode(jwk.x);
    jwk.d = '';
    const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign']);
    const wrapKey = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const wrapped = new Uint8Array(
      await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: publicKey }, wrapKey, seed),
    );
    const record = { publicKey, privateKey, wrapKey, iv, wrapped };
    await withStore('readwrite', (s) => s.put(record, RECORD));
    return new Key(publicKey, privateKey);
  } finally {
    pkcs8.fill(0);
  }
}

function b64urlDecode(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  return b64decode(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
}
