// The operator and moderator dashboard (issue 14): signs the operator in
// with a session cookie opened by the admin token (spec/blocklists.md
// §12.1a) or a moderator with their member key (spec/client-api.md §2,
// spec/reports.md §11), imported from its key file and kept for this
// origin (the admin listener's) as the chat client keeps it for its own;
// then shows one section at a time.

import { AdminApi, ModApi } from './admin-api.js';
import { busy, describe, fill, notify } from './ui.js';
import * as status from './views/status.js';
import * as lists from './views/lists.js';
import * as subscriptions from './views/subscriptions.js';
import * as reports from './views/reports.js';
import * as audit from './views/audit.js';
import * as peers from './views/peers.js';

const VIEWS = { status, lists, subscriptions, reports, audit, peers };
const $ = (id) => document.getElementById(id);

/** What every view gets: who is signed in and the clients to use. */
const ctx = { role: null, admin: new AdminApi(), mod: null, node: null, current: null };

function showLogin() {
  ctx.role = null;
  $('login').hidden = false;
  $('nav').hidden = true;
  $('whoami').hidden = true;
  for (const name of Object.keys(VIEWS)) $(`view-${name}`).hidden = true;
  $('login-token').focus();
}

async function signedIn(role, nodeId) {
  ctx.role = role;
  ctx.node = nodeId;
  $('login').hidden = true;
  $('nav').hidden = false;
  $('whoami').hidden = false;
  fill($('whoami-role'), role === 'operator' ? 'Operator' : 'Moderator');
  fill($('whoami-node'), nodeId ? `${nodeId.slice(0, 12)}…` : '');
  $('whoami-node').title = nodeId || '';
  for (const tab of document.querySelectorAll('#nav .tab')) {
    tab.hidden = !tab.dataset.role.split(' ').includes(role);
  }
  const wanted = location.hash.slice(1);
  const first = VIEWS[wanted] && !$(`nav-${wanted}`).hidden ? wanted : role === 'operator' ? 'status' : 'reports';
  await show(first);
}

/** Shows one section and (re)loads it. */
export async function show(name) {
  ctx.current = name;
  for (const [view] of Object.entries(VIEWS)) {
    const active = view === name;
    $(`view-${view}`).hidden = !active;
    const tab = $(`nav-${view}`);
    tab.classList.toggle('active', active);
    if (active) tab.setAttribute('aria-current', 'page');
    else tab.removeAttribute('aria-current');
  }
  if (location.hash.slice(1) !== name) history.replaceState(null, '', `#${name}`);
  const section = $(`view-${name}`);
  section.setAttribute('aria-busy', 'true');
  try {
    await VIEWS[name].render(section, ctx);
  } catch (e) {
    if (e.code === 'bad_admin_session' || (ctx.role === 'operator' && e.code === 'forbidden')) {
      notify('The session ended; sign in again.', 'bad');
      showLogin();
      return;
    }
    notify(`Could not load this section: ${describe(e)}`, 'bad');
  } finally {
    section.removeAttribute('aria-busy');
  }
}

ctx.show = show;

async function operatorLogin(event) {
  event.preventDefault();
  const input = $('login-token');
  await busy($('login-submit'), async () => {
    try {
      await ctx.admin.openSession(input.value);
      input.value = '';
      const s = await ctx.admin.get('/status');
      await signedIn('operator', s.node);
      notify('Session opened.', 'ok');
    } catch (e) {
      input.value = '';
      notify(`Not signed in: ${describe(e)}`, 'bad');
    }
  });
}

async function moderatorLogin(event) {
  event.preventDefault();
  const hint = $('login-moderator-hint');
  await busy($('login-moderator-submit'), async () => {
    try {
      if (!window.isSecureContext) {
        fill(hint, 'This page is not a secure context (HTTPS or localhost): the browser cannot sign here.');
        return;
      }
      const [{ importKeyFile, loadKey }, { Api, login }] = await Promise.all([
        import('/web/common/keys.js'),
        import('/web/common/api.js'),
      ]);
      const file = $('login-moderator-keyfile').files[0];
      // The dashboard has an origin of its own (the admin listener), so
      // the chat client's key is not visible here: a key file imports it.
      const key = file ? await importKeyFile(await file.text()) : await loadKey();
      $('login-moderator-keyfile').value = '';
      if (!key) {
        fill(hint, 'This browser holds no member key for the dashboard yet: choose your key file.');
        return;
      }
      const api = new Api('');
      const session = await login(api, key);
      api.setSession(session);
      const node = await api.get('/v1/node');
      const mod = new ModApi(api, key, node.node);
      await mod.cases('open');
      ctx.mod = mod;
      await signedIn('moderator', node.node);
      notify(`Signed in as moderator ${key.account.slice(0, 14)}…`, 'ok');
    } catch (e) {
      const why = e.code === 'not_moderator' ? 'this account is not a moderator of this node' : describe(e);
      fill(hint, `Not signed in: ${why}`);
    }
  });
}

async function logout() {
  if (ctx.role === 'operator') {
    try {
      await ctx.admin.closeSession();
    } catch {
      // The session may have ended already.
    }
  }
  ctx.mod = null;
  notify('Signed out.', 'info');
  showLogin();
}

async function start() {
  $('login-operator').addEventListener('submit', operatorLogin);
  $('login-moderator').addEventListener('submit', moderatorLogin);
  $('logout').addEventListener('click', logout);
  for (const tab of document.querySelectorAll('#nav .tab')) {
    tab.addEventListener('click', () => show(tab.dataset.view));
  }
  $('nav').addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const tabs = [...document.querySelectorAll('#nav .tab')].filter((t) => !t.hidden);
    const at = tabs.indexOf(document.activeElement);
    if (at < 0) return;
    tabs[(at + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length].focus();
  });
  try {
    // A session cookie still live from before: no need to sign in again.
    const s = await ctx.admin.get('/status');
    await signedIn('operator', s.node);
  } catch {
    showLogin();
  }
  document.body.dataset.ready = '1';
}

start();
