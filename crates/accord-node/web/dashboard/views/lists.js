// Lists issued by this node (spec/blocklists.md §12.2, §12.2a): create,
// add and retract entries with category and reason, import a file with a
// progress bar (parsed by the node, staged in parts, committed under one
// checkpoint), export. Every append is signed and announced: before it, the
// operator is told how many nodes follow the list (§12.2b). Private notes on
// entries (§11.10) are shown and added here; they stay on this node.

import {
  CATEGORIES, badge, busy, categoryLabel, confirmAction, describe, el, field, fill, notify, plural, select, table,
  when,
} from '../ui.js';

/** Entries staged per request during an import. */
const CHUNK = 5000;
/** Entries shown per page. */
const PAGE = 100;

let selected = null;

const nameOf = (listId) => listId.slice(listId.indexOf('/') + 1);

function reach(list) {
  const n = list.followers;
  return n > 0
    ? `${plural(n, 'node')} ${n === 1 ? 'follows' : 'follow'} this list and will apply the change within about 30 seconds.`
    : 'No node has fetched this list in the last 10 minutes; nodes that subscribe later apply it too.';
}

function targetText(target) {
  if (!target) return '';
  if (target.type === 'hashed') return `hashed ${target.kind} ${target.hash.slice(0, 12)}…`;
  return `${target.type} ${target.id}`;
}

/** Renders the section. */
export async function render(section, ctx) {
  const { lists } = await ctx.admin.get('/lists');
  const own = lists.filter((l) => l.own);
  if (!own.some((l) => l.list === selected)) selected = own.length ? own[0].list : null;
  const current = own.find((l) => l.list === selected);

  const nameInput = el('input', { id: 'create-name', name: 'name', required: true, pattern: '[a-z0-9][a-z0-9._-]*', placeholder: 'abuse', autocomplete: 'off', 'aria-describedby': 'create-name-hint' });
  const createForm = el('form', { id: 'create-list', class: 'card' },
    el('div', { class: 'inline-form' },
      field('New list name', nameInput),
      el('button', { type: 'submit', id: 'create-submit', class: 'button-primary' }, 'Create list')),
    el('p', { class: 'hint form-hint', id: 'create-name-hint' }, 'Lowercase letters, digits, ".", "_" and "-". The list is signed with the node key and announced to the network.'));
  createForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    await busy(createForm.querySelector('button'), async () => {
      try {
        const made = await ctx.admin.post('/lists', { name: nameInput.value.trim() });
        selected = made.list;
        notify(`List ${nameOf(made.list)} created and announced.`, 'ok');
        await ctx.show('lists');
      } catch (err) {
        notify(`Not created: ${describe(err)}`, 'bad');
      }
    });
  });

  const picker = own.length
    ? el('div', { class: 'list-picker', role: 'list', id: 'own-lists' }, own.map((l) => el('button', {
        type: 'button',
        role: 'listitem',
        class: `list-chip${l.list === selected ? ' active' : ''}`,
        'aria-pressed': String(l.list === selected),
        'data-list': l.list,
        on: { click: () => { selected = l.list; ctx.show('lists'); } },
      }, el('strong', {}, nameOf(l.list)), el('span', {}, `${l.size} entries · ${plural(l.followers, 'follower')}`))))
    : el('p', { class: 'empty' }, 'This node issues no list yet.');

  fill(section,
    el('div', { class: 'view-head' }, el('h1', { id: 'lists-title' }, 'Lists issued here')),
    createForm,
    picker,
    current ? await detail(current, ctx) : null);
}

