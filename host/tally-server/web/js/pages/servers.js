// The License Servers grid and the per-server page with its tabs.
import { api, apiUrl } from '../api.js';
import {
  h, clear, panel, table, load, fmtNum, fmtTime, fmtDate, badge, field, dialog, errorBox,
  expiryLevel, daysUntil,
} from '../ui.js';
import { href, param, update, windowFromUrl } from '../state.js';
import { isAdmin } from '../session.js';
import { statusBadge, daemons, freshness, SOURCES, windowPicker } from './common.js';
import { usageView, historyView } from './features.js';
import { sessionsView, denialsView } from './facts.js';
import { reportLinks } from './reports.js';

const serverPath = (name) => `/license-servers/${encodeURIComponent(name)}`;

export async function renderGrid(main) {
  document.title = 'License servers · Tally';
  const body = h('div');
  clear(main, h('h1', {}, 'License servers'), body);
  await gridInto(body);
}

// The grid; administrators get the add, edit, enable/disable, hide and delete actions.
export async function gridInto(el) {
  const showHidden = param('hidden') === '1';
  const servers = await api('/license-servers');
  const rows = servers.filter(s => showHidden || !s.hidden);
  const admin = isAdmin();
  const refresh = () => gridInto(el);
  const columns = [
    { label: 'Server', cell: s => h('a', { href: `/servers/${encodeURIComponent(s.name)}` }, s.name) },
    { label: 'Vendor daemons', cell: s => daemons(s) },
    { label: 'Manager', cell: s => s.manager + (s.manager_version ? ` ${s.manager_version}` : '') },
    ...SOURCES.map(([key, label]) => ({ label, cell: s => statusBadge(key, s.status && s.status[key]) })),
    { label: 'Last update', cell: s => h('span', {}, fmtTime(s.last_update), ' ', freshness(s.last_update)) },
  ];
  if (admin) columns.push({ label: 'Actions', cell: s => actions(s, refresh) });
  clear(el,
    h('div', { class: 'toolbar' },
      h('label', { class: 'check' }, h('input', {
        type: 'checkbox', checked: showHidden, onchange: (ev) => update({ hidden: ev.target.checked ? '1' : null }),
      }), 'Show hidden servers'),
      h('span', { class: 'spacer' }),
      admin ? h('button', { type: 'button', class: 'primary', onclick: () => serverForm(null, refresh) }, 'Add server') : null,
      h('a', { href: apiUrl('/license-servers', { format: 'csv' }), download: 'license-servers.csv' }, 'CSV')),
    table(columns, rows, {
      empty: 'No license server yet.',
      rowClass: s => [s.hidden ? 'is-hidden' : '', 'server-row'].join(' ').trim(),
    }));
}

function actions(s, refresh) {
  const act = (label, verb, cls) => h('button', {
    type: 'button', class: cls, onclick: async (ev) => {
      ev.currentTarget.disabled = true;
      try {
        await api(`${serverPath(s.name)}/${verb}`, { method: 'POST' });
        refresh();
      } catch (e) { alert(e.message); ev.currentTarget.disabled = false; }
    },
  }, label);
  return h('div', { class: 'actions' },
    h('button', { type: 'button', onclick: () => serverForm(s, refresh) }, 'Edit'),
    s.enabled ? act('Disable', 'disable') : act('Enable', 'enable'),
    s.hidden ? act('Unhide', 'unhide') : act('Hide', 'hide'),
    h('button', {
      type: 'button', class: 'danger', onclick: async () => {
        if (!confirm(`Delete license server ${s.name} and its history?`)) return;
        try { await api(serverPath(s.name), { method: 'DELETE' }); refresh(); } catch (e) { alert(e.message); }
      },
    }, 'Delete'));
}

