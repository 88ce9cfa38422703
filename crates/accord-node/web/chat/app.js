// The member's chat client, served by the node at `/`.
//
// Everything a member sends is signed here with the key kept in this browser
// (web/common/keys.js); everything the node hands over is verified here
// (web/common/client.js): both signatures of every event, and that its origin
// is its author's home node. An event that does not verify is shown as an
// error item, never as a message.
//
// Stable hooks for tests and tools (ids unless noted):
//   body[data-ready="1"]       the module script ran
//   #boot                      "Loading…", removed once the page has decided what to show
//   #unsupported, #unsupported-reason   shown when this context cannot sign (no secure context / no Ed25519)
//   #onboarding, #onboarding-error, #node-name
//   #key-step: #key-create, #key-import-form, #key-import-text, #key-import-file, #key-import-submit
//   #register-step: #register-account, #register-form, #register-handle, #register-suffix,
//     #register-invite-row, #register-invite, #register-closed, #register-submit, #login-retry, #register-forget
//   #main                      the chat (shown once logged in); body[data-account] = the account id
//   #account-button            opens #settings-dialog (text: the member's handle)
//   #conn-status[data-state]   'live' | 'connecting' | 'offline'
//   #room-list > li > button.room-item[data-room][data-name][aria-current]
//     span.room-name, span.unread-count[data-count] (absent when 0)
//   #create-room-form: #create-room-name, #create-room-rule, #create-room-submit
//   #join-room-form: #join-room-id, #join-room-via, #join-room-submit
//   #room-pane[data-room], #room-title, #room-meta, #room-info-button
//   #timeline (the scroller), #load-older, #timeline-start, #timeline-list
//   #timeline-list > li.event[data-cursor][data-kind]
//     data-kind="message": li.event-message[data-event-id][data-author] (+ .mine, .event-redacted, .event-rejected)
//       button.event-author[data-account], span.trust-badge[data-trust="young"|"open"|"quarantined"],
//       time, p.event-text, .event-actions > button.action-report / button.action-redact
//     data-kind="state": li.event-state[data-event-id][data-type] (joins, kicks, roles, …)
//     data-kind="hidden": li.event-hidden[data-list][data-entry][data-category][data-action]
//       .prov-list, .prov-entry, .prov-category, .prov-action, .prov-reason
//     data-kind="error": li.event-error[data-code][data-event-id] — the item failed verification
//   #composer, #composer-input, #composer-send
//   #composer-attach (opens the file picker), #composer-file (input type=file, multiple; also drop or paste),
//     #composer-attachments > li.attachment-chip[data-state="uploading"|"ready"][data-hash] (.chip-name,
//     .chip-meta, button.chip-remove), #composer-error[data-code][data-list][data-entry] (a refused upload, in words)
//   li.event-message .attachments: figure.attachment.attachment-image[data-hash][data-state] > button.attachment-open > img
//       (data-state 'loading' | 'waiting' | 'decoding' | 'ready' | 'missing' | 'error'; width/height from the descriptor),
//     div.attachment.attachment-file[data-hash][data-type][data-state] > a.attachment-download[download] (.file-name, .file-meta),
//     .attachment-missing (the node does not hold the file: "Not available on this node"), button.attachment-retry
//   #image-dialog: #image-dialog-frame[data-state][data-hash] > img#image-dialog-img[data-verified="1"],
//     #image-dialog-caption, #image-dialog-download
//   #announcer (aria-live: new messages), #toasts > .toast (.error)
//   #account-dialog > #account-card: dl.facts (dd[data-fact="handle"|"account"|"home"|"level"|
//     "registered"|"age"|"flags"|"reports"]), .card-warning, buttons #card-kick, #card-ban, #card-unban,
//     #card-invite, #card-role + #card-role-set, #card-report
//   #report-dialog: #report-form, #report-quote, #report-category, #report-comment, #report-submit, #report-result
//   #confirm-dialog: #confirm-title, #confirm-text, #confirm-reason, #confirm-ok, #confirm-cancel
//   #room-dialog > #room-details: #room-id-text, ul.member-list > li[data-account], #room-invite-form,
//     #room-invite-account, #room-leave
//   #settings-dialog: #settings-me, #key-export, #key-export-box, #key-export-text, #key-export-download,
//     #key-forget, #setting-min-age, #my-reports

import { Api, ApiError } from '../common/api.js';
import { cryptoSupport } from '../common/crypto.js';
import { Client, LiveStream } from '../common/client.js';
import { bech32mDecode } from '../common/encoding.js';
import { CATEGORIES, content, isImage } from '../common/events.js';
import { createKey, exportKeyFile, forgetKey, importKeyFile, loadKey } from '../common/keys.js';
import { $, fill, h, humanAge, short, timeEl } from './dom.js';
import { Attachments, MediaLoader, renderAttachments } from './media.js';

const PAGE = 50;
const NEWEST = Number.MAX_SAFE_INTEGER;
const POWER = { owner: 100, moderator: 50, member: 0 };
const DAY = 86_400_000;

const app = {
  key: null,
  client: null,
  media: null,
  attachments: null,
  node: null,
  stream: null,
  rooms: new Map(),
  current: null,
  loadingOlder: false,
  scrollTop: 0,
};

// ------------------------------------------------------------------ boot

async function boot() {
  // The module ran (under the page's Content-Security-Policy).
  document.body.dataset.ready = '1';
  wireStaticHandlers();
  const support = await cryptoSupport();
  $('boot').hidden = true;
  if (!support.ok) {
    $('unsupported-reason').textContent = support.reason;
    $('unsupported').hidden = false;
    return;
  }
  try {
    app.node = await new Api('').get('/v1/node');
    $('node-name').textContent = app.node.name;
    $('register-suffix').textContent = `@${app.node.name}`;
  } catch (err) {
    showOnboardingError(`The node does not answer: ${describe(err)}`);
  }
  const key = await loadKey().catch(() => null);
  if (key) await startWithKey(key);
  else showKeyStep();
}

function showKeyStep() {
  $('onboarding').hidden = false;
  $('key-step').hidden = false;
  $('register-step').hidden = true;
}