async function detail(list, ctx) {
  const name = nameOf(list.list);
  const shown = await ctx.admin.get(`/lists/${encodeURIComponent(name)}/entries?from=${Math.max(0, list.size - PAGE)}&limit=${PAGE}`);
  const { notes } = await ctx.admin.get(`/notes?list=${encodeURIComponent(list.list)}`);
  return el('div', { class: 'list-detail', id: 'list-detail', 'data-list': list.list },
    el('div', { class: 'card' },
      el('h2', {}, name),
      el('dl', { class: 'facts' },
        el('dt', {}, 'List id'), el('dd', {}, el('code', { class: 'id wrap', id: 'list-id' }, list.list)),
        el('dt', {}, 'Entries'), el('dd', { id: 'list-size' }, String(list.size)),
        el('dt', {}, 'Followers'), el('dd', { id: 'list-followers' }, plural(list.followers, 'node')))),
    el('div', { class: 'columns' }, addForm(list, ctx), importForm(list, ctx)),
    exportForm(list, ctx),
    entriesTable(list, shown, ctx),
    notesCard(list, notes, ctx));
}

/** The private notes on the list's entries, and a form to add one. */
function notesCard(list, notes, ctx) {
  const entry = el('input', { type: 'number', id: 'note-entry', min: 0, max: Math.max(0, list.size - 1), step: 1, required: true });
  const text = el('textarea', { id: 'note-text', rows: 2, maxlength: 4096, required: true });
  const form = el('form', { id: 'add-note', class: 'inline-form' },
    field('Entry', entry),
    field('Note', text),
    el('button', { type: 'submit', id: 'note-submit', class: 'button-secondary' }, 'Keep note'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    await busy(form.querySelector('button'), async () => {
      try {
        await ctx.admin.post('/notes', { list: list.list, entry: Number(entry.value), text: text.value.trim() });
        notify(`Note kept on entry ${entry.value}.`, 'ok');
        await ctx.show('lists');
      } catch (err) {
        notify(`Not kept: ${describe(err)}`, 'bad');
      }
    });
  });
  const rows = notes.map((n) => [String(n.entry), n.by, when(n.at), n.text]);
  return el('div', { class: 'card', id: 'list-notes' },
    el('h3', {}, 'Private notes'),
    el('p', { class: 'hint' }, 'Kept on this node only: never part of the list, its checkpoints or anything sent to other nodes.'),
    rows.length ? table('notes', ['#', 'By', 'When', 'Note'], rows) : el('p', { class: 'empty' }, 'No note yet.'),
    list.size > 0 ? form : null);
}

function addForm(list, ctx) {
  const kind = select('entry-kind', [['account', 'Account'], ['node', 'Node'], ['room', 'Room'], ['content', 'Content (SHA-256 hex)']], 'account');
  const id = el('input', { id: 'entry-id', required: true, autocomplete: 'off', spellcheck: 'false', placeholder: 'acct1…' });
  const category = select('entry-category', CATEGORIES.map((c) => [c, categoryLabel(c)]), 'spam');
  const action = select('entry-action', [['reject', 'Reject'], ['quarantine', 'Quarantine (hold for review)']], 'reject');
  const reason = el('textarea', { id: 'entry-reason', rows: 2, maxlength: 1024 });
  const hashed = el('input', { type: 'checkbox', id: 'entry-hashed' });
  const expires = el('input', { type: 'number', id: 'entry-expires', min: 1, step: 1, placeholder: 'never' });
  const form = el('form', { id: 'add-entry', class: 'card' },
    el('h3', {}, 'Add an entry'),
    el('div', { class: 'row' }, field('Target kind', kind), field('Target', id)),
    el('div', { class: 'row' }, field('Category', category), field('Action', action)),
    field('Reason (shown with what it hides)', reason),
    el('div', { class: 'row' },
      el('div', { class: 'field check' }, hashed, el('label', { for: 'entry-hashed' }, 'Log only the target\'s hash')),
      field('Expires in days', expires)),
    el('button', { type: 'submit', id: 'entry-submit', class: 'button-primary' }, 'Sign and add'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { kind: kind.value, id: id.value.trim(), category: category.value, action: action.value };
    if (hashed.checked) body.hashed = true;
    if (reason.value.trim()) body.reason = reason.value.trim();
    if (expires.value) body.expires_in = Math.round(Number(expires.value) * 86400);
    const ok = await confirmAction(
      `Add to ${nameOf(list.list)}?`,
      `${body.action === 'reject' ? 'Reject' : 'Quarantine'} ${body.kind} ${body.id} for ${categoryLabel(body.category)}.`,
      [reach(list), 'The entry is signed with the node key and cannot be deleted, only retracted by a later entry.'],
      'Sign and add');
    if (!ok) return;
    await busy(form.querySelector('button[type=submit]'), async () => {
      try {
        const appended = await ctx.admin.post(`/lists/${encodeURIComponent(nameOf(list.list))}/entries`, body);
        notify(`Entry ${appended.first} added to ${nameOf(list.list)}.`, 'ok');
        await ctx.show('lists');
      } catch (err) {
        notify(`Not added: ${describe(err)}`, 'bad');
      }
    });
  });
  return form;
}

