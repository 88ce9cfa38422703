// Subscriptions (spec/blocklists.md §11, §12.2): lists issued elsewhere
// that this node enforces, what it does per category, local exceptions to
// single entries, and issuers distrusted for equivocating with the proof
// that caught them (§6, §10.6).

import {
  CATEGORIES, badge, busy, categoryLabel, confirmAction, describe, el, field, fill, listLabel, notify, select,
} from '../ui.js';

const CHOICES = [['', 'as the entry says'], ['reject', 'reject'], ['quarantine', 'quarantine'], ['ignore', 'ignore']];

function actionsEditor(prefix, actions = {}) {
  return el('fieldset', { class: 'category-grid', id: `${prefix}-actions` },
    el('legend', {}, 'What this node does per category'),
    CATEGORIES.map((c) => field(categoryLabel(c), select(`${prefix}-${c}`, CHOICES, actions[c] || ''))));
}

function readActions(prefix) {
  const out = {};
  for (const c of CATEGORIES) {
    const v = document.getElementById(`${prefix}-${c}`).value;
    if (v) out[c] = v;
  }
  return out;
}

/** Renders the section. */
export async function render(section, ctx) {
  const [{ lists }, { proofs }] = await Promise.all([ctx.admin.get('/lists'), ctx.admin.get('/equivocations')]);
  const subscribed = lists.filter((l) => !l.own);

  const listInput = el('input', { id: 'subscribe-list', required: true, autocomplete: 'off', spellcheck: 'false', placeholder: 'iss1…/name' });
  const subscribeForm = el('form', { id: 'subscribe', class: 'card' },
    el('h2', {}, 'Subscribe to a list'),
    field('List id', listInput, 'ISSUER/NAME, as its issuer publishes it. Entries are fetched from peers.'),
    actionsEditor('subscribe'),
    el('button', { type: 'submit', id: 'subscribe-submit', class: 'button-primary' }, 'Subscribe'));
  subscribeForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    await busy(subscribeForm.querySelector('button[type=submit]'), async () => {
      try {
        await ctx.admin.post('/subscriptions', { list: listInput.value.trim(), actions: readActions('subscribe') });
        notify('Subscribed; entries are being fetched.', 'ok');
        await ctx.show('subscriptions');
      } catch (err) {
        notify(`Not subscribed: ${describe(err)}`, 'bad');
      }
    });
  });

  fill(section,
    el('div', { class: 'view-head' }, el('h1', { id: 'subscriptions-title' }, 'Subscriptions')),
    subscribed.length
      ? el('div', { id: 'subscriptions', class: 'stack' }, subscribed.map((l) => subscriptionCard(l, proofs, ctx)))
      : el('p', { class: 'empty' }, 'This node subscribes to no list.'),
    subscribeForm,
    exceptionForm(lists, ctx));
}

function subscriptionCard(l, proofs, ctx) {
  const prefix = `sub-${l.list.replace(/[^a-z0-9]/g, '')}`.slice(0, 40);
  const proof = proofs.find((p) => p.list.split('/')[0] === l.list.split('/')[0]);
  const save = el('button', { type: 'button', class: 'button-secondary', on: { click: async () => {
    try {
      await ctx.admin.post('/subscriptions', { list: l.list, actions: readActions(prefix) });
      notify('Actions saved.', 'ok');
      await ctx.show('subscriptions');
    } catch (err) {
      notify(`Not saved: ${describe(err)}`, 'bad');
    }
  } } }, 'Save actions');
  const leave = el('button', { type: 'button', class: 'button-danger', on: { click: async () => {
    const ok = await confirmAction('Unsubscribe?', `Stop enforcing ${l.list}.`, ['Its entries, exceptions and log are forgotten; what it hid is shown again.'], 'Unsubscribe');
    if (!ok) return;
    try {
      await ctx.admin.post('/subscriptions/remove', { list: l.list });
      notify('Unsubscribed.', 'ok');
      await ctx.show('subscriptions');
    } catch (err) {
      notify(`Not unsubscribed: ${describe(err)}`, 'bad');
    }
  } } }, 'Unsubscribe');
  return el('article', { class: 'card subscription', 'data-list': l.list },
    el('div', { class: 'card-head' },
      el('h2', {}, listLabel(l.list)),
      l.distrusted ? badge('distrusted', 'bad') : badge(`${l.size} entries`, 'info')),
    el('p', { class: 'hint subscription-follow' },
      `Mode ${l.mode || 'apply'} · on removal ${l.on_removal || 'undo'} · priority ${l.priority || 0}`),
    l.distrusted ? distrust(l, proof, ctx) : null,
    el('details', {}, el('summary', {}, 'Actions per category'), actionsEditor(prefix, l.actions), save),
    el('div', { class: 'actions' }, leave));
}

function distrust(l, proof, ctx) {
  const issuer = l.list.split('/')[0];
  const trust = el('button', { type: 'button', class: 'button-danger', on: { click: async () => {
    const ok = await confirmAction('Trust this issuer again?', 'The issuer signed two histories of one list. Its lists are enforced and fetched again; the proof stays stored.', [], 'Trust again');
    if (!ok) return;
    try {
      await ctx.admin.post('/trust', { issuer });
      notify('Issuer trusted again.', 'ok');
      await ctx.show('subscriptions');
    } catch (err) {
      notify(`Not trusted: ${describe(err)}`, 'bad');
    }
  } } }, 'Trust again');
  return el('div', { class: 'alert alert-bad' },
    el('p', {}, el('strong', {}, 'Not enforced: '), l.distrusted),
    proof
      ? el('details', { class: 'proof' },
          el('summary', {}, `Equivocation proof for ${proof.list.split('/')[1]}`),
          el('p', {}, 'Two checkpoints the issuer signed that cannot both be true:'),
          el('pre', {}, proof.a), el('pre', {}, proof.b),
          proof.path.length ? el('p', {}, `Consistency path: ${proof.path.length} hashes`) : null)
      : null,
    trust);
}

function exceptionForm(lists, ctx) {
  const list = select('exception-list', lists.map((l) => [l.list, l.list]), lists[0] && lists[0].list);
  const entry = el('input', { id: 'exception-entry', type: 'number', min: 0, step: 1, required: true });
  const reason = el('input', { id: 'exception-reason', autocomplete: 'off', placeholder: 'local exception' });
  const lift = el('input', { type: 'checkbox', id: 'exception-lift' });
  const form = el('form', { id: 'exception', class: 'card' },
    el('h2', {}, 'Local exception'),
    el('p', { class: 'hint' }, 'Stop applying one entry here without leaving its list (§11.6). The list is still declared in full.'),
    el('div', { class: 'row' }, field('List', list), field('Entry index', entry)),
    field('Reason', reason),
    el('div', { class: 'field check' }, lift, el('label', { for: 'exception-lift' }, 'Lift the exception instead')),
    el('button', { type: 'submit', id: 'exception-submit', class: 'button-secondary' }, 'Apply'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { list: list.value, entry: Number(entry.value) };
    if (lift.checked) body.lift = true;
    else if (reason.value.trim()) body.reason = reason.value.trim();
    try {
      const r = await ctx.admin.post('/exceptions', body);
      notify(r.excepted ? `Entry ${r.entry} no longer applies here.` : `Entry ${r.entry} applies again.`, 'ok');
    } catch (err) {
      notify(`Not applied: ${describe(err)}`, 'bad');
    }
  });
  if (!lists.length) return el('div', { class: 'card' }, el('h2', {}, 'Local exception'), el('p', { class: 'empty' }, 'No list held.'));
  return form;
}