// Add (server null) or edit one server: a ServerSpec.
export function serverForm(server, done) {
  const s = server || {};
  const input = (name, value, attrs = {}) => h('input', { name, value: value ?? '', ...attrs });
  const inputs = {
    name: input('name', s.name, { required: true, readonly: Boolean(server) }),
    manager: input('manager', s.manager, { required: true, placeholder: 'flexlm, rlm, lmx, …' }),
    host: input('host', s.host, { placeholder: 'polled when set' }),
    port: input('port', s.port, { type: 'number', min: 1, max: 65535 }),
    interval_secs: input('interval_secs', s.interval_secs, { type: 'number', min: 1 }),
    follow: h('textarea', { name: 'follow', rows: 2, placeholder: 'one log path a line' }, (s.follow || []).join('\n')),
    import_format: input('import_format', s.import_format),
    time_zone: input('time_zone', s.time_zone, { placeholder: '+01:00' }),
  };
  const status = h('div');
  const form = h('form', {
    class: 'stack', onsubmit: async (ev) => {
      ev.preventDefault();
      const spec = { name: inputs.name.value.trim(), manager: inputs.manager.value.trim() };
      for (const k of ['host', 'import_format', 'time_zone']) spec[k] = inputs[k].value.trim() || null;
      for (const k of ['port', 'interval_secs']) if (inputs[k].value) spec[k] = Number(inputs[k].value);
      spec.follow = inputs.follow.value.split('\n').map(l => l.trim()).filter(Boolean);
      try {
        if (server) await api(serverPath(server.name), { method: 'PATCH', body: spec });
        else await api('/license-servers', { method: 'POST', body: spec });
        d.close();
        done();
      } catch (e) { clear(status, errorBox(e)); }
    },
  },
  field('Name', inputs.name), field('Manager', inputs.manager), field('Host', inputs.host),
  field('Port', inputs.port), field('Poll interval (seconds)', inputs.interval_secs),
  field('Followed log files', inputs.follow), field('Import format', inputs.import_format),
  field('Log time zone (UTC offset)', inputs.time_zone), status,
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, server ? 'Save' : 'Add'),
    h('button', { type: 'button', onclick: () => d.close() }, 'Cancel')));
  const d = dialog(server ? `Edit ${server.name}` : 'Add a license server', form);
}

const TABS = [
  ['usage', 'Current usage'], ['history', 'Usage history'], ['sessions', 'Sessions'], ['denials', 'Denials'],
  ['users', 'Users'], ['features', 'Features and expiry'], ['reports', 'Reports'],
];

// A tab the server cannot fill: an imported-only server has no current usage (seed 001).
function unavailable(server, tab) {
  return tab === 'usage' && !server.has_realtime;
}

// An imported-only server's logs may be years old: without a window in the URL, its page opens
// on its last months of data (up to three) instead of an empty last 30 days.
async function windowOfImported(server) {
  if (server.has_realtime || param('from') || param('to')) return;
  const rep = await api('/reports/usage', { query: { server: server.name, period: 'month' } }).catch(() => null);
  const col = rep ? rep.columns.findIndex(c => c.name === 'period') : -1;
  if (col < 0) return;
  const months = rep.rows.map(r => String(r[col])).filter(m => /^\d{4}-\d{2}$/.test(m)).sort();
  if (!months.length) return;
  const [fy, fm] = months[0].split('-').map(Number);
  const [ly, lm] = months[months.length - 1].split('-').map(Number);
  const end = new Date(Date.UTC(ly, lm, 0));
  if (Date.now() - end.getTime() < 30 * 86400000) return;
  const start = new Date(Math.max(Date.UTC(fy, fm - 1, 1), Date.UTC(ly, lm - 3, 1)));
  const day = (d) => d.toISOString().slice(0, 10);
  update({ from: day(start), to: day(end) }, { push: false, rerender: false });
}

