// The report queue (spec/reports.md §8–§12, §15): open cases most severe
// first, people's and automated reports' queues, filters, a case with its
// evidence and context verified here (both signatures of every event, and
// the reporters' signatures), its internal notes, and its resolution — by
// the operator through the admin endpoint (the node signs), or by a
// moderator who signs the action with their own key; and the appeals of
// the node's decisions, upheld or overturned the same two ways.

import {
  CATEGORIES, badge, busy, categoryLabel, confirmAction, describe, el, field, fill, notify, plural, select, shortId,
  table, when,
} from '../ui.js';
import { commonLib, contentText, verifyEvent } from '../verify.js';

const filters = { state: 'open', source: 'people', category: '', accused: '' };
let openCase = null;

const reportsApi = (ctx) => (ctx.role === 'operator' ? ctx.admin : ctx.mod);

/** Renders the section. */
export async function render(section, ctx) {
  const { cases } = await reportsApi(ctx).cases(filters.state, filters.source);
  const { appeals } = await reportsApi(ctx).appeals('open');
  const shown = cases.filter((c) => (!filters.category || c.category === filters.category)
    && (!filters.accused || c.accused.some((a) => a.includes(filters.accused.trim()))));

  const state = select('filter-state', [['open', 'Open'], ['resolved', 'Resolved'], ['all', 'All']], filters.state);
  const source = select('filter-source', [['people', "People's reports"], ['automated', 'Automated reports'], ['all', 'Both']], filters.source);
  const category = select('filter-category', [['', 'Any category'], ...CATEGORIES.map((c) => [c, categoryLabel(c)])], filters.category);
  const accused = el('input', { id: 'filter-accused', type: 'search', value: filters.accused, placeholder: 'acct1…', autocomplete: 'off' });
  const filterForm = el('form', { id: 'case-filters', class: 'filters', role: 'search' },
    field('Queue', source), field('State', state), field('Category', category), field('Accused account', accused),
    el('button', { type: 'submit', class: 'button-secondary', id: 'filter-apply' }, 'Filter'));
  filterForm.addEventListener('submit', (e) => {
    e.preventDefault();
    Object.assign(filters, { state: state.value, source: source.value, category: category.value, accused: accused.value });
    ctx.show('reports');
  });

  const rows = shown.map((c) => [
    el('button', { type: 'button', class: 'link', 'data-case': c.id, on: { click: () => { openCase = c.id; ctx.show('reports'); } } }, `${c.id.slice(0, 12)}…`),
    badge(categoryLabel(c.category), severity(c.category)),
    c.accused.length ? el('span', {}, c.accused.slice(0, 2).map((a) => shortId(a, 8)), c.accused.length > 2 ? ` +${c.accused.length - 2}` : '') : '—',
    `${plural(c.reports, 'report')} · ${plural(c.reporters, 'reporter')}`,
    when(c.opened),
    c.assigned ? shortId(c.assigned, 8) : '—',
    c.resolution ? badge(c.resolution.overturned ? `${c.resolution.action}, overturned` : c.resolution.action, 'muted') : c.quarantined ? badge('held for review', 'warn') : badge('open', 'info'),
  ]);

  fill(section,
    el('div', { class: 'view-head' },
      el('h1', { id: 'reports-title' }, 'Reports'),
      el('button', { type: 'button', class: 'button-quiet', on: { click: () => ctx.show('reports') } }, 'Refresh')),
    filterForm,
    rows.length
      ? table('cases', ['Case', 'Category', 'Accused', 'Reports', 'Opened', 'Assigned', 'State'], rows, 'Most severe first, then oldest')
      : el('p', { class: 'empty', id: 'cases-empty' }, 'No case matches.'),
    appealsTable(appeals, ctx),
    el('div', { id: 'case-detail' }));
  if (openCase) await showCase(openCase, ctx);
}

function severity(category) {
  const at = CATEGORIES.indexOf(category);
  return at <= 3 ? 'bad' : at <= 6 ? 'warn' : 'muted';
}

