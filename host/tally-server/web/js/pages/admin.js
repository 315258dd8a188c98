// Administration: license servers, accounts and API tokens, plugins, imports.
import { api } from '../api.js';
import { h, clear, table, load, fmtNum, fmtTime, field, select, errorBox } from '../ui.js';
import { param, update } from '../state.js';
import { gridInto } from './servers.js';

const TABS = [['servers', 'License servers'], ['accounts', 'Accounts'], ['tokens', 'API tokens'], ['plugins', 'Plugins'], ['imports', 'Imports']];
// How often a running import is asked about, and for how long at most.
const POLL_MS = 1000;
const POLL_MAX = 3600;

export async function render(main) {
  document.title = 'Administration · Tally';
  const tab = TABS.some(([k]) => k === param('tab')) ? param('tab') : 'servers';
  const body = h('div', { class: 'admin-body', dataset: { tab } });
  clear(main, h('h1', {}, 'Administration'),
    h('div', { class: 'tabs', role: 'tablist' }, TABS.map(([k, label]) => h('button', {
      type: 'button', role: 'tab', class: 'tab', 'aria-selected': String(k === tab), onclick: () => update({ tab: k }),
    }, label))), body);
  if (tab === 'servers') return gridInto(body);
  if (tab === 'accounts') return accounts(body);
  if (tab === 'tokens') return tokens(body);
  if (tab === 'plugins') return plugins(body);
  return imports(body);
}

// A button that runs one write and then `done`, showing an error beside itself.
function write(label, fn, done, cls) {
  return h('button', {
    type: 'button', class: cls, onclick: async (ev) => {
      const b = ev.currentTarget;
      b.disabled = true;
      try { await fn(); done(); } catch (e) { b.after(errorBox(e)); b.disabled = false; }
    },
  }, label);
}

function accounts(el) {
  const refresh = () => accounts(el);
  const name = h('input', { name: 'name', required: true, autocomplete: 'off' });
  const role = select('role', ['viewer', 'administrator'], 'viewer');
  const password = h('input', { name: 'password', type: 'password', required: true, autocomplete: 'new-password', minlength: 8 });
  const status = h('div');
  const list = h('div');
  clear(el, list, h('h2', {}, 'New account'), h('form', {
    class: 'inline', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        await api('/accounts', { method: 'POST', body: { name: name.value.trim(), role: role.value, password: password.value } });
        refresh();
      } catch (e) { clear(status, errorBox(e)); }
    },
  }, field('Name', name), field('Role', role), field('Password', password), h('button', { type: 'submit', class: 'primary' }, 'Create')), status);
  load(list, async () => table([
    { label: 'Name', cell: a => a.name },
    { label: 'Role', cell: a => a.role },
    { label: 'Created', cell: a => fmtTime(a.created) },
    { label: '', cell: a => write('Delete', () => api(`/accounts/${encodeURIComponent(a.name)}`, { method: 'DELETE' }), refresh, 'danger') },
  ], await api('/accounts')));
}

function tokens(el) {
  const refresh = () => tokens(el);
  const name = h('input', { name: 'name', required: true, autocomplete: 'off' });
  const user = h('input', { name: 'user', placeholder: 'yourself' });
  const scope = select('scope', [['api', 'api (scripts)'], ['agent', 'agent']], 'api');
  const shown = h('div');
  const list = h('div');
  clear(el, list, h('h2', {}, 'New token'), h('form', {
    class: 'inline', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        const t = await api('/tokens', { method: 'POST', body: { name: name.value.trim(), user: user.value.trim() || undefined, scope: scope.value } });
        clear(shown, h('p', {}, 'The token, shown this once:'), h('p', { class: 'secret' }, h('code', {}, t.token)));
        load(list, () => tokenTable(refresh));
      } catch (e) { clear(shown, errorBox(e)); }
    },
  }, field('Name', name), field('User', user), field('Scope', scope), h('button', { type: 'submit', class: 'primary' }, 'Create')), shown);
  load(list, () => tokenTable(refresh));
}