async function startWithKey(key) {
  app.key = key;
  app.client = new Client(key);
  app.media = new MediaLoader(app.client);
  app.attachments = new Attachments(app.client);
  $('onboarding-error').hidden = true;
  try {
    await app.client.login();
  } catch (err) {
    if (err instanceof ApiError && err.code === 'not_registered') {
      showRegisterStep();
      return;
    }
    $('onboarding').hidden = false;
    $('key-step').hidden = true;
    $('register-step').hidden = false;
    showOnboardingError(`Logging in failed: ${describe(err)}`);
    return;
  }
  await enterChat();
}

function showRegisterStep() {
  $('onboarding').hidden = false;
  $('key-step').hidden = true;
  $('register-step').hidden = false;
  $('register-account').textContent = app.key.account;
  const policy = app.node?.registration ?? 'open';
  $('register-invite-row').hidden = policy !== 'invite';
  $('register-invite').required = policy === 'invite';
  $('register-closed').hidden = policy !== 'closed';
  $('register-submit').disabled = policy === 'closed';
  $('register-handle').focus();
}

function showOnboardingError(text) {
  $('onboarding').hidden = false;
  $('onboarding-error').textContent = text;
  $('onboarding-error').hidden = false;
}

async function enterChat() {
  $('onboarding').hidden = true;
  $('main').hidden = false;
  document.body.dataset.account = app.key.account;
  $('nav-toggle').hidden = false;
  $('conn-status').hidden = false;
  const button = $('account-button');
  button.hidden = false;
  button.textContent = short(app.key.account);
  app.client
    .identity(app.key.account)
    .then((me) => {
      button.textContent = me.handle;
      button.title = `${me.handle} — your key and settings`;
    })
    .catch(() => {});
  app.stream = new LiveStream(app.client, { onEntry, onState: showConnection, onRoomError });
  await refreshRooms();
  const wanted = decodeURIComponent(location.hash.slice(1));
  if (app.rooms.has(wanted)) selectRoom(wanted);
  else if (app.rooms.size) selectRoom(app.rooms.keys().next().value);
  setInterval(() => refreshRooms().catch(() => {}), 60_000);
}

// ----------------------------------------------------------------- rooms

function roomModel(summary) {
  return {
    id: summary.room,
    name: summary.name,
    role: summary.role,
    members: summary.members,
    entries: new Map(),
    oldest: null,
    last: 0,
    more: true,
    loaded: false,
    view: null,
  };
}

/** Asks the node for the account's rooms; follows new ones, drops those left. */
async function refreshRooms() {
  let list;
  try {
    list = await app.client.rooms();
  } catch (err) {
    toast(`Could not list your rooms: ${describe(err)}`, true);
    return;
  }
  const seen = new Set();
  const fresh = [];
  for (const summary of list) {
    seen.add(summary.room);
    const known = app.rooms.get(summary.room);
    if (known) Object.assign(known, { name: summary.name, role: summary.role, members: summary.members });
    else {
      const room = roomModel(summary);
      app.rooms.set(room.id, room);
      fresh.push(room);
    }
  }
  for (const id of [...app.rooms.keys()]) if (!seen.has(id)) dropRoom(id);
  renderRoomList();
  await Promise.all(fresh.map((room) => loadInitial(room)));
}

/** The latest page of a room, then its live stream from there. */
async function loadInitial(room) {
  try {
    const page = await app.client.history(room.id, { before: NEWEST, limit: PAGE });
    for (const entry of page.entries) room.entries.set(entry.cursor, entry);
    const cursors = page.entries.map((e) => e.cursor);
    room.last = cursors.length ? Math.max(...cursors) : 0;
    room.oldest = cursors.length ? Math.min(...cursors) : null;
    room.more = page.more;
    room.loaded = true;
  } catch (err) {
    // Not followed until its latest page is in: try again shortly.
    toast(`Could not load #${room.name}: ${describe(err)}`, true);
    setTimeout(() => app.rooms.get(room.id) === room && loadInitial(room), 5000);
    return;
  }
  app.stream.follow(room.id, room.last);
  if (app.current === room.id) renderTimeline(room, { toBottom: true });
  renderRoomList();
}

function dropRoom(id) {
  app.rooms.delete(id);
  app.stream?.unfollow(id);
  if (app.current === id) {
    app.current = null;
    $('room-pane').hidden = true;
    $('room-empty').hidden = false;
  }
}

function readKey(room) {
  return `accord:read:${app.key.account}:${room}`;
}

function readCursor(room) {
  return Number(localStorage.getItem(readKey(room.id)) || 0);
}

function markRead(room) {
  if (room.last > readCursor(room)) {
    localStorage.setItem(readKey(room.id), String(room.last));
    renderRoomList();
  }
}

function unreadCount(room) {
  const read = readCursor(room);
  let n = 0;
  for (const entry of room.entries.values()) {
    if (entry.cursor > read && entry.kind === 'event' && entry.accepted && !entry.redacted) {
      const e = entry.event;
      if (e.content.type === 'message' && e.author !== app.key.account) n += 1;
    }
  }
  return n;
}

function renderRoomList() {
  const list = $('room-list');
  const focused = document.activeElement?.closest?.('.room-item')?.dataset.room;
  const items = [...app.rooms.values()].sort((a, b) => a.name.localeCompare(b.name));
  fill(
    list,
    items.map((room) => {
      const unread = room.id === app.current && isAtBottom() && document.visibilityState === 'visible' ? 0 : unreadCount(room);
      return h(
        'li',
        {},
        h(
          'button',
          {
            type: 'button',
            class: `room-item${unread ? ' has-unread' : ''}`,
            'data-room': room.id,
            'data-name': room.name,
            'aria-current': room.id === app.current ? 'true' : 'false',
            title: room.id,
            onclick: () => selectRoom(room.id),
          },
          h('span', { class: 'room-name' }, room.name || short(room.id)),
          unread ? h('span', { class: 'unread-count', 'data-count': unread, 'aria-label': `${unread} unread` }, String(unread)) : null,
        ),
      );
    }),
  );
  $('room-list-empty').hidden = items.length > 0;
  // Keyboard users keep their place when the list is redrawn.
  if (focused) list.querySelector(`.room-item[data-room="${focused}"]`)?.focus();
}