async function showCase(id, ctx) {
  const holder = document.getElementById('case-detail');
  let detail;
  try {
    detail = await reportsApi(ctx).caseDetail(id);
  } catch (err) {
    openCase = null;
    notify(`Case not shown: ${describe(err)}`, 'bad');
    return;
  }
  const [evidence, context, reporters] = await Promise.all([
    Promise.all(detail.evidence.map(verifyEvent)),
    Promise.all(detail.context.map(verifyEvent)),
    Promise.all(detail.reports.map(verifyReport)),
  ]);
  const c = detail.case;
  fill(holder, el('article', { class: 'card case', id: 'case', 'data-case': c.id, 'aria-labelledby': 'case-title' },
    el('div', { class: 'card-head' },
      el('h2', { id: 'case-title', tabindex: -1 }, `Case ${c.id.slice(0, 12)}…`),
      badge(categoryLabel(c.category), severity(c.category)),
      el('button', { type: 'button', class: 'button-quiet', on: { click: () => { openCase = null; fill(holder); } } }, 'Close')),
    el('dl', { class: 'facts' },
      el('dt', {}, 'Accused'), el('dd', {}, c.accused.map((a) => el('code', { class: 'id wrap block' }, a))),
      el('dt', {}, 'Opened'), el('dd', {}, when(c.opened)),
      el('dt', {}, 'Reports by'), el('dd', {}, c.source === 'automated' ? 'automated reporters' : 'people'),
      c.assigned ? [el('dt', {}, 'Assigned to'), el('dd', { id: 'case-assigned' }, el('code', { class: 'id wrap block' }, c.assigned))] : null,
      c.resolution ? [el('dt', {}, 'Resolved'), el('dd', {}, `${c.resolution.action} by ${c.resolution.moderator}${c.resolution.reason ? `: ${c.resolution.reason}` : ''}${c.resolution.overturned ? ' (overturned on appeal)' : ''}`)] : null),
    el('h3', {}, 'Evidence'),
    events('case-evidence', evidence),
    context.length ? [el('h3', {}, 'Context'), events('case-context', context)] : null,
    el('h3', {}, 'Reports'),
    table('case-reports', ['Reporter', 'Category', 'Comment', 'When', 'From', 'Signature'], detail.reports.map((r, i) => [
      shortId(r.reporter, 8), categoryLabel(r.category), r.comment || '', when(r.ts), r.from === 'local' ? 'this node' : shortId(r.from, 8),
      reporters[i] ? badge('verified', 'ok') : badge('does not verify', 'bad'),
    ])),
    notesPart(c, detail.notes || [], ctx),
    c.state === 'open' ? await resolveForm(c, ctx) : null));
  holder.querySelector('h2').focus();
}

/** Internal notes: private to the node's moderators and operator (§9.1). */
function notesPart(c, notes, ctx) {
  const text = el('textarea', { id: 'note-text', rows: 2, maxlength: 4096, required: true });
  const form = el('form', { id: 'note-form', class: 'resolve' },
    field('Add a note (seen only by moderators and the operator)', text),
    el('button', { type: 'submit', id: 'note-submit', class: 'button-secondary' }, 'Add note'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!text.value.trim()) return;
    await busy(form.querySelector('button[type=submit]'), async () => {
      try {
        await reportsApi(ctx).addNote(c.id, text.value.trim());
        notify('Note added.', 'ok');
        await ctx.show('reports');
      } catch (err) {
        notify(`Note not added: ${describe(err)}`, 'bad');
      }
    });
  });
  return [
    el('h3', {}, 'Internal notes'),
    notes.length
      ? el('ol', { class: 'notes', id: 'case-notes' }, notes.map((n) => el('li', { class: 'note' },
        el('div', { class: 'event-meta' }, shortId(n.author, 8), el('span', {}, when(n.ts))),
        el('p', { class: 'note-text' }, n.text))))
      : el('p', { class: 'empty', id: 'case-notes-empty' }, 'No notes.'),
    form,
  ];
}