function importForm(list, ctx) {
  const file = el('input', { type: 'file', id: 'import-file', required: true, accept: '.csv,.txt,.json,text/plain,text/csv,application/json' });
  const format = select('import-format', [['mastodon-csv', 'Mastodon domain blocks (CSV)'], ['plain', 'One target per line'], ['matrix-policy', 'Matrix policy rules (JSON)']], 'mastodon-csv');
  const category = select('import-category', CATEGORIES.map((c) => [c, categoryLabel(c)]), 'other');
  const progress = el('progress', { id: 'import-progress', max: 100, value: 0, 'aria-labelledby': 'import-phase' });
  const phase = el('span', { id: 'import-phase' }, 'Waiting for a file');
  const percent = el('span', { id: 'import-percent', class: 'percent' }, '0%');
  const result = el('div', { id: 'import-result' });
  const form = el('form', { id: 'import', class: 'card' },
    el('h3', {}, 'Import'),
    field('File', file),
    el('div', { class: 'row' }, field('Format', format), field('Category for rows that name none', category)),
    el('button', { type: 'submit', id: 'import-start', class: 'button-primary' }, 'Import'),
    el('div', { class: 'progress-wrap', id: 'import-status' }, el('div', { class: 'progress-label' }, phase, percent), progress),
    result);
  const set = (value, text) => {
    progress.value = value;
    percent.textContent = `${Math.floor(value)}%`;
    if (text) phase.textContent = text;
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const chosen = file.files[0];
    if (!chosen) return;
    const name = encodeURIComponent(nameOf(list.list));
    await busy(form.querySelector('button[type=submit]'), async () => {
      form.dataset.state = 'running';
      fill(result);
      try {
        set(0, `Reading ${chosen.name}…`);
        const text = await chosen.text();
        set(2, 'The node is reading the rows…');
        const parsed = await ctx.admin.post('/import/parse', { format: format.value, text, category: category.value });
        const total = parsed.entries.length;
        if (total === 0) {
          set(100, 'Nothing to import');
          form.dataset.state = 'done';
          fill(result, skippedTable(parsed.skipped));
          return;
        }
        const ok = await confirmAction(
          `Import ${plural(total, 'entry', 'entries')} into ${nameOf(list.list)}?`,
          `${parsed.skipped.length} rows cannot be imported and are listed after the import.`,
          [reach(list), 'All entries are signed under one new checkpoint.'],
          'Import');
        if (!ok) {
          set(0, 'Cancelled');
          form.dataset.state = 'cancelled';
          return;
        }
        for (let at = 0; at < total; at += CHUNK) {
          await ctx.admin.post(`/lists/${name}/stage`, { entries: parsed.entries.slice(at, at + CHUNK) });
          const staged = Math.min(at + CHUNK, total);
          set(5 + (90 * staged) / total, `Staged ${staged.toLocaleString()} of ${total.toLocaleString()}`);
        }
        set(95, 'Signing the new checkpoint…');
        const appended = await ctx.admin.post(`/lists/${name}/commit`);
        set(100, `Imported ${appended.count.toLocaleString()} entries`);
        form.dataset.state = 'done';
        fill(result,
          el('p', { class: 'ok-line', id: 'import-summary' },
            `${appended.count} entries logged from index ${appended.first}; ${plural(parsed.skipped.length, 'row')} skipped.`),
          skippedTable(parsed.skipped),
          el('button', { type: 'button', class: 'button-quiet', id: 'import-show', on: { click: () => ctx.show('lists') } }, 'Show the entries'));
        const size = document.getElementById('list-size');
        if (size) size.textContent = String(appended.first + appended.count);
        notify(`Imported ${appended.count} entries into ${nameOf(list.list)}.`, 'ok');
      } catch (err) {
        form.dataset.state = 'failed';
        phase.textContent = `Failed: ${describe(err)}`;
        notify(`Import failed: ${describe(err)}`, 'bad');
      }
    });
  });
  return form;
}

