// Peers and evidence: the operator's firewall of federation peers
// (spec/federation.md §9), the evidence recorded against peers that relayed
// what the lists they declare block (§7.4, re-verified here), the events
// held in quarantine for review (spec/blocklists.md §11.5), and the node's
// moderator accounts (spec/reports.md §12).

import { badge, busy, confirmAction, describe, el, field, fill, notify, shortId, table, when } from '../ui.js';
import { contentText, verifyEvent } from '../verify.js';

/** Renders the section. */
export async function render(section, ctx) {
  const [peers, { evidence }, { quarantine }, { moderators }] = await Promise.all([
    ctx.admin.get('/peers'),
    ctx.admin.get('/evidence'),
    ctx.admin.get('/quarantine'),
    ctx.admin.get('/moderators'),
  ]);
  const checked = await Promise.all(evidence.map((e) => verifyEvent(e.event)));
  const held = await Promise.all(quarantine.map((q) => verifyEvent(q.event)));

  const node = el('input', { id: 'block-node', required: true, autocomplete: 'off', spellcheck: 'false', placeholder: '12D3KooW…', 'aria-describedby': 'block-node-hint' });
  const blockForm = el('form', { id: 'block-peer', class: 'card' },
    el('div', { class: 'inline-form' },
      field('Block a node', node),
      el('button', { type: 'submit', id: 'block-submit', class: 'button-danger' }, 'Block')),
    el('p', { class: 'hint form-hint', id: 'block-node-hint' }, 'Refuses and drops every connection to it until you unblock it.'));
  blockForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const ok = await confirmAction('Block this node?', node.value.trim(), ['Its connections are dropped now; nothing is exchanged with it until you unblock it.'], 'Block');
    if (!ok) return;
    await busy(blockForm.querySelector('button'), () => post(ctx, '/peers/block', { node: node.value.trim() }, 'Node blocked.'));
  });

  const modInput = el('input', { id: 'moderator-account', required: true, autocomplete: 'off', spellcheck: 'false', placeholder: 'acct1…' });
  const modForm = el('form', { id: 'add-moderator', class: 'inline-form' },
    field('Add a moderator account', modInput),
    el('button', { type: 'submit', class: 'button-secondary', id: 'moderator-submit' }, 'Add'));
  modForm.addEventListener('submit', (e) => {
    e.preventDefault();
    post(ctx, '/moderators', { account: modInput.value.trim() }, 'Moderator added.');
  });

  fill(section,
    el('div', { class: 'view-head' }, el('h1', { id: 'peers-title' }, 'Peers & evidence')),
    el('h2', {}, 'Blocked nodes'),
    peers.blocked.length
      ? table('blocked-peers', ['Node', ''], peers.blocked.map((n) => [
          shortId(n, 16),
          el('button', { type: 'button', class: 'button-quiet small', on: { click: () => post(ctx, '/peers/unblock', { node: n }, 'Node unblocked.') } }, 'Unblock'),
        ]))
      : el('p', { class: 'empty' }, 'You block no node.'),
    blockForm,
    el('h2', {}, 'Evidence against peers'),
    el('p', { class: 'hint' }, 'Events a peer pushed although a list its signed policy manifest declares blocks them. Each event is verified here.'),
    evidence.length
      ? table('evidence', ['Peer', 'Event', 'Blocked by', 'Recorded', 'Event signatures'], evidence.map((e, i) => [
          shortId(e.peer, 10),
          checked[i].ok ? el('span', {}, contentText(checked[i].body)) : '—',
          `${shortId(e.provenance.list, 8).textContent} #${e.provenance.entry} (${e.provenance.category})`,
          when(e.recorded),
          checked[i].ok ? badge('verified', 'ok') : badge(checked[i].error, 'bad'),
        ]))
      : el('p', { class: 'empty' }, 'No evidence recorded.'),
    el('h2', {}, 'Held for review'),
    quarantine.length
      ? table('quarantine', ['Event', 'Author', 'Held by', ''], quarantine.map((q, i) => [
          held[i].ok ? contentText(held[i].body) : badge(held[i].error, 'bad'),
          held[i].body ? shortId(held[i].body.author, 8) : '—',
          `${q.provenance.category} (#${q.provenance.entry})`,
          el('button', { type: 'button', class: 'button-quiet small', on: { click: () => post(ctx, '/quarantine/release', { event: q.event_id }, 'Released.') } }, 'Release'),
        ]))
      : el('p', { class: 'empty' }, 'Nothing is held.'),
    el('h2', {}, 'Moderators'),
    el('div', { class: 'card' },
      moderators.length
        ? table('moderators', ['Account', 'Since', 'Source', ''], moderators.map((m) => [
            shortId(m.account, 12), when(m.since), m.source === 'config' ? 'configuration' : 'dashboard',
            m.source === 'admin'
              ? el('button', { type: 'button', class: 'button-quiet small', on: { click: () => post(ctx, '/moderators/remove', { account: m.account }, 'Moderator removed.') } }, 'Remove')
              : '',
          ]))
        : el('p', { class: 'empty' }, 'No moderator account.'),
      modForm));
}

async function post(ctx, path, body, done) {
  try {
    await ctx.admin.post(path, body);
    notify(done, 'ok');
    await ctx.show('peers');
  } catch (err) {
    notify(`Refused: ${describe(err)}`, 'bad');
  }
}