/** Open appeals of the node's decisions (§15), each upheld or overturned here. */
function appealsTable(appeals, ctx) {
  if (!appeals.length) return el('p', { class: 'empty', id: 'appeals-empty' }, 'No open appeals.');
  const rows = appeals.map((a) => [
    el('code', { class: 'id' }, `${a.id.slice(0, 12)}…`),
    el('button', { type: 'button', class: 'link', 'data-case': a.case, on: { click: () => { openCase = a.case; ctx.show('reports'); } } }, `${a.case.slice(0, 12)}…`),
    shortId(a.account, 8),
    a.reason,
    a.decided_by ? shortId(a.decided_by, 8) : '—',
    el('span', { class: 'row' },
      el('button', { type: 'button', class: 'button-secondary', 'data-appeal': a.id, 'data-verdict': 'uphold', on: { click: () => resolveAppeal(a, 'uphold', ctx) } }, 'Uphold'),
      el('button', { type: 'button', class: 'button-primary', 'data-appeal': a.id, 'data-verdict': 'overturn', on: { click: () => resolveAppeal(a, 'overturn', ctx) } }, 'Overturn')),
  ]);
  return [el('h2', { id: 'appeals-title' }, 'Appeals'),
    table('appeals', ['Appeal', 'Case', 'By', 'Why', 'Decided by', 'Resolve'], rows, 'Oldest first; not by the moderator who decided')];
}

async function resolveAppeal(a, verdict, ctx) {
  const details = verdict === 'overturn'
    ? ['Removes the list entries the decision wrote.', 'The resolution is signed and kept in the public audit log.']
    : ['The decision stands.', 'The resolution is signed and kept in the public audit log.'];
  const ok = await confirmAction(`${verdict === 'overturn' ? 'Overturn' : 'Uphold'} the decision?`, `Appeal by ${a.account}: ${a.reason}`, details, verdict === 'overturn' ? 'Sign and overturn' : 'Sign and uphold');
  if (!ok) return;
  try {
    const receipt = ctx.role === 'operator'
      ? await ctx.admin.post(`/appeals/${a.id}/resolve`, { action: verdict })
      : await ctx.mod.act(await signAppealAction(ctx, a, verdict));
    notify(`Appeal ${verdict === 'overturn' ? 'overturned' : 'upheld'}: audit entry ${receipt.index}.`, 'ok');
    await ctx.show('reports');
  } catch (err) {
    notify(`Appeal not resolved: ${describe(err)}`, 'bad');
  }
}

/** A moderator's signed `uphold` or `overturn` (spec/reports.md §9, §15), fields in canonical order. */
async function signAppealAction(ctx, a, action) {
  const lib = await commonLib();
  const body = { node: ctx.mod.node, moderator: ctx.mod.key.account, case: a.case, action, appeal: a.id, ts: Date.now() };
  return lib.signBytes(ctx.mod.key, 'accord/v1/mod-action', lib.canonical(body));
}

function events(id, verified) {
  if (!verified.length) return el('p', { class: 'empty' }, 'None.');
  return el('ol', { class: 'events', id },
    verified.map((v) => el('li', { class: v.ok ? 'event' : 'event event-bad', 'data-verified': String(v.ok) },
      el('div', { class: 'event-meta' },
        v.ok ? badge('signatures verified', 'ok') : badge(`not verified: ${v.error}`, 'bad'),
        v.body ? shortId(v.body.author, 8) : null,
        v.body ? el('span', {}, when(v.body.ts)) : null),
      v.ok ? el('p', { class: 'event-text' }, contentText(v.body)) : el('p', { class: 'event-text muted' }, 'This event is not shown: it does not verify.'))));
}

async function verifyReport(r) {
  try {
    const lib = await commonLib();
    return await lib.verifySigned(r.report, 'accord/v1/report', lib.b64decode(r.report.signer));
  } catch {
    return false;
  }
}

