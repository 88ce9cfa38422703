// Building and signing what a member sends: event bodies (spec/events.md §2),
// identity documents (spec/identities.md §2) and reports (spec/reports.md §2),
// all in their canonical encoding, fields in table order, tag first.

import { canonical, utf8 } from './encoding.js';
import { TAGS, sha256, signBytes } from './crypto.js';
import { eventIdOf } from './encoding.js';

/** Limits of spec/encoding.md §6.1 that a client checks before signing. */
export const LIMITS = Object.freeze({
  messageText: 16384,
  roomName: 128,
  reason: 1024,
  reportComment: 4096,
  reportEvidence: 32,
  reportContext: 16,
  attachments: 8,
  dimension: 16384,
});

/** The media types an attachment may have (spec/events.md §2.3); the first two are images. */
export const MEDIA_TYPES = Object.freeze(['image/png', 'image/jpeg', 'application/pdf', 'text/plain', 'application/octet-stream']);

/** Whether a media type is an image's (which has dimensions and a thumbnail). */
export function isImage(type) {
  return type === 'image/png' || type === 'image/jpeg';
}

/**
 * An attachment descriptor (spec/events.md §2.3) checked and rebuilt in
 * canonical order (`hash`, `size`, `type`, `width`, `height`); throws on a
 * broken rule.
 */
export function checkAttachment(a) {
  if (typeof a?.hash !== 'string' || !/^[0-9a-f]{64}$/.test(a.hash)) throw new Error('an attachment hash is 64 lowercase hex digits');
  if (!Number.isSafeInteger(a.size) || a.size < 1) throw new Error('an attachment has at least one byte');
  if (!MEDIA_TYPES.includes(a.type)) throw new Error(`an attachment cannot be of type ${a.type}`);
  const dim = (v) => Number.isSafeInteger(v) && v >= 1 && v <= LIMITS.dimension;
  if (isImage(a.type)) {
    if (!dim(a.width) || !dim(a.height)) throw new Error(`an image has a width and height of 1 to ${LIMITS.dimension} pixels`);
    return { hash: a.hash, size: a.size, type: a.type, width: a.width, height: a.height };
  }
  if (a.width !== undefined || a.height !== undefined) throw new Error('only images have a width and height');
  return { hash: a.hash, size: a.size, type: a.type };
}

function checkAttachments(list = []) {
  if (list.length > LIMITS.attachments) throw new Error(`a message carries at most ${LIMITS.attachments} files`);
  const out = list.map(checkAttachment);
  if (new Set(out.map((a) => a.hash)).size !== out.length) throw new Error('a file is attached twice');
  return out.length ? out : undefined;
}

/** The harm categories of spec/blocklists.md §1.2, most severe first. */
export const CATEGORIES = Object.freeze([
  'child_sexual_abuse',
  'grooming',
  'sex_trafficking',
  'violence',
  'drugs',
  'harassment',
  'impersonation',
  'spam',
  'other',
]);

/** Bounded text (spec/encoding.md §6.2): at most `limit` UTF-8 bytes, no control characters but LF and TAB. */
export function checkText(text, limit, what, { nonEmpty = false } = {}) {
  if (typeof text !== 'string') throw new Error(`${what}: not text`);
  if (nonEmpty && text.length === 0) throw new Error(`${what} is empty`);
  const bytes = utf8(text).length;
  if (bytes > limit) throw new Error(`${what} is ${bytes} bytes long; at most ${limit} are allowed`);
  if (/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(text)) {
    throw new Error(`${what} holds a control character (only line feeds and tabs are allowed)`);
  }
  return text;
}

/** Event contents, each built in the canonical field order (`type` first). */
export const content = Object.freeze({
  create: (name, joinRule) => ({
    type: 'create',
    name: checkText(name, LIMITS.roomName, 'the room name', { nonEmpty: true }),
    join_rule: joinRule,
  }),
  join: () => ({ type: 'join' }),
  leave: () => ({ type: 'leave' }),
  invite: (target) => ({ type: 'invite', target }),
  kick: (target, reason) => ({ type: 'kick', target, reason: optReason(reason) }),
  message: (text, replyTo, attachments = []) => ({
    type: 'message',
    text: checkText(text, LIMITS.messageText, 'the message', { nonEmpty: attachments.length === 0 }),
    reply_to: replyTo || undefined,
    attachments: checkAttachments(attachments),
  }),
  redact: (target, reason) => ({ type: 'redact', target, reason: optReason(reason) }),
  setRole: (target, role) => ({ type: 'set_role', target, role }),
  ban: (target, reason) => ({ type: 'ban', target, reason: optReason(reason) }),
  unban: (target) => ({ type: 'unban', target }),
});

function optReason(reason) {
  if (reason === undefined || reason === null || reason === '') return undefined;
  return checkText(reason, LIMITS.reason, 'the reason');
}

let lastTs = 0;

/** The current time in ms, strictly increasing within this page (two events never share an id by accident). */
export function nextTimestamp() {
  lastTs = Math.max(Date.now(), lastTs + 1);
  return lastTs;
}

/**
 * Signs an event body `{room?, author, ts, content}` with `key` and answers
 * `{ envelope, bytes, id }` (the author envelope, the body bytes, the event id).
 */
export async function signEvent(key, room, eventContent) {
  const bytes = canonical({ room: room || undefined, author: key.account, ts: nextTimestamp(), content: eventContent });
  const envelope = await signBytes(key, TAGS.event.tag, bytes);
  return { envelope, bytes, id: eventIdOf(await sha256(bytes)) };
}

/** Signs an identity document binding `key` to `handle` with `home` as home node. */
export async function signIdentity(key, handle, home) {
  const bytes = canonical({ account: key.account, handle, home, created: Date.now() });
  return signBytes(key, TAGS.identity.tag, bytes);
}

/** An event in wire form, re-built in the canonical order it has inside a report body. */
function embedded(wire) {
  const env = (e) => ({ signer: e.signer, body: e.body, sig: e.sig });
  return { author: env(wire.author), origin: env(wire.origin) };
}

/**
 * Signs a report (spec/reports.md §2) by `key`: `evidence` and `context` are
 * events in wire form exactly as received (their signed bytes are carried
 * unchanged), `category` a wire name of CATEGORIES.
 */
export async function signReport(key, { category, subject, evidence = [], context = [], comment }) {
  if (!CATEGORIES.includes(category)) throw new Error(`unknown category ${category}`);
  if (evidence.length === 0 && !subject) throw new Error('a report needs evidence or a subject');
  if (evidence.length > LIMITS.reportEvidence) throw new Error(`at most ${LIMITS.reportEvidence} evidence events`);
  const ctx = context.slice(-LIMITS.reportContext);
  const bytes = canonical({
    reporter: key.account,
    category,
    subject: subject || undefined,
    evidence: evidence.map(embedded),
    context: ctx.length ? ctx.map(embedded) : undefined,
    comment: comment ? checkText(comment, LIMITS.reportComment, 'the comment') : undefined,
    ts: Date.now(),
  });
  return signBytes(key, TAGS.report.tag, bytes);
}