export async function renderServer(main, name) {
  document.title = `${name} · Tally`;
  const server = await api(serverPath(name));
  await windowOfImported(server);
  let tab = param('tab') || (server.has_realtime ? 'usage' : 'history');
  if (!TABS.some(([k]) => k === tab) || unavailable(server, tab)) tab = 'history';
  const tabs = h('div', { class: 'tabs', role: 'tablist' }, TABS.map(([key, label]) => {
    const off = unavailable(server, key);
    return h('button', {
      type: 'button', role: 'tab', class: off ? 'tab unavailable' : 'tab', dataset: { tab: key },
      'aria-selected': String(key === tab), 'aria-disabled': off ? 'true' : null, disabled: off,
      title: off ? 'Not available for an imported server: it has no real-time data' : null,
      onclick: off ? null : () => update({ tab: key }),
    }, off ? h('s', {}, label) : label);
  }));
  const body = h('div', { class: 'tab-body', dataset: { tab } });
  clear(main,
    h('h1', {}, server.name),
    h('p', { class: 'toolbar' },
      h('span', {}, `${server.manager}${server.host ? ` on ${server.host}:${server.port ?? ''}` : ' (imported)'}`),
      ...SOURCES.map(([key, label]) => h('span', {}, `${label} `, statusBadge(key, server.status && server.status[key]))),
      h('span', {}, 'Last update ', freshness(server.last_update))),
    tabs, body);
  const win = windowFromUrl(30);
  const filter = { server: server.name, from: win.from, to: win.to };
  switch (tab) {
    case 'usage': return load(body, () => usageView({ server: server.name }));
    case 'history': return historyView(body, server.name);
    case 'sessions': return clear(body, windowPicker(win), sessionsView(filter));
    case 'denials': return clear(body, windowPicker(win), denialsView(filter));
    case 'users': return load(body, () => usersTab(server.name, win));
    case 'features': return load(body, () => featuresTab(server.name));
    case 'reports': return clear(body, reportLinks({ server: server.name }));
  }
}

async function usersTab(name, win) {
  const query = { server: name, by: 'user', from: win.from, to: win.to };
  const rep = await api('/reports/users', { query });
  const col = (n) => rep.columns.findIndex(c => c.name === n);
  const [u, f, hrs, den] = [col('user'), col('feature'), col('used_hours'), col('denials')];
  const rows = [...rep.rows].sort((a, b) => (b[hrs] || 0) - (a[hrs] || 0));
  return h('div', {}, windowPicker(win), h('code', { class: 'apiurl' }, apiUrl('/reports/users', query)),
    table([
      { label: 'User', cell: r => h('a', { href: href('/users', { user: r[u], server: name }) }, r[u]) },
      { label: 'Feature', cell: r => r[f] },
      { label: 'License-hours', num: true, cell: r => fmtNum(r[hrs], 1) },
      { label: 'Denials', num: true, cell: r => fmtNum(r[den]) },
    ], rows, { empty: 'No usage in this window.' }));
}

async function featuresTab(name) {
  const features = await api(`${serverPath(name)}/features`);
  const now = Date.now();
  return panel(null, table([
    { label: 'Feature', cell: f => h('a', { href: href('/features/history', { server: name, feature: f.name }) }, f.name) },
    { label: 'Vendor', cell: f => f.vendor ?? '–' },
    { label: 'Version', cell: f => f.version ?? '–' },
    { label: 'Pool', cell: f => f.pool ?? '–' },
    { label: 'Kind', cell: f => f.kind ?? '–' },
    { label: 'Issued', num: true, cell: f => f.issued === null ? 'unknown' : fmtNum(f.issued) },
    { label: 'Reserved', num: true, cell: f => fmtNum(f.reserved) },
    { label: 'Borrowed', num: true, cell: f => fmtNum(f.borrowed) },
    { label: 'Expires', cell: f => f.expiry ? badge(`${fmtDate(f.expiry)} (${daysUntil(f.expiry, now)} d)`, expiryLevel(f.expiry, now)) : 'permanent' },
  ], features, { empty: 'No feature seen on this server yet.' }));
}