function skippedTable(skipped) {
  if (!skipped.length) return null;
  return el('details', { class: 'skipped', id: 'import-skipped' },
    el('summary', {}, `${plural(skipped.length, 'row')} skipped`),
    table('import-skipped-rows', ['Line', 'Row', 'Why'], skipped.slice(0, 500).map((s) => [String(s.line), el('code', {}, s.text), s.why])));
}

function exportForm(list, ctx) {
  const format = select('export-format', [['mastodon-csv', 'Mastodon CSV (node entries)'], ['plain', 'Plain text'], ['matrix-policy', 'Matrix policy rules']], 'plain');
  const form = el('form', { id: 'export', class: 'card inline-form' },
    field('Export as', format),
    el('button', { type: 'submit', id: 'export-submit', class: 'button-secondary' }, 'Download'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const text = await ctx.admin.get(`/lists/${encodeURIComponent(nameOf(list.list))}/export?format=${format.value}`);
      const ext = format.value === 'mastodon-csv' ? 'csv' : format.value === 'matrix-policy' ? 'json' : 'txt';
      const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
      const a = el('a', { href: url, download: `${nameOf(list.list)}.${ext}` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      notify(`Not exported: ${describe(err)}`, 'bad');
    }
  });
  return form;
}

function entriesTable(list, shown, ctx) {
  const retracted = new Set(shown.entries.filter((s) => s.entry && s.entry.op === 'remove').map((s) => s.entry.entry));
  const rows = [...shown.entries].reverse().map((s) => {
    const e = s.entry;
    if (!e) return [String(s.index), badge('unreadable', 'bad'), s.error, '', '', '', ''];
    if (e.op === 'remove') {
      return [String(s.index), badge('retracts', 'muted'), `entry ${e.entry}`, '', '', e.reason || '', when(e.created)];
    }
    const button = retracted.has(s.index)
      ? badge('retracted', 'muted')
      : el('button', { type: 'button', class: 'button-quiet small', 'data-retract': String(s.index), on: { click: () => retract(list, s.index, ctx) } }, 'Retract');
    return [
      String(s.index),
      badge(e.action, e.action === 'reject' ? 'bad' : 'warn'),
      el('span', { class: 'target' }, targetText(e.target)),
      categoryLabel(e.category),
      e.expires ? `until ${when(e.expires)}` : '',
      e.reason || '',
      button,
    ];
  });
  return el('div', { class: 'card' },
    el('h3', {}, list.size > PAGE ? `Latest ${PAGE} of ${list.size} entries` : 'Entries'),
    rows.length
      ? table('entries', ['#', 'Action', 'Target', 'Category', 'Expires', 'Reason', ''], rows)
      : el('p', { class: 'empty' }, 'No entry yet.'));
}

async function retract(list, index, ctx) {
  const ok = await confirmAction(`Retract entry ${index}?`, 'A remove entry is signed and announced; what the entry blocked is shown again.', [reach(list)], 'Retract');
  if (!ok) return;
  try {
    await ctx.admin.post(`/lists/${encodeURIComponent(nameOf(list.list))}/remove`, { entry: index, reason: 'retracted from the dashboard' });
    notify(`Entry ${index} retracted.`, 'ok');
    await ctx.show('lists');
  } catch (err) {
    notify(`Not retracted: ${describe(err)}`, 'bad');
  }
}
