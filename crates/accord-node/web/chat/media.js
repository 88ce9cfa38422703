// Files in the chat: what a message carries (spec/events.md §2.3) shown in
// the timeline, and what the member attaches in the composer.
//
// The media endpoints need the session's header, so every file is fetched
// with it and shown through a `blob:` URL (the page's policy allows
// `img-src 'self' blob: data:`); no element ever points at `/v1/media/…`.
// A full file is checked to hash to its attachment before it is shown or
// offered (web/common/client.js); a thumbnail is covered by no signature and
// is only ever shown small. A node that does not hold a file yet (it is
// still fetching it from the origin node) answers `unknown_media`: the page
// asks again a few times, then says the file is not available here.

import { ApiError } from '../common/api.js';
import { isImage, LIMITS } from '../common/events.js';
import { $, fill, h } from './dom.js';

/** The longest side an image is shown with in the timeline (the node's thumbnails are at most this). */
export const THUMB_SIDE = 320;
/** Waits between asking again for a file the node does not hold yet (about a minute in all). */
const RETRY_DELAYS = [1000, 2000, 3000, 5000, 8000, 13000, 20000];
/** How long a settled failure is remembered before a redraw may ask again. */
const FORGET_FAILURE_MS = 30_000;
/** How many fetched files are kept as blob URLs. */
const KEEP = 200;