function selectRoom(id) {
  const room = app.rooms.get(id);
  if (!room) return;
  app.current = id;
  history.replaceState(null, '', `#${id}`);
  $('room-empty').hidden = true;
  $('room-pane').hidden = false;
  $('room-pane').dataset.room = id;
  $('room-title').textContent = room.name || short(id);
  renderRoomMeta(room);
  renderTimeline(room, { toBottom: true });
  closeSidebar();
  refreshRoomState(room);
  renderRoomList();
  $('composer-input').focus();
}

async function refreshRoomState(room) {
  try {
    room.view = await app.client.roomState(room.id);
    room.name = room.view.name;
    room.role = room.view.roles[app.key.account] ?? 'member';
    room.members = room.view.members.length;
    if (app.current === room.id) {
      $('room-title').textContent = room.name || short(room.id);
      renderRoomMeta(room);
    }
  } catch (err) {
    if (err instanceof ApiError && (err.code === 'not_member' || err.code === 'unknown_room')) dropRoom(room.id);
  }
}

let stateTimer = null;
function scheduleRoomState(room) {
  clearTimeout(stateTimer);
  stateTimer = setTimeout(() => refreshRoomState(room), 300);
}

function renderRoomMeta(room) {
  const parts = [`${room.members} member${room.members === 1 ? '' : 's'}`];
  if (room.role && room.role !== 'member') parts.push(`you are ${room.role}`);
  if (room.view) parts.push(room.view.join_rule === 'invite' ? 'invite only' : 'public');
  $('room-meta').textContent = parts.join(' · ');
}

function myPower(room) {
  return POWER[room.view?.roles?.[app.key.account] ?? room.role ?? 'member'] ?? 0;
}

// -------------------------------------------------------------- timeline

function isAtBottom() {
  const t = $('timeline');
  return t.scrollHeight - t.scrollTop - t.clientHeight < 40;
}

function scrollToBottom() {
  const t = $('timeline');
  t.scrollTop = t.scrollHeight;
}

function renderTimeline(room, { toBottom = false } = {}) {
  const list = $('timeline-list');
  const entries = [...room.entries.values()].sort((a, b) => a.cursor - b.cursor);
  fill(list, entries.map((e) => renderEntry(room, e)));
  for (const el of list.children) group(el);
  $('load-older').hidden = !room.more || !room.loaded;
  $('timeline-start').hidden = room.more || !room.loaded;
  if (toBottom) {
    scrollToBottom();
    app.scrollTop = $('timeline').scrollTop;
    requestAnimationFrame(scrollToBottom);
  }
  if (document.visibilityState === 'visible') markRead(room);
}

/** Messages that follow one by the same author within 5 minutes show no header of their own. */
function group(el) {
  if (!el || el.dataset.kind !== 'message') return;
  const prev = el.previousElementSibling;
  const continued =
    prev?.dataset.kind === 'message' &&
    prev.dataset.author === el.dataset.author &&
    Number(el.dataset.ts) - Number(prev.dataset.ts) < 5 * 60_000;
  el.classList.toggle('continued', Boolean(continued));
}

/** Puts an entry's element at its cursor's place (replacing an element of the same cursor). */
function placeEntry(room, entry) {
  const list = $('timeline-list');
  const el = renderEntry(room, entry);
  const existing = list.querySelector(`li[data-cursor="${entry.cursor}"]`);
  if (existing) existing.replaceWith(el);
  else {
    let after = list.lastElementChild;
    while (after && Number(after.dataset.cursor) > entry.cursor) after = after.previousElementSibling;
    if (after) after.after(el);
    else list.prepend(el);
  }
  group(el);
  group(el.nextElementSibling);
}

async function loadOlder() {
  const room = app.rooms.get(app.current);
  if (!room || !room.more || app.loadingOlder || room.oldest === null) return;
  app.loadingOlder = true;
  $('load-older').disabled = true;
  try {
    const page = await app.client.history(room.id, { before: room.oldest, limit: PAGE });
    for (const entry of page.entries) room.entries.set(entry.cursor, entry);
    if (page.entries.length) room.oldest = Math.min(room.oldest, ...page.entries.map((e) => e.cursor));
    room.more = page.more;
    if (app.current === room.id) {
      const t = $('timeline');
      const before = t.scrollHeight;
      const list = $('timeline-list');
      const first = list.firstElementChild;
      const els = [...page.entries].sort((a, b) => a.cursor - b.cursor).map((e) => renderEntry(room, e));
      if (first) first.before(...els);
      else list.append(...els);
      for (const el of els) group(el);
      group(first);
      t.scrollTop += t.scrollHeight - before;
      app.scrollTop = t.scrollTop;
      $('load-older').hidden = !room.more;
      $('timeline-start').hidden = room.more;
    }
  } catch (err) {
    toast(`Could not load older messages: ${describe(err)}`, true);
  } finally {
    app.loadingOlder = false;
    $('load-older').disabled = false;
  }
}

/** A verified entry arrived on the live stream (or as a receipt of one's own event). */
function onEntry(roomId, entry) {
  const room = app.rooms.get(roomId);
  if (!room) return;
  const isNew = !room.entries.has(entry.cursor);
  room.entries.set(entry.cursor, entry);
  room.last = Math.max(room.last, entry.cursor);
  if (room.oldest === null) room.oldest = entry.cursor;
  const e = entry.kind === 'event' ? entry.event : null;
  if (e && entry.accepted && e.content.type === 'redact') applyRedaction(room, e.content.target);
  if (e && e.content.type !== 'message' && app.current === roomId) scheduleRoomState(room);
  if (app.current === roomId) {
    const stick = isAtBottom();
    placeEntry(room, entry);
    if (stick) scrollToBottom();
    if (stick && document.visibilityState === 'visible') markRead(room);
    if (isNew && e && e.content.type === 'message' && e.author !== app.key.account && entry.accepted) {
      announce(`${nameOf(e.author)}: ${e.content.text}${filesSaid(e.content.attachments)}`);
    }
    if (isNew && entry.kind === 'error') announce('An item failed verification and is not shown.');
  }
  renderRoomList();
}