async function tokenTable(refresh) {
  return table([
    { label: 'Name', cell: t => t.name },
    { label: 'User', cell: t => t.user },
    { label: 'Scope', cell: t => t.scope },
    { label: 'Created', cell: t => fmtTime(t.created) },
    { label: 'Last used', cell: t => fmtTime(t.last_used) },
    { label: '', cell: t => write('Revoke', () => api(`/tokens/${encodeURIComponent(t.id)}`, { method: 'DELETE' }), refresh, 'danger') },
  ], await api('/tokens'), { empty: 'No token.' });
}

function plugins(el) {
  const refresh = () => plugins(el);
  // POST /admin/plugins takes the plugin's two files: its manifest and its component.
  const manifest = h('input', { type: 'file', name: 'manifest', accept: '.toml', required: true });
  const component = h('input', { type: 'file', name: 'component', accept: '.wasm', required: true });
  const status = h('div');
  const list = h('div');
  clear(el, list, h('h2', {}, 'Upload a plugin'), h('form', {
    class: 'inline', onsubmit: async (ev) => {
      ev.preventDefault();
      const body = new FormData();
      body.append('manifest', manifest.files[0]);
      body.append('component', component.files[0]);
      try { await api('/admin/plugins', { method: 'POST', body }); refresh(); } catch (e) { clear(status, errorBox(e)); }
    },
  }, field('Manifest (plugin.toml)', manifest), field('Component (.wasm)', component), h('button', { type: 'submit', class: 'primary' }, 'Upload')), status);
  load(list, async () => {
    const path = (p, verb) => `/admin/plugins/${encodeURIComponent(p.id)}${verb ? '/' + verb : ''}`;
    return table([
      { label: 'Plugin', cell: p => p.id },
      { label: 'Version', cell: p => p.version },
      { label: 'Kind', cell: p => p.world },
      { label: 'Formats', cell: p => (p.formats || []).join(', ') },
      { label: 'State', cell: p => p.health && p.health.quarantined ? 'quarantined' : p.enabled ? 'enabled' : 'disabled' },
      {
        label: '', cell: p => h('div', { class: 'actions' },
          p.enabled
            ? write('Disable', () => api(path(p, 'disable'), { method: 'POST' }), refresh)
            : write('Enable', () => api(path(p, 'enable'), { method: 'POST' }), refresh),
          write('Reload', () => api(path(p, 'reload'), { method: 'POST' }), refresh),
          p.source === 'built-in' ? null : write('Delete', () => api(path(p), { method: 'DELETE' }), refresh, 'danger')),
      },
    ], await api('/admin/plugins'), { empty: 'No plugin.' });
  });
}

function jobProgress(job) {
  const done = job.state === 'done' || job.state === 'failed';
  return h('div', { class: 'job', dataset: { state: job.state } },
    h('p', {}, `Job ${job.id}: ${job.state}`, job.file ? ` — ${job.file}` : '', job.server ? ` → ${job.server}` : ''),
    done ? null : h('progress', { class: 'progress' }),
    h('div', { class: 'cards' },
      ...[['lines', 'Lines'], ['sessions', 'Sessions'], ['denials', 'Denials'], ['malformed', 'Malformed']].map(([k, label]) =>
        h('div', { class: 'card' }, h('b', {}, fmtNum(job[k])), label))),
    job.error ? h('p', { class: 'error' }, job.error) : null);
}

// A job as GET /imports and /imports/{id} give it: its summary is what `tally import --json`
// prints for the file, once done; times are Unix seconds.
function jobView(j) {
  const s = j.summary || {};
  const time = (t) => (t === null || t === undefined ? null : new Date(t * 1000).toISOString());
  return {
    id: j.id, state: j.state, file: j.name, server: j.server || s.server || null,
    lines: s.lines, sessions: s.sessions, denials: s.denials, malformed: s.malformed,
    error: j.error, started: time(j.created), finished: time(j.finished),
  };
}