/** `12.3 KB`: a byte count as people read it. */
export function humanSize(n) {
  if (n < 1000) return `${n} byte${n === 1 ? '' : 's'}`;
  const units = ['KB', 'MB', 'GB'];
  let v = n;
  let unit = '';
  for (const u of units) {
    v /= 1000;
    unit = u;
    if (v < 1000) break;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${unit}`;
}

/** The width and height an image of `width`×`height` is shown with: at most THUMB_SIDE a side, its shape kept. */
export function fitted(width, height, side = THUMB_SIDE) {
  const scale = Math.min(1, side / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

const KINDS = {
  'image/png': { label: 'PNG image', ext: 'png' },
  'image/jpeg': { label: 'JPEG image', ext: 'jpg' },
  'application/pdf': { label: 'PDF document', ext: 'pdf' },
  'text/plain': { label: 'Text file', ext: 'txt' },
  'application/octet-stream': { label: 'File', ext: 'bin' },
};

/** The name a file is saved under: the message carries no name, so its hash's start and the type's extension. */
export function fileName(a) {
  return `${a.hash.slice(0, 12)}.${KINDS[a.type]?.ext ?? 'bin'}`;
}

/** A sentence for a refused upload of `name`, with the node's code. */
export function uploadErrorText(err, name) {
  const code = err?.code ?? 'error';
  const p = err?.provenance;
  const said = err?.message ? ` (${err.message})` : '';
  switch (code) {
    case 'too_large':
      return `“${name}” is too large for this node${said}.`;
    case 'quota_exceeded':
      return `“${name}” was not stored: it would pass your upload quota or the node's storage quota${said}.`;
    case 'unsupported_media_type':
      return `“${name}” is a kind of file this node does not store (web pages, SVG and XML are refused).`;
    case 'truncated_media':
      return `“${name}” is cut short: the image ends before its format says it does.`;
    case 'polyglot_media':
      return `“${name}” was refused: it has data after the end of the image (it could be read as another kind of file).`;
    case 'too_many_pixels':
      return `“${name}” has too many pixels for this node.`;
    case 'undecodable_media':
      return `“${name}” could not be read as an image, or is empty.`;
    case 'blocked':
      return p
        ? `“${name}” was refused: it matches entry #${p.entry} of the blocklist ${p.list} (${String(p.category).replace(/_/g, ' ')})${p.reason ? `: ${p.reason}` : ''}. This node applies that list.`
        : `“${name}” was refused by a blocklist this node applies${said}.`;
    case 'rate_limited':
      return `“${name}” was not sent: you are sending too fast; try again in ${Math.ceil((err.retryAfterMs ?? 1000) / 1000)} s.`;
    case 'network':
      return `“${name}” was not sent: the node could not be reached.`;
    case 'storage_full':
      return `“${name}” was not stored: the node's disk is full. Try again later.`;
    default:
      return `“${name}” was not stored${said}.`;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Fetches files for the timeline through the client, once per hash and
 * kind ('thumbnail' or 'file'), asking again while the node does not hold
 * them yet. Listeners see the record `{ state, url, error }` with state
 * 'loading', 'waiting' (not on this node yet; asking again), 'ready',
 * 'missing' (still not here after the retries) or 'error'.
 */
export class MediaLoader {
  /** @param {import('../common/client.js').Client} client @param {{ delays?: number[] }} [options] the waits between asks */
  constructor(client, { delays = RETRY_DELAYS } = {}) {
    this.client = client;
    this.delays = delays;
    this.records = new Map();
  }

  /** Calls `onChange(record)` now and at each change until the fetch settles. */
  watch(hash, kind, onChange) {
    const key = `${kind}:${hash}`;
    let r = this.records.get(key);
    const stale = r && (r.state === 'missing' || r.state === 'error') && Date.now() - r.settled > FORGET_FAILURE_MS;
    if (!r || stale) {
      r = { state: 'loading', url: null, error: null, settled: 0, listeners: new Set() };
      this.records.delete(key);
      this.records.set(key, r);
      this.evict();
      this.run(r, hash, kind);
    }
    onChange(r);
    if (r.state !== 'ready' && r.state !== 'missing' && r.state !== 'error') r.listeners.add(onChange);
  }

  /** Forgets a failure, so that the next watch asks the node again. */
  forget(hash, kind) {
    const key = `${kind}:${hash}`;
    const r = this.records.get(key);
    if (r && (r.state === 'missing' || r.state === 'error')) this.records.delete(key);
  }

  async run(r, hash, kind) {
    for (let attempt = 0; ; attempt++) {
      try {
        const blob = await this.client.media(hash, { thumbnail: kind === 'thumbnail' });
        r.url = URL.createObjectURL(blob);
        r.state = 'ready';
        break;
      } catch (err) {
        if (err instanceof ApiError && err.code === 'unknown_media' && attempt < this.delays.length) {
          if (r.state !== 'waiting') {
            r.state = 'waiting';
            this.notify(r);
          }
          await sleep(this.delays[attempt]);
          continue;
        }
        r.state = err instanceof ApiError && err.code === 'unknown_media' ? 'missing' : 'error';
        r.error = err;
        break;
      }
    }
    r.settled = Date.now();
    this.notify(r);
    r.listeners.clear();
  }

  notify(r) {
    for (const fn of r.listeners) fn(r);
  }

  /** Keeps at most KEEP records, dropping (and revoking) the oldest settled ones. */
  evict() {
    for (const [key, r] of this.records) {
      if (this.records.size <= KEEP) break;
      if (r.state === 'loading' || r.state === 'waiting') continue;
      if (r.url) URL.revokeObjectURL(r.url);
      this.records.delete(key);
    }
  }
}

/**
 * The attachments of a message as elements: images as thumbnails that open
 * the full image, other files as download links. `author` is the author's
 * name, for the alternative text.
 */
export function renderAttachments(loader, attachments, author) {
  return h(
    'div',
    { class: 'attachments' },
    attachments.map((a) => (isImage(a.type) ? imageFigure(loader, a, author) : fileLink(loader, a))),
  );
}

function imageFigure(loader, a, author) {
  const size = fitted(a.width, a.height);
  const alt = `image, ${a.width}×${a.height}, from ${author}`;
  const img = h('img', { width: size.width, height: size.height, alt, decoding: 'async' });
  const status = h('span', { class: 'attachment-status', 'aria-hidden': 'true' }, 'Loading image…');
  const open = h('button', { type: 'button', class: 'attachment-open', 'aria-label': `Open the ${alt}`, title: `${a.width}×${a.height} · ${humanSize(a.size)}` }, img, status);
  const figure = h('figure', { class: 'attachment attachment-image', 'data-hash': a.hash, 'data-state': 'loading' }, open);
  open.addEventListener('click', () => openImage(loader, a, author));
  img.addEventListener('load', () => {
    figure.dataset.state = 'ready';
  });
  img.addEventListener('error', () => {
    if (img.getAttribute('src')) showProblem(figure, status, 'error', 'The thumbnail could not be shown.');
  });
  loader.watch(a.hash, 'thumbnail', (r) => {
    if (r.state === 'ready') {
      status.textContent = '';
      figure.dataset.state = 'decoding';
      img.src = r.url;
    } else if (r.state === 'waiting') {
      showProblem(figure, status, 'waiting', 'Not available on this node yet: it is being fetched…');
    } else if (r.state === 'missing') {
      showProblem(figure, status, 'missing', 'Not available on this node.', () => {
        loader.forget(a.hash, 'thumbnail');
        figure.replaceWith(imageFigure(loader, a, author));
      });
    } else if (r.state === 'error') {
      showProblem(figure, status, 'error', `The image could not be fetched: ${r.error?.message ?? r.error}`);
    }
  });
  return figure;
}

/** Marks an attachment as not shown, saying why (`.attachment-missing`), with a retry button when `retry` is given. */
function showProblem(box, status, state, text, retry = null) {
  box.dataset.state = state;
  box.classList.add('has-problem');
  fill(status, h('span', { class: 'attachment-missing' }, text));
  status.removeAttribute('aria-hidden');
  if (retry) {
    // Outside the open button: buttons do not nest.
    box.append(h('button', { type: 'button', class: 'attachment-retry link', onclick: retry }, 'Try again'));
  }
}

function fileLink(loader, a) {
  const kind = KINDS[a.type] ?? KINDS['application/octet-stream'];
  const name = fileName(a);
  const status = h('span', { class: 'attachment-status' });
  const link = h(
    'a',
    { class: 'attachment-download', href: '#', download: name, title: `Download ${name} (${kind.label}, ${humanSize(a.size)})` },
    h('span', { class: 'file-icon', 'aria-hidden': 'true' }, kind.ext.toUpperCase()),
    h('span', { class: 'file-text' }, h('span', { class: 'file-name' }, name), h('span', { class: 'file-meta' }, `${kind.label} · ${humanSize(a.size)}`)),
  );
  const box = h('div', { class: 'attachment attachment-file', 'data-hash': a.hash, 'data-type': a.type, 'data-state': 'idle' }, link, status);
  link.addEventListener('click', (ev) => {
    if (link.dataset.ready === '1') return;
    ev.preventDefault();
    if (box.dataset.state === 'loading' || box.dataset.state === 'waiting') return;
    box.dataset.state = 'loading';
    box.classList.remove('has-problem');
    fill(status, 'Fetching…');
    loader.forget(a.hash, 'file');
    loader.watch(a.hash, 'file', (r) => {
      if (r.state === 'ready') {
        box.dataset.state = 'ready';
        fill(status);
        link.href = r.url;
        link.dataset.ready = '1';
        link.click();
      } else if (r.state === 'waiting') {
        box.dataset.state = 'waiting';
        fill(status, h('span', { class: 'attachment-missing' }, 'Not available on this node yet: it is being fetched…'));
      } else if (r.state === 'missing') {
        box.dataset.state = 'missing';
        box.classList.add('has-problem');
        fill(status, h('span', { class: 'attachment-missing' }, 'Not available on this node.'));
      } else if (r.state === 'error') {
        box.dataset.state = 'error';
        box.classList.add('has-problem');
        fill(status, h('span', { class: 'attachment-missing' }, `Not downloaded: ${r.error?.message ?? r.error}`));
      }
    });
  });
  return box;
}

/** Opens the full image in `#image-dialog`, fetched and checked against its hash. */
export function openImage(loader, a, author) {
  const dialog = $('image-dialog');
  const frame = $('image-dialog-frame');
  const alt = `image, ${a.width}×${a.height}, from ${author}`;
  const img = h('img', { id: 'image-dialog-img', alt, width: a.width, height: a.height });
  const status = h('p', { class: 'attachment-status' }, 'Loading the image…');
  frame.dataset.state = 'loading';
  frame.dataset.hash = a.hash;
  fill(frame, img, status);
  $('image-dialog-caption').textContent = `${a.width}×${a.height} · ${humanSize(a.size)} · from ${author}`;
  const download = $('image-dialog-download');
  download.hidden = true;
  img.addEventListener('load', () => {
    if (frame.dataset.hash === a.hash) frame.dataset.state = 'ready';
  });
  loader.watch(a.hash, 'file', (r) => {
    if (frame.dataset.hash !== a.hash) return;
    if (r.state === 'ready') {
      status.remove();
      // The loader checked that these bytes hash to the attachment.
      img.dataset.verified = '1';
      img.src = r.url;
      download.href = r.url;
      download.download = fileName(a);
      download.textContent = `Download ${fileName(a)} (${humanSize(a.size)})`;
      download.hidden = false;
    } else if (r.state === 'waiting') {
      frame.dataset.state = 'waiting';
      fill(status, h('span', { class: 'attachment-missing' }, 'Not available on this node yet: it is being fetched…'));
    } else if (r.state === 'missing' || r.state === 'error') {
      frame.dataset.state = r.state;
      img.remove();
      const why = r.state === 'missing' ? 'Not available on this node.' : `The image could not be shown: ${r.error?.message ?? r.error}`;
      fill(status, h('span', { class: 'attachment-missing' }, why));
    }
  });
  if (!dialog.open) dialog.showModal();
}

/**
 * The files the member is about to send: uploaded as soon as they are
 * picked (the node answers each one's attachment descriptor), shown as
 * removable chips in `#composer-attachments`, errors in words in
 * `#composer-error`.
 */
export class Attachments {
  constructor(client) {
    this.client = client;
    this.items = [];
    this.failures = 0;
  }

  /** Uploads `files` (a FileList or array) and shows them. */
  add(files) {
    this.clearError();
    for (const file of files) {
      if (this.items.length >= LIMITS.attachments) {
        this.showError(`A message carries at most ${LIMITS.attachments} files; “${file.name}” was left out.`, 'too_many');
        break;
      }
      const item = { file, name: file.name || 'pasted file', state: 'uploading', attachment: null, preview: null, chip: null };
      if (/^image\/(png|jpeg|gif|webp)$/.test(file.type)) item.preview = URL.createObjectURL(file);
      item.promise = this.client.uploadMedia(file).then(
        ({ attachment }) => {
          if (!this.items.includes(item)) return;
          if (this.items.some((o) => o !== item && o.attachment?.hash === attachment.hash)) {
            // The same file twice: the message names it once.
            this.remove(item);
            return;
          }
          item.attachment = attachment;
          item.state = 'ready';
          this.render();
        },
        (err) => {
          if (!this.items.includes(item)) return;
          this.failures += 1;
          this.remove(item);
          this.showError(uploadErrorText(err, item.name), err?.code ?? 'error', err?.provenance);
        },
      );
      this.items.push(item);
    }
    this.render();
  }

  /** Waits for the uploads under way; answers whether none of them failed. */
  async settled() {
    const before = this.failures;
    await Promise.all(this.items.map((i) => i.promise));
    return this.failures === before;
  }

  /** The descriptors of the uploaded files, in the order they were picked. */
  ready() {
    return this.items.filter((i) => i.state === 'ready').map((i) => i.attachment);
  }

  get count() {
    return this.items.length;
  }

  remove(item) {
    this.items = this.items.filter((i) => i !== item);
    if (item.preview) URL.revokeObjectURL(item.preview);
    this.render();
  }

  /** Empties the list (after a send). */
  clear() {
    for (const item of this.items) if (item.preview) URL.revokeObjectURL(item.preview);
    this.items = [];
    this.clearError();
    this.render();
  }

  showError(text, code, provenance = null) {
    const el = $('composer-error');
    el.textContent = text;
    el.dataset.code = code;
    if (provenance) {
      el.dataset.list = provenance.list ?? '';
      el.dataset.entry = provenance.entry ?? '';
    }
    el.hidden = false;
  }

  clearError() {
    const el = $('composer-error');
    el.hidden = true;
    el.textContent = '';
    delete el.dataset.code;
    delete el.dataset.list;
    delete el.dataset.entry;
  }

  render() {
    const list = $('composer-attachments');
    list.hidden = this.items.length === 0;
    fill(list, this.items.map((item) => this.chip(item)));
  }

  chip(item) {
    const a = item.attachment;
    let meta;
    if (item.state === 'uploading') meta = `uploading… ${humanSize(item.file.size)}`;
    else if (isImage(a.type)) meta = `${a.width}×${a.height} · ${humanSize(a.size)}`;
    else meta = `${KINDS[a.type]?.label ?? 'File'} · ${humanSize(a.size)}`;
    return h(
      'li',
      { class: 'attachment-chip', 'data-state': item.state, 'data-hash': a?.hash ?? null, title: item.name },
      item.preview ? h('img', { class: 'chip-preview', src: item.preview, alt: '' }) : h('span', { class: 'file-icon', 'aria-hidden': 'true' }, (item.name.split('.').pop() || 'file').slice(0, 4).toUpperCase()),
      h('span', { class: 'chip-text' }, h('span', { class: 'chip-name' }, item.name), h('span', { class: 'chip-meta' }, meta)),
      h('button', { type: 'button', class: 'chip-remove', 'aria-label': `Remove ${item.name}`, onclick: () => this.remove(item) }, '×'),
    );
  }
}
