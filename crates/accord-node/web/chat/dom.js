// Small DOM helpers. Text always goes in as text nodes, never as HTML: what
// other members write cannot become markup.

/**
 * `h('button', { class: 'x', 'data-room': id, onclick: fn }, 'text', child)`:
 * an element with attributes (`on…` functions become listeners; `hidden`,
 * `disabled`, `value`, `checked`, `selected` are set as properties; null and
 * false attributes are left out) and children (strings become text nodes;
 * null, false and undefined are skipped; arrays are flattened).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (['hidden', 'disabled', 'value', 'checked', 'selected', 'required'].includes(name)) {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** The element with this id. */
export function $(id) {
  return document.getElementById(id);
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** `acct1abc…wxyz`: an id shortened for display (the full id goes in a title). */
export function short(id) {
  if (typeof id !== 'string' || id.length <= 16) return String(id);
  const sep = id.indexOf('1');
  const head = sep > 0 && sep < 6 ? sep + 5 : 8;
  return `${id.slice(0, head)}…${id.slice(-4)}`;
}

/** `3 days`, `1 day`, `5 hours`, `12 minutes` (as the CLI says it). */
export function humanAge(ms) {
  const secs = Math.max(0, Math.floor(ms / 1000));
  let n;
  let unit;
  if (secs >= 86400) [n, unit] = [Math.floor(secs / 86400), 'day'];
  else if (secs >= 3600) [n, unit] = [Math.floor(secs / 3600), 'hour'];
  else [n, unit] = [Math.floor(secs / 60), 'minute'];
  return n === 1 ? `1 ${unit}` : `${n} ${unit}s`;
}

/** A `<time>` element for a millisecond timestamp. */
export function timeEl(ts, { withDate = false } = {}) {
  const d = new Date(ts);
  const today = new Date().toDateString() === d.toDateString();
  const text =
    withDate || !today
      ? d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })
      : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return h('time', { datetime: d.toISOString(), title: d.toLocaleString() }, text);
}