function applyRedaction(room, targetId) {
  for (const entry of room.entries.values()) {
    if (entry.kind === 'event' && entry.event.id === targetId && !entry.redacted) {
      entry.redacted = true;
      if (app.current === room.id) placeEntry(room, entry);
    }
  }
}

function onRoomError(roomId, err) {
  if (roomId && app.rooms.has(roomId)) {
    const name = app.rooms.get(roomId).name;
    if (err.code === 'not_member') toast(`You are no longer a member of #${name}.`);
    else toast(`#${name}: ${describe(err)}`, true);
    dropRoom(roomId);
    renderRoomList();
  } else {
    toast(describe(err), true);
  }
}

function showConnection(state, detail) {
  const el = $('conn-status');
  el.dataset.state = state;
  el.textContent = state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Offline';
  el.title = detail || '';
}

// --------------------------------------------------------------- entries

function renderEntry(room, entry) {
  if (entry.kind === 'error') return renderError(entry);
  if (entry.kind === 'hidden') return renderHidden(entry);
  const e = entry.event;
  if (e.content.type === 'message') return renderMessage(room, entry);
  return renderState(entry);
}

function renderError(entry) {
  return h(
    'li',
    {
      class: 'event event-error',
      'data-cursor': entry.cursor,
      'data-kind': 'error',
      'data-code': entry.code,
      'data-event-id': entry.eventId ?? '',
    },
    h('strong', {}, 'This item failed verification and is not shown.'),
    h(
      'span',
      { class: 'event-detail' },
      `Verification error ${entry.code}: ${entry.message}`,
      entry.eventId ? ` (event ${short(entry.eventId)})` : '',
    ),
  );
}

function renderHidden(entry) {
  const p = entry.provenance || {};
  const quarantine = p.action === 'quarantine';
  return h(
    'li',
    {
      class: 'event event-hidden',
      'data-cursor': entry.cursor,
      'data-kind': 'hidden',
      'data-list': p.list ?? '',
      'data-entry': p.entry ?? '',
      'data-category': p.category ?? '',
      'data-action': p.action ?? '',
    },
    h('strong', {}, quarantine ? 'Held for review by a blocklist this node follows' : 'Hidden by a blocklist this node follows'),
    h(
      'span',
      { class: 'event-detail' },
      'List ',
      h('code', { class: 'prov-list', title: p.list }, listName(p.list)),
      ', entry ',
      h('span', { class: 'prov-entry' }, `#${p.entry}`),
      ' · ',
      h('span', { class: 'prov-category' }, String(p.category ?? '').replace(/_/g, ' ')),
      ' · ',
      h('span', { class: 'prov-action' }, quarantine ? 'quarantined' : 'rejected'),
      p.reason ? [' — ', h('span', { class: 'prov-reason' }, p.reason)] : null,
    ),
  );
}

/** `spam (iss1l5tj…ac3)`: a list id as people read it; the full id goes in a title. */
function listName(list) {
  const text = String(list ?? '');
  const slash = text.indexOf('/');
  return slash < 0 ? short(text) : `${text.slice(slash + 1)} (${short(text.slice(0, slash))})`;
}

function renderMessage(room, entry) {
  const e = entry.event;
  const mine = e.author === app.key.account;
  const attrs = {
    class: `event event-message${mine ? ' mine' : ''}`,
    'data-cursor': entry.cursor,
    'data-kind': 'message',
    'data-event-id': e.id,
    'data-author': e.author,
    'data-ts': e.ts,
  };
  const head = h('div', { class: 'event-head' }, authorButton(e.author), mine ? null : trustBadges(e.author), timeEl(e.ts));
  if (!entry.accepted) {
    attrs.class += ' event-rejected';
    return h('li', attrs, head, h('p', { class: 'event-text' }, 'Message refused by the room’s rules.'));
  }
  if (entry.redacted) {
    attrs.class += ' event-redacted';
    return h('li', attrs, head, h('p', { class: 'event-text' }, 'Message removed.'));
  }
  const actions = h('div', { class: 'event-actions' });
  if (!mine) {
    actions.append(
      h('button', { type: 'button', class: 'action-report', onclick: () => openReport({ room, entry }), 'aria-label': `Report this message from ${nameOf(e.author)}` }, 'Report'),
    );
  }
  if (mine || myPower(room) >= POWER.moderator) {
    actions.append(
      h('button', { type: 'button', class: 'action-redact', onclick: () => redact(room, entry), 'aria-label': 'Remove this message' }, 'Remove'),
    );
  }
  const files = e.content.attachments ?? [];
  return h(
    'li',
    attrs,
    head,
    e.content.text || !files.length ? h('p', { class: 'event-text' }, e.content.text) : null,
    files.length ? renderAttachments(app.media, files, nameOf(e.author)) : null,
    actions,
  );
}

/** ` (2 images, 1 file)`: what a message carries, said in words. */
function filesSaid(files = []) {
  if (!files.length) return '';
  const images = files.filter((a) => isImage(a.type)).length;
  const others = files.length - images;
  const parts = [];
  if (images) parts.push(`${images} image${images === 1 ? '' : 's'}`);
  if (others) parts.push(`${others} file${others === 1 ? '' : 's'}`);
  return ` (${parts.join(', ')})`;
}