async function resolveForm(c, ctx) {
  const operator = ctx.role === 'operator';
  const own = operator ? (await ctx.admin.get('/lists')).lists.filter((l) => l.own) : [];
  const action = select('resolve-action', [
    ['dismiss', 'Dismiss: the report does not hold'],
    ['hide', 'Hide the reported messages'],
    ['suspend', 'Suspend the accused accounts'],
    ['block', 'Block the accused accounts'],
  ], 'block');
  const listControl = operator && own.length
    ? select('resolve-list', own.map((l) => { const n = l.list.split('/')[1]; return [n, `${n} (${plural(l.followers, 'follower')})`]; }), own[0].list.split('/')[1])
    : el('input', { id: 'resolve-list', value: 'abuse', required: true, autocomplete: 'off' });
  const reason = el('textarea', { id: 'resolve-reason', rows: 2, maxlength: 1024 });
  const days = el('input', { id: 'resolve-days', type: 'number', min: 1, value: 7 });
  const form = el('form', { id: 'resolve', class: 'resolve' },
    el('h3', {}, 'Resolve'),
    el('div', { class: 'row' }, field('Decision', action), field('List written to', listControl)),
    field('Reason (public, in the audit log)', reason),
    field('Suspension in days', days),
    el('button', { type: 'submit', id: 'resolve-submit', class: 'button-primary' }, 'Sign and resolve'));
  const sync = () => {
    days.closest('.field').hidden = action.value !== 'suspend';
    listControl.closest('.field').hidden = action.value === 'dismiss';
  };
  action.addEventListener('change', sync);
  sync();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const verdict = action.value;
    const listName = listControl.value.trim();
    const details = [];
    if (verdict !== 'dismiss') {
      const followed = own.find((l) => l.list.endsWith(`/${listName}`));
      details.push(followed
        ? `${verdict === 'hide' ? 'Hides the messages' : 'Refuses the accounts'} on list ${listName}, which ${plural(followed.followers, 'node')} ${followed.followers === 1 ? 'follows' : 'follow'}: ${followed.followers ? 'they apply it within about 30 seconds' : 'nodes that subscribe later apply it'}.`
        : `Writes entries to list ${listName}; every node that follows it applies them.`);
    }
    details.push('The action is signed and kept in the public audit log.');
    const ok = await confirmAction(`${verdict[0].toUpperCase()}${verdict.slice(1)} this case?`,
      c.accused.length ? `Accused: ${c.accused.join(', ')}` : '', details, 'Sign and resolve');
    if (!ok) return;
    await busy(form.querySelector('button[type=submit]'), async () => {
      try {
        const receipt = operator
          ? await ctx.admin.post(`/reports/${c.id}/resolve`, resolveBody(verdict, listName, reason.value, days.value))
          : await ctx.mod.act(await signAction(ctx, c, verdict, listName, reason.value, days.value));
        notify(`Resolved: audit entry ${receipt.index}, ${plural(receipt.entries.length, 'list entry', 'list entries')} written.`, 'ok');
        openCase = null;
        await ctx.show('reports');
      } catch (err) {
        notify(`Not resolved: ${describe(err)}`, 'bad');
      }
    });
  });
  return form;
}

function resolveBody(action, list, reason, days) {
  const body = { action };
  if (action !== 'dismiss') body.list = list;
  if (reason.trim()) body.reason = reason.trim();
  if (action === 'suspend') body.days = Number(days) || 7;
  return body;
}

/** A moderator's signed action (spec/reports.md §9), fields in canonical order. */
async function signAction(ctx, c, action, listName, reason, days) {
  const lib = await commonLib();
  const ts = Date.now();
  const body = { node: ctx.mod.node, moderator: ctx.mod.key.account, case: c.id, action };
  if (action !== 'dismiss') body.list = `${lib.bech32mEncode('iss', lib.keyOfNodeId(ctx.mod.node))}/${listName}`;
  if (reason.trim()) body.reason = reason.trim();
  if (action === 'suspend') body.expires = ts + (Number(days) || 7) * 86400000;
  body.ts = ts;
  return lib.signBytes(ctx.mod.key, 'accord/v1/mod-action', lib.canonical(body));
}