function imports(el) {
  const file = h('input', { type: 'file', name: 'file', required: true });
  const server = h('input', { name: 'server', placeholder: 'from the file name' });
  const format = h('input', { name: 'format', placeholder: 'detected' });
  const offset = h('input', { name: 'utc_offset', placeholder: '+01:00', size: 7 });
  const watch = h('div', { class: 'import-watch' });
  const list = h('div');
  const history = h('div');
  const refresh = () => { load(list, jobTable); load(history, runTable); };
  clear(el, h('h2', {}, 'Import a log'), h('form', {
    class: 'inline', onsubmit: async (ev) => {
      ev.preventDefault();
      const body = new FormData();
      body.append('file', file.files[0]);
      try {
        const started = await api('/imports', {
          method: 'POST', body, query: { server: server.value.trim(), format: format.value.trim(), utc_offset: offset.value.trim() },
        });
        follow(watch, jobView(await api(`/imports/${encodeURIComponent(started.job)}`)), refresh);
      } catch (e) { clear(watch, errorBox(e)); }
    },
  }, field('Log file', file), field('Server', server), field('Format', format), field('UTC offset', offset),
  h('button', { type: 'submit', class: 'primary' }, 'Import')), watch, h('h2', {}, 'Uploads'), list,
  h('h2', {}, 'Import history'),
  h('p', { class: 'muted' }, 'Every import so far, newest first: uploads, the command line (tally import) and followed logs.'),
  history);
  refresh();
}

async function runTable() {
  return table([
    { label: 'Run', num: true, cell: r => String(r.id) },
    { label: 'Server', cell: r => r.server },
    { label: 'File', cell: r => r.path },
    { label: 'Format', cell: r => r.format },
    { label: 'Status', cell: r => r.status },
    { label: 'Lines', num: true, cell: r => fmtNum(r.lines) },
    { label: 'Sessions', num: true, cell: r => fmtNum(r.counts.sessions) },
    { label: 'Denials', num: true, cell: r => fmtNum(r.counts.denials) },
    { label: 'Malformed', num: true, cell: r => fmtNum(r.counts.malformed) },
    { label: 'Started', cell: r => fmtTime(r.started * 1000) },
    { label: 'Finished', cell: r => (r.finished ? fmtTime(r.finished * 1000) : '') },
    { label: 'Error', cell: r => r.error ?? '' },
  ], await api('/import-runs', { query: { limit: 100 } }), { empty: 'No import yet.' });
}

// Asks about a job every second until it is done or failed, redrawing its figures.
async function follow(el, job, finished) {
  clear(el, jobProgress(job));
  for (let i = 0; i < POLL_MAX && el.isConnected && job.state !== 'done' && job.state !== 'failed'; i++) {
    await new Promise(r => setTimeout(r, POLL_MS));
    try { job = jobView(await api(`/imports/${encodeURIComponent(job.id)}`)); } catch (e) { clear(el, errorBox(e)); return; }
    clear(el, jobProgress(job));
  }
  finished();
}

async function jobTable() {
  return table([
    { label: 'Job', cell: j => String(j.id) },
    { label: 'State', cell: j => j.state },
    { label: 'File', cell: j => j.file },
    { label: 'Server', cell: j => j.server },
    { label: 'Lines', num: true, cell: j => fmtNum(j.lines) },
    { label: 'Sessions', num: true, cell: j => fmtNum(j.sessions) },
    { label: 'Denials', num: true, cell: j => fmtNum(j.denials) },
    { label: 'Malformed', num: true, cell: j => fmtNum(j.malformed) },
    { label: 'Started', cell: j => fmtTime(j.started) },
    { label: 'Finished', cell: j => fmtTime(j.finished) },
    { label: 'Error', cell: j => j.error ?? '' },
  ], (await api('/imports')).map(jobView), { empty: 'No upload yet.' });
}