function renderState(entry) {
  const e = entry.event;
  const c = e.content;
  const who = nameEl(e.author);
  const target = c.target && c.type !== 'redact' ? nameEl(c.target) : null;
  const reason = c.reason ? `: ${c.reason}` : '';
  let text;
  switch (c.type) {
    case 'create':
      text = [who, ` created the room “${c.name}”`, c.join_rule === 'invite' ? ' (invite only)' : ''];
      break;
    case 'join':
      text = [who, ' joined'];
      break;
    case 'leave':
      text = [who, ' left'];
      break;
    case 'invite':
      text = [who, ' invited ', target];
      break;
    case 'kick':
      text = [who, ' removed ', target, reason];
      break;
    case 'ban':
      text = [who, ' banned ', target, reason];
      break;
    case 'unban':
      text = [who, ' lifted the ban on ', target];
      break;
    case 'set_role':
      text = [who, ' made ', target, c.role === 'member' ? ' a member' : ` ${c.role === 'owner' ? 'an owner' : 'a moderator'}`];
      break;
    case 'redact':
      text = [who, ' removed a message', reason];
      break;
    default:
      text = [who, ` ${c.type}`];
  }
  return h(
    'li',
    {
      class: `event event-state${entry.accepted ? '' : ' event-rejected'}`,
      'data-cursor': entry.cursor,
      'data-kind': 'state',
      'data-type': c.type,
      'data-event-id': e.id,
    },
    text,
    entry.accepted ? null : ' (refused by the room’s rules)',
    timeEl(e.ts),
  );
}

// ----------------------------------------------------- names and trust

function nameOf(account) {
  return app.client.cachedIdentity(account)?.handle ?? short(account);
}

/** An account's name that fills in once its identity is verified. */
function nameEl(account) {
  const el = h('span', { class: 'account-name', 'data-account': account, title: account }, nameOf(account));
  if (!app.client.cachedIdentity(account)) {
    app.client
      .identity(account)
      .then((id) => {
        for (const n of document.querySelectorAll(`.account-name[data-account="${account}"]`)) n.textContent = id.handle;
      })
      .catch(() => {});
  }
  return el;
}

function authorButton(account) {
  return h(
    'button',
    { type: 'button', class: 'event-author', 'data-account': account, title: account, onclick: () => openAccount(account) },
    nameOf(account),
  );
}

function minAgeDays() {
  const v = Number(localStorage.getItem('accord:minAgeDays'));
  return Number.isFinite(v) && localStorage.getItem('accord:minAgeDays') !== null ? v : 7;
}

/** What deserves a second look about an account (as the CLI's first-contact warning, plus the level). */
function concerns(identity) {
  const out = [];
  const age = identity.trust?.ageMs ?? Date.now() - identity.registered;
  const min = minAgeDays() * DAY;
  if (min > 0 && age < min) {
    out.push({ kind: 'young', short: `new · ${humanAge(age)}`, text: `The account is ${humanAge(age)} old (younger than ${humanAge(min)}).` });
  }
  if (identity.level === 'open') {
    out.push({ kind: 'open', short: 'open registration', text: 'Its home node registered it without checking anything (level “open”).' });
  }
  for (const flag of identity.trust?.flags ?? []) {
    const why = flag.reason ? `: ${flag.reason}` : '';
    out.push({
      kind: 'quarantined',
      short: 'quarantined',
      text: `Quarantined by list ${flag.list}, entry #${flag.entry} (${flag.category})${why}.`,
    });
  }
  return out;
}

function trustBadges(account) {
  const identity = app.client.cachedIdentity(account);
  if (!identity) return null;
  return concerns(identity).map((c) => h('span', { class: 'trust-badge', 'data-trust': c.kind, title: c.text }, c.short));
}

// ---------------------------------------------------------- account card

async function openAccount(account) {
  const card = $('account-card');
  fill(card, h('p', { class: 'hint' }, 'Checking the identity…'));
  $('account-dialog').showModal();
  let identity;
  try {
    identity = await app.client.identity(account, { refresh: true });
  } catch (err) {
    fill(card, h('p', { class: 'notice-error' }, `This account’s identity cannot be verified: ${describe(err)}`), h('p', { class: 'mono' }, account));
    return;
  }
  const t = identity.trust;
  const age = t?.ageMs ?? Date.now() - identity.registered;
  const flags = t?.flags ?? [];
  const fact = (label, key, value) => [h('dt', {}, label), h('dd', { 'data-fact': key }, value)];
  const warnings = account === app.key.account ? [] : concerns(identity);
  const children = [
    warnings.length ? h('div', { class: 'card-warning', role: 'note' }, warnings.map((w) => h('p', {}, w.text))) : null,
    h(
      'dl',
      { class: 'facts' },
      fact('Handle', 'handle', identity.handle),
      fact('Account', 'account', h('code', {}, identity.account)),
      fact('Home node', 'home', h('code', {}, identity.home)),
      fact('Level', 'level', identity.level),
      fact('Registered', 'registered', timeEl(identity.registered, { withDate: true })),
      fact('Age', 'age', humanAge(age)),
      fact('Flags', 'flags', flags.length ? h('ul', { class: 'plain-list' }, flags.map((f) => h('li', { title: f.list }, `${listName(f.list)} #${f.entry} (${f.category}, ${f.action})${f.reason ? `: ${f.reason}` : ''}`))) : 'none'),
      t ? fact('Open reports', 'reports', String(t.reports)) : null,
    ),
    h('p', { class: 'hint' }, 'Handle, home node, level and registration are checked signatures; age, flags and reports are what this node says.'),
  ];
  const room = app.rooms.get(app.current);
  if (room && account !== app.key.account) children.push(cardActions(room, identity));
  fill(card, children);
}

