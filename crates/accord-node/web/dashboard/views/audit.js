// The audit log (spec/reports.md §10), verified in this browser: the node's
// signed head, every moderator's signed action, and the Merkle root over
// the actions in order. Nothing the node says about the log is taken on
// trust; the node's own check of its stored log is shown beside it.

import { badge, describe, el, fill, notify, shortId, table, when } from '../ui.js';
import { verifyAudit } from '../verify.js';

const WHY = {
  bad_head: 'the head is not signed by the node it names',
  bad_action: 'an action is altered or not signed by the moderator it names',
  wrong_node: 'an action names another node',
  root_mismatch: 'the actions were altered, added, removed or reordered: they do not make the signed root',
};

/** Renders the section. */
export async function render(section, ctx) {
  const api = ctx.role === 'operator' ? ctx.admin : ctx.mod;
  const exported = await api.audit();
  let result;
  try {
    result = await verifyAudit(exported);
  } catch (e) {
    result = { ok: false, code: 'unverifiable', error: describe(e), actions: [] };
  }
  const head = result.head;
  // The team's work and appeals (spec/reports.md §9.1, §15), beside decisions.
  const WORK = ['assign', 'mute', 'unmute', 'appeal', 'uphold', 'overturn'];
  const verdict = result.ok
    ? el('div', { class: 'alert alert-ok', id: 'audit-verdict', 'data-ok': 'true' },
        el('strong', {}, 'Verified in this browser. '),
        `${exported.actions.length} actions, signed head of ${when(head.ts)}, root `, el('code', {}, `${result.root.slice(0, 16)}…`))
    : el('div', { class: 'alert alert-bad', id: 'audit-verdict', 'data-ok': 'false', role: 'alert' },
        el('strong', {}, `Does not verify (${result.code}${result.index !== null && result.index !== undefined ? `, action ${result.index}` : ''}). `),
        WHY[result.code] || result.error || '');
  const rows = exported.actions.map((_, i) => {
    const checked = result.actions[i];
    const a = checked && checked.body;
    if (!a) return [String(i), '—', '—', '—', '—', '—', badge('not checked', 'muted')];
    return [
      String(i),
      when(a.ts),
      badge(a.action, a.action === 'dismiss' ? 'muted' : WORK.includes(a.action) ? 'info' : 'warn'),
      shortId(a.case, 8),
      a.moderator === head?.node ? 'the node' : shortId(a.moderator, 8),
      [a.reason, a.assignee && `to ${shortId(a.assignee, 8)}`, a.report && `report ${shortId(a.report, 8)}`,
        a.appeal && `appeal ${a.appeal.slice(0, 12)}…`].filter(Boolean).join(' · '),
      checked.ok ? badge('verified', 'ok') : badge('bad', 'bad'),
    ];
  }).reverse();
  const nodeCheck = el('span', { id: 'audit-node-check' });
  const checkButton = ctx.role === 'operator'
    ? el('button', { type: 'button', class: 'button-quiet', id: 'audit-node-verify', on: { click: async () => {
        try {
          const r = await ctx.admin.get('/audit/verify');
          fill(nodeCheck, badge(`node: stored log verifies (${r.size} actions)`, 'ok'));
        } catch (e) {
          fill(nodeCheck, badge(`node: ${describe(e)}`, 'bad'));
          notify(`The stored audit log does not verify: ${describe(e)}`, 'bad');
        }
      } } }, 'Ask the node to check its stored log')
    : null;
  fill(section,
    el('div', { class: 'view-head' },
      el('h1', { id: 'audit-title' }, 'Audit log'),
      el('button', { type: 'button', class: 'button-quiet', on: { click: () => ctx.show('audit') } }, 'Verify again')),
    verdict,
    el('div', { class: 'actions' }, checkButton, nodeCheck),
    rows.length
      ? table('audit', ['#', 'When', 'Action', 'Case', 'By', 'Reason', 'Signature'], rows, 'Newest first')
      : el('p', { class: 'empty' }, 'No moderation action yet.'));
}
