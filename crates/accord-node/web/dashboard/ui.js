// DOM helpers of the dashboard: element building without innerHTML, the
// confirmation dialog, notices, and the formatting of ids and times.

/** Builds an element: `el('td', {class: 'num'}, 'text', child)`. Attribute
 *  values `true` set a boolean attribute, `false`/`null` leave it out;
 *  `on` takes `{click: fn}`. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name === 'on') {
      for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    } else if (name === 'class') {
      node.className = value;
    } else if (name === 'text') {
      node.textContent = value;
    } else if (value === true) {
      node.setAttribute(name, '');
    } else {
      node.setAttribute(name, String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces every child of `node`. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** A labelled form field: the label, then the control (with `id`). */
export function field(label, control, hint) {
  const id = control.id;
  return el('div', { class: 'field' },
    el('label', { for: id }, label),
    control,
    hint ? el('small', { class: 'hint', id: `${id}-hint` }, hint) : null);
}

/** A `<select>` of `options` (strings or `[value, label]` pairs). */
export function select(id, options, selected) {
  return el('select', { id, name: id },
    options.map((o) => {
      const [value, label] = Array.isArray(o) ? o : [o, o];
      return el('option', { value, selected: value === selected }, label);
    }));
}

/** A table with a header row and body rows (each an array of cells). */
export function table(id, headers, rows, caption) {
  return el('div', { class: 'table-wrap' },
    el('table', { id, class: 'grid' },
      caption ? el('caption', {}, caption) : null,
      el('thead', {}, el('tr', {}, headers.map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, rows.map((cells) => el('tr', {}, cells.map((c) => (c instanceof HTMLElement && c.tagName === 'TD' ? c : el('td', {}, c))))))));
}

/** A short badge: `kind` is one of ok, warn, bad, info, muted. */
export function badge(text, kind = 'info') {
  return el('span', { class: `badge badge-${kind}` }, text);
}

/** A long id shortened for display, whole in its title and copyable. */
export function shortId(id, keep = 10) {
  const text = String(id);
  const short = text.length > keep * 2 + 1 ? `${text.slice(0, keep)}…${text.slice(-6)}` : text;
  return el('code', { class: 'id', title: text, 'data-full': text }, short);
}

/** A list id `ISSUER/NAME` shown as its name, then its issuer shortened. */
export function listLabel(listId) {
  const at = String(listId).indexOf('/');
  const issuer = listId.slice(0, at);
  return el('span', { class: 'list-label', title: listId, 'data-list': listId },
    el('strong', {}, listId.slice(at + 1)),
    el('code', { class: 'id issuer' }, `${issuer.slice(0, 9)}…${issuer.slice(-4)}`));
}

/** A timestamp (ms since the epoch) as local date and time. */
export function when(ms) {
  if (ms === null || ms === undefined) return '—';
  return new Date(Number(ms)).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A duration in ms as "3 h 12 min". */
export function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d} d ${h} h`;
  if (h) return `${h} h ${m} min`;
  if (m) return `${m} min`;
  return `${s} s`;
}

/** Shows a notice in the page's live region: kind ok, bad or info. */
export function notify(message, kind = 'info') {
  const region = document.getElementById('notice');
  const item = el('div', { class: `notice notice-${kind}`, role: kind === 'bad' ? 'alert' : 'status' }, message);
  region.prepend(item);
  while (region.children.length > 3) region.lastElementChild.remove();
  setTimeout(() => item.remove(), kind === 'bad' ? 12000 : 6000);
}

/** The message of an error for the operator, with its stable code. */
export function describe(error) {
  if (error && error.code) return `${error.message} (${error.code})`;
  return String(error && error.message ? error.message : error);
}

/** Asks the operator to confirm an action; resolves to true or false.
 *  `details` are extra lines (e.g. how many nodes the action reaches). */
export function confirmAction(title, message, details = [], okLabel = 'Confirm') {
  const dialog = document.getElementById('confirm-dialog');
  fill(document.getElementById('confirm-title'), title);
  fill(document.getElementById('confirm-message'), message);
  fill(document.getElementById('confirm-details'), details.map((d) => el('li', {}, d)));
  document.getElementById('confirm-ok').textContent = okLabel;
  return new Promise((resolve) => {
    const done = (answer) => {
      dialog.removeEventListener('close', onClose);
      resolve(answer);
    };
    const onClose = () => done(dialog.returnValue === 'ok');
    dialog.addEventListener('close', onClose);
    dialog.returnValue = '';
    dialog.showModal();
    document.getElementById('confirm-cancel').focus();
  });
}

/** Runs `task` with `button` disabled and marked busy. */
export async function busy(button, task) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await task();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/** The categories of spec/blocklists.md §1.2, most severe first. */
export const CATEGORIES = [
  'child_sexual_abuse', 'grooming', 'sex_trafficking', 'violence', 'drugs',
  'harassment', 'impersonation', 'spam', 'other',
];

/** A category's wire name as words. */
export function categoryLabel(category) {
  return String(category).replaceAll('_', ' ');
}

/** "1 node" / "3 nodes". */
export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}