function cardActions(room, identity) {
  const account = identity.account;
  const view = room.view;
  const mine = myPower(room);
  const theirs = POWER[view?.roles?.[account] ?? 'member'] ?? 0;
  const member = view?.members?.includes(account);
  const banned = view?.bans?.includes(account);
  const name = identity.handle;
  const act = (label, id, fn, danger = false) => h('button', { type: 'button', id, class: danger ? 'danger' : '', onclick: fn }, label);
  const rows = [];
  const row1 = [];
  if (!member && !banned) row1.push(act(`Invite to #${room.name}`, 'card-invite', () => roomAction(room, content.invite(account), `Invited ${name}.`)));
  if (mine >= POWER.moderator && member && mine > theirs) {
    row1.push(act('Kick', 'card-kick', () => confirmThen(room, `Remove ${name} from #${room.name}?`, 'They can join again.', 'Kick', (r) => content.kick(account, r), `Removed ${name}.`), true));
  }
  if (mine >= POWER.moderator && !banned && mine > theirs) {
    row1.push(act('Ban', 'card-ban', () => confirmThen(room, `Ban ${name} from #${room.name}?`, 'They are removed and cannot come back until unbanned.', 'Ban', (r) => content.ban(account, r), `Banned ${name}.`), true));
  }
  if (mine >= POWER.moderator && banned) row1.push(act('Lift ban', 'card-unban', () => roomAction(room, content.unban(account), `Lifted the ban on ${name}.`)));
  if (row1.length) rows.push(h('div', { class: 'row' }, row1));
  if (mine >= POWER.moderator && member && mine > theirs) {
    const roles = ['member', 'moderator', 'owner'].filter((r) => POWER[r] < mine || mine === POWER.owner);
    const select = h(
      'select',
      { id: 'card-role', 'aria-label': 'Role' },
      roles.map((r) => h('option', { value: r, selected: (view.roles?.[account] ?? 'member') === r }, r)),
    );
    rows.push(
      h(
        'div',
        { class: 'row' },
        h('label', { for: 'card-role' }, 'Role'),
        select,
        act('Set role', 'card-role-set', () => roomAction(room, content.setRole(account, select.value), `${name} is now ${select.value}.`)),
      ),
    );
  }
  rows.push(h('div', { class: 'row' }, act('Report this account', 'card-report', () => openReport({ room, subject: account }), true)));
  return h('div', { class: 'card-actions stack' }, h('h3', {}, `In #${room.name}`), rows);
}

async function roomAction(room, eventContent, done) {
  try {
    await app.client.send(room.id, eventContent);
    toast(done);
    $('account-dialog').close();
    $('room-dialog').close();
    scheduleRoomState(room);
  } catch (err) {
    toast(describe(err), true);
  }
}

async function confirmThen(room, title, text, ok, make, done) {
  const answer = await confirmDialog({ title, text, ok, reason: true });
  if (!answer.ok) return;
  let eventContent;
  try {
    eventContent = make(answer.reason);
  } catch (err) {
    toast(err.message, true);
    return;
  }
  await roomAction(room, eventContent, done);
}

function redact(room, entry) {
  const mine = entry.event.author === app.key.account;
  confirmThen(
    room,
    mine ? 'Remove your message?' : `Remove this message by ${nameOf(entry.event.author)}?`,
    'Its text is hidden for everyone in the room.',
    'Remove',
    (r) => content.redact(entry.event.id, mine ? undefined : r),
    'Message removed.',
  );
}

/** Asks a yes/no question, optionally with a reason; answers `{ ok, reason }`. */
function confirmDialog({ title, text, ok, reason = false }) {
  const dialog = $('confirm-dialog');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = ok;
  $('confirm-reason-row').hidden = !reason;
  $('confirm-reason').value = '';
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve({ ok: dialog.returnValue === 'ok', reason: $('confirm-reason').value.trim() }), { once: true });
    dialog.showModal();
    (reason ? $('confirm-reason') : $('confirm-cancel')).focus();
  });
}

// --------------------------------------------------------------- reports

let reportTarget = null;

function openReport(target) {
  reportTarget = target;
  $('account-dialog').close();
  const quote = $('report-quote');
  if (target.entry) {
    const e = target.entry.event;
    fill(quote, h('strong', {}, nameOf(e.author)), ': ', e.content.text, filesSaid(e.content.attachments));
    $('report-dialog-title').textContent = 'Report a message';
  } else {
    fill(quote, 'The account ', h('strong', {}, nameOf(target.subject)), ' as a whole.');
    $('report-dialog-title').textContent = 'Report an account';
  }
  $('report-comment').value = '';
  $('report-result').textContent = '';
  $('report-form').hidden = false;
  $('report-dialog').showModal();
  $('report-category').focus();
}

async function submitReport(ev) {
  ev.preventDefault();
  const target = reportTarget;
  if (!target) return;
  const fields = { category: $('report-category').value, comment: $('report-comment').value.trim() || undefined };
  if (target.entry) {
    const room = target.room;
    fields.evidence = [target.entry.event.wire];
    fields.context = [...room.entries.values()]
      .filter((e) => e.kind === 'event' && e.cursor < target.entry.cursor)
      .sort((a, b) => a.cursor - b.cursor)
      .slice(-5)
      .map((e) => e.event.wire);
  } else {
    fields.subject = target.subject;
  }
  $('report-submit').disabled = true;
  try {
    const status = await app.client.report(fields);
    $('report-form').hidden = true;
    $('report-result').textContent = `Thank you. Report ${status.id.slice(0, 12)}… was filed with your node${status.case !== status.id ? ' and joins an open case' : ''}; its moderators will look at it.`;
    $('report-result').dataset.reportId = status.id;
  } catch (err) {
    $('report-result').textContent = `The report was not filed: ${describe(err)}`;
  } finally {
    $('report-submit').disabled = false;
  }
}

// ------------------------------------------------------------ room info

