// Node: who the node is, where it listens, its peers and their reputation,
// the lists it holds and how far behind they are, key counters
// (GET /admin/status, spec/blocklists.md §12.2b).

import { badge, duration, el, fill, listLabel, plural, shortId, table, when } from '../ui.js';

function metric(id, label, value) {
  return el('div', { class: 'metric', id: `metric-${id}` },
    el('span', { class: 'metric-value' }, Number(value).toLocaleString()),
    el('span', { class: 'metric-label' }, label));
}

function scoreBar(score) {
  const meter = el('meter', { min: 0, max: 100, low: 40, high: 80, optimum: 0, value: Math.min(score, 100),
    'aria-label': `reputation score ${score} of 100` });
  return el('span', { class: 'score' }, meter, ` ${score}`);
}

/** Renders the section. */
export async function render(section, ctx) {
  const s = await ctx.admin.get('/status');
  const m = s.metrics;
  const connected = s.peers.filter((p) => p.connected).length;
  const peerRows = s.peers.map((p) => [
    shortId(p.node, 14),
    p.connected ? badge('connected', 'ok') : badge('not connected', 'muted'),
    scoreBar(p.score),
    p.blocked ? badge('blocked by you', 'bad') : p.penalized ? badge('cut off', 'warn') : badge('in good standing', 'ok'),
  ]);
  const listRows = s.lists.map((l) => [
    listLabel(l.list),
    l.own ? badge('issued here', 'info') : badge('subscribed', 'muted'),
    String(l.size),
    l.behind > 0 ? badge(`${l.behind} behind`, 'warn') : badge('up to date', 'ok'),
    when(l.signed),
    plural(l.followers, 'node'),
    l.distrusted ? badge('distrusted', 'bad') : '',
  ]);
  fill(section,
    el('div', { class: 'view-head' },
      el('h1', { id: 'status-title' }, 'Node'),
      el('button', { type: 'button', id: 'status-refresh', class: 'button-quiet', on: { click: () => ctx.show('status') } }, 'Refresh')),
    el('div', { class: 'card node-card' },
      el('dl', { class: 'facts' },
        el('dt', {}, 'Node id'), el('dd', {}, el('code', { id: 'status-node', class: 'id wrap' }, s.node)),
        el('dt', {}, 'Name'), el('dd', { id: 'status-name' }, s.name),
        el('dt', {}, 'Version'), el('dd', {}, s.version),
        el('dt', {}, 'Client API'), el('dd', {}, el('code', {}, s.api)),
        el('dt', {}, 'Peer-to-peer'), el('dd', {}, s.p2p.map((a) => el('code', { class: 'id wrap block' }, a))),
        el('dt', {}, 'Up for'), el('dd', {}, duration(Date.now() - s.started)))),
    el('div', { class: 'metrics', id: 'status-metrics' },
      metric('accounts', 'accounts', m.accounts),
      metric('rooms', 'rooms', m.rooms),
      metric('peers', 'peers connected', connected),
      metric('streams', 'live streams', m.streams),
      metric('events', 'events accepted', m.events_accepted),
      metric('received', 'events from peers', m.events_received),
      metric('indexed', 'entries enforced', m.indexed),
      metric('cases', 'open cases', m.open_cases),
      metric('evidence', 'evidence records', m.evidence)),
    el('h2', {}, 'Peers'),
    s.peers.length
      ? table('status-peers', ['Node', 'Connection', 'Misbehaviour score', 'Standing'], peerRows)
      : el('p', { class: 'empty' }, 'No peer is connected.'),
    el('h2', {}, 'Lists held'),
    s.lists.length
      ? table('status-lists', ['List', 'Kind', 'Entries', 'Lag', 'Signed', 'Followers', ''], listRows)
      : el('p', { class: 'empty' }, 'No list is held. Create one under Lists or subscribe under Subscriptions.'));
}