function openRoomDialog() {
  const room = app.rooms.get(app.current);
  if (!room) return;
  const view = room.view;
  const details = $('room-details');
  const members = view?.members ?? [];
  const memberItem = (account) =>
    h(
      'li',
      { 'data-account': account },
      h('button', { type: 'button', class: 'link', onclick: () => { $('room-dialog').close(); openAccount(account); } }, nameEl(account)),
      h('span', { class: 'hint' }, view.roles?.[account] ?? 'member'),
    );
  const invite = h('input', { id: 'room-invite-account', class: 'mono', placeholder: 'acct1…', required: true, spellcheck: 'false', autocomplete: 'off' });
  fill(
    details,
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Name'),
      h('dd', {}, room.name),
      h('dt', {}, 'Room id'),
      h('dd', {}, h('code', { id: 'room-id-text' }, room.id)),
      h('dt', {}, 'Joining'),
      h('dd', {}, view ? (view.join_rule === 'invite' ? 'invited accounts only' : 'anyone with the room id') : '…'),
      view?.bans?.length ? [h('dt', {}, 'Banned'), h('dd', {}, view.bans.map((a) => [nameEl(a), ' ']))] : null,
    ),
    h('h3', {}, `Members (${members.length})`),
    h('ul', { class: 'plain-list member-list' }, members.map(memberItem)),
    h(
      'form',
      {
        id: 'room-invite-form',
        class: 'stack',
        onsubmit: (ev) => {
          ev.preventDefault();
          const account = invite.value.trim();
          try {
            bech32mDecode(account, 'acct');
          } catch {
            toast('That is not an account id (acct1…).', true);
            return;
          }
          roomAction(room, content.invite(account), 'Invitation sent.');
        },
      },
      h('label', { for: 'room-invite-account' }, 'Invite an account'),
      invite,
      h('button', { type: 'submit' }, 'Invite'),
    ),
    h(
      'div',
      { class: 'buttons' },
      h(
        'button',
        {
          type: 'button',
          id: 'room-leave',
          class: 'danger',
          onclick: async () => {
            $('room-dialog').close();
            const answer = await confirmDialog({ title: `Leave #${room.name}?`, text: 'You can join again later if the room lets you.', ok: 'Leave' });
            if (answer.ok) await roomAction(room, content.leave(), `You left #${room.name}.`);
          },
        },
        'Leave room',
      ),
    ),
  );
  $('room-dialog').showModal();
}

// -------------------------------------------------------------- settings

async function openSettings() {
  const me = app.client.cachedIdentity(app.key.account);
  fill(
    $('settings-me'),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Handle'),
      h('dd', {}, me?.handle ?? '…'),
      h('dt', {}, 'Account'),
      h('dd', {}, h('code', {}, app.key.account)),
      h('dt', {}, 'Node'),
      h('dd', {}, h('code', {}, app.node?.node ?? '')),
    ),
  );
  $('key-export-box').hidden = true;
  $('key-export-text').value = '';
  $('setting-min-age').value = String(minAgeDays());
  $('settings-dialog').showModal();
  const list = $('my-reports');
  fill(list, h('li', { class: 'hint' }, 'Loading…'));
  try {
    const reports = await app.client.myReports();
    fill(
      list,
      reports.length
        ? reports.map((r) =>
            h(
              'li',
              { class: 'report-item', 'data-report': r.id },
              h('strong', {}, r.category.replace(/_/g, ' ')),
              ` · ${r.state}`,
              r.outcome ? ` · outcome: ${r.outcome.action}${r.outcome.reason ? ` (${r.outcome.reason})` : ''}` : '',
              h('br'),
              h('span', { class: 'hint' }, timeEl(r.received, { withDate: true }), ` · ${r.id.slice(0, 12)}…`),
            ),
          )
        : h('li', { class: 'hint' }, 'You have not reported anything.'),
    );
  } catch (err) {
    fill(list, h('li', { class: 'hint' }, describe(err)));
  }
}

let exportUrl = null;

async function exportKey() {
  try {
    const text = await exportKeyFile(app.key);
    $('key-export-text').value = text;
    if (exportUrl) URL.revokeObjectURL(exportUrl);
    exportUrl = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    const handle = app.client.cachedIdentity(app.key.account)?.handle;
    $('key-export-download').href = exportUrl;
    const file = `${handle ? handle.split('@')[0] : 'accord'}.key`;
    $('key-export-download').download = file;
    $('key-export-download').textContent = `Download ${file}`;
    $('key-export-box').hidden = false;
  } catch (err) {
    toast(`Export failed: ${describe(err)}`, true);
  }
}

// ------------------------------------------------------------- composer

let sending = false;

async function sendMessage(ev) {
  ev?.preventDefault();
  const input = $('composer-input');
  const room = app.rooms.get(app.current);
  const pending = app.attachments;
  if (!room || sending || (!input.value.trim() && !pending.count)) return;
  sending = true;
  $('composer-send').disabled = true;
  try {
    // Files still uploading are waited for; a refused one stops the send,
    // so that the member sees why before anything goes out.
    if (!(await pending.settled())) return;
    const text = input.value.replace(/\r\n?/g, '\n');
    const files = pending.ready();
    if (!text.trim() && !files.length) return;
    let eventContent;
    try {
      eventContent = content.message(text.trim() ? text : '', undefined, files);
    } catch (err) {
      toast(err.message, true);
      return;
    }
    input.value = '';
    autosize(input);
    try {
      const receipt = await app.client.send(room.id, eventContent);
      pending.clear();
      if (receipt.event) onEntry(room.id, { kind: 'event', cursor: receipt.cursor, event: receipt.event, accepted: true, redacted: false });
    } catch (err) {
      toast(`Not sent: ${describe(err)}`, true);
      if (!input.value) {
        input.value = text;
        autosize(input);
      }
    }
  } finally {
    sending = false;
    $('composer-send').disabled = false;
  }
}

function autosize(input) {
  input.style.height = 'auto';
  input.style.height = `${Math.min(input.scrollHeight + 2, 160)}px`;
}

// ------------------------------------------------------------ messages

function announce(text) {
  const el = $('announcer');
  el.append(h('p', {}, text));
  while (el.childElementCount > 5) el.firstElementChild.remove();
}

function toast(text, error = false) {
  const el = h('div', { class: `toast${error ? ' error' : ''}`, role: error ? 'alert' : null }, text);
  $('toasts').append(el);
  setTimeout(() => el.remove(), error ? 9000 : 5000);
}

/** A human sentence for an error, with its stable code. */
function describe(err) {
  if (err instanceof ApiError) {
    const prov = err.provenance ? ` (list ${err.provenance.list}, entry #${err.provenance.entry}, ${err.provenance.category})` : '';
    return `${err.message || err.code} [${err.code}]${prov}`;
  }
  if (err && err.code) return `${err.message} [${err.code}]`;
  return err?.message ?? String(err);
}

function closeSidebar() {
  $('sidebar').classList.remove('open');
  $('nav-toggle').setAttribute('aria-expanded', 'false');
}

// ---------------------------------------------------------------- wiring

function wireStaticHandlers() {
  $('key-create').addEventListener('click', async () => {
    $('key-create').disabled = true;
    try {
      await startWithKey(await createKey());
    } catch (err) {
      showOnboardingError(`The key could not be made: ${describe(err)}`);
    } finally {
      $('key-create').disabled = false;
    }
  });
  $('key-import-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let text = $('key-import-text').value;
    const file = $('key-import-file').files?.[0];
    if (!text.trim() && file) text = await file.text();
    try {
      const key = await importKeyFile(text);
      $('key-import-text').value = '';
      await startWithKey(key);
    } catch (err) {
      showOnboardingError(`The key file could not be imported: ${describe(err)}`);
    }
  });
  $('register-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('register-submit').disabled = true;
    try {
      await app.client.register($('register-handle').value.trim(), $('register-invite').value.trim());
      await app.client.login();
      await enterChat();
    } catch (err) {
      showOnboardingError(`Registration failed: ${describe(err)}`);
    } finally {
      $('register-submit').disabled = false;
    }
  });
  $('login-retry').addEventListener('click', () => startWithKey(app.key));
  $('register-forget').addEventListener('click', async () => {
    await forgetKey();
    app.key = null;
    $('onboarding-error').hidden = true;
    showKeyStep();
  });

  $('create-room-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const id = await app.client.createRoom($('create-room-name').value.trim(), $('create-room-rule').value);
      $('create-room-name').value = '';
      $('create-room').open = false;
      await refreshRooms();
      selectRoom(id);
    } catch (err) {
      toast(`The room was not created: ${describe(err)}`, true);
    }
  });
  $('join-room-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const id = $('join-room-id').value.trim();
    try {
      bech32mDecode(id, 'room');
    } catch {
      toast('That is not a room id (room1…).', true);
      return;
    }
    const via = $('join-room-via').value.split(/[\s,]+/).filter(Boolean);
    $('join-room-submit').disabled = true;
    try {
      await app.client.send(id, content.join(), via);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'already_member')) {
        toast(`Could not join: ${describe(err)}`, true);
        $('join-room-submit').disabled = false;
        return;
      }
    }
    $('join-room-submit').disabled = false;
    $('join-room-id').value = '';
    $('join-room-via').value = '';
    $('join-room').open = false;
    await refreshRooms();
    selectRoom(id);
  });

  $('composer').addEventListener('submit', sendMessage);
  $('composer-input').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) sendMessage(ev);
  });
  $('composer-input').addEventListener('input', (ev) => autosize(ev.target));
  $('composer-attach').addEventListener('click', () => $('composer-file').click());
  $('composer-file').addEventListener('change', (ev) => {
    const files = [...ev.target.files];
    ev.target.value = '';
    if (files.length) app.attachments.add(files);
    $('composer-input').focus();
  });
  $('composer-input').addEventListener('paste', (ev) => {
    const files = [...(ev.clipboardData?.files ?? [])];
    if (!files.length) return;
    ev.preventDefault();
    app.attachments.add(files);
  });
  const pane = $('room-pane');
  const carriesFiles = (ev) => [...(ev.dataTransfer?.types ?? [])].includes('Files');
  pane.addEventListener('dragover', (ev) => {
    if (!carriesFiles(ev)) return;
    ev.preventDefault();
    pane.classList.add('dropping');
  });
  pane.addEventListener('dragleave', (ev) => {
    if (ev.target === pane || !pane.contains(ev.relatedTarget)) pane.classList.remove('dropping');
  });
  pane.addEventListener('drop', (ev) => {
    pane.classList.remove('dropping');
    if (!carriesFiles(ev)) return;
    ev.preventDefault();
    app.attachments.add([...ev.dataTransfer.files]);
    $('composer-input').focus();
  });
  $('load-older').addEventListener('click', loadOlder);
  $('timeline').addEventListener('scroll', () => {
    const room = app.rooms.get(app.current);
    if (!room) return;
    // Older pages load when the member scrolls up to the top, not when a
    // redraw passes by it.
    const top = $('timeline').scrollTop;
    if (top < 80 && top < app.scrollTop) loadOlder();
    app.scrollTop = top;
    if (isAtBottom()) markRead(room);
  });
  document.addEventListener('visibilitychange', () => {
    const room = app.rooms.get(app.current);
    if (room && document.visibilityState === 'visible' && isAtBottom()) markRead(room);
  });
  window.addEventListener('online', () => app.stream?.reconnectNow());

  $('nav-toggle').addEventListener('click', () => {
    const open = $('sidebar').classList.toggle('open');
    $('nav-toggle').setAttribute('aria-expanded', String(open));
    if (open) $('sidebar').querySelector('button, summary')?.focus();
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && $('sidebar').classList.contains('open')) {
      closeSidebar();
      $('nav-toggle').focus();
    }
  });
  $('room-view').addEventListener('click', () => {
    if ($('sidebar').classList.contains('open')) closeSidebar();
  });
  $('room-info-button').addEventListener('click', openRoomDialog);
  $('account-button').addEventListener('click', openSettings);

  fill(
    $('report-category'),
    CATEGORIES.map((c) => h('option', { value: c, selected: c === 'spam' }, c.replace(/_/g, ' '))),
  );
  $('report-form').addEventListener('submit', submitReport);

  $('key-export').addEventListener('click', exportKey);
  $('key-forget').addEventListener('click', async () => {
    const answer = await confirmDialog({
      title: 'Forget the key in this browser?',
      text: 'Without an exported key file you cannot use this account again. This cannot be undone.',
      ok: 'Forget key',
    });
    if (!answer.ok) return;
    await forgetKey();
    location.hash = '';
    location.reload();
  });
  $('setting-min-age').addEventListener('change', (ev) => {
    const v = Math.max(0, Math.min(3650, Math.floor(Number(ev.target.value) || 0)));
    localStorage.setItem('accord:minAgeDays', String(v));
    const room = app.rooms.get(app.current);
    if (room) renderTimeline(room);
  });
}

boot().catch((err) => {
  $('boot').hidden = true;
  showOnboardingError(`The client failed to start: ${describe(err)}`);
});
