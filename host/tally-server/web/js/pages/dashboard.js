// The dashboard: what a license administrator checks first thing.
import { api, apiUrl } from '../api.js';
import {
  h, clear, panel, table, bar, badge, load, fmtNum, fmtTime, fmtDate, fmtDuration, ageSeconds,
  expiryLevel, daysUntil, utilisationLevel,
} from '../ui.js';
import { href } from '../state.js';
import { statusBadge, freshness, SOURCES } from './common.js';

const DAY = 86400;
// Features fetched for expiry: one call per server, so bounded.
const MAX_SERVERS_FOR_EXPIRY = 50;

export async function render(main) {
  document.title = 'Dashboard · Tally';
  const [servers, usage] = await Promise.all([api('/license-servers'), api('/usage')]);
  const visible = servers.filter(s => !s.hidden);
  const sessions = usage.sessions || [];
  const now = Date.now();

  const expiring = h('div');
  const denials = h('div');
  clear(main,
    h('h1', {}, 'Dashboard'),
    h('div', { class: 'grid' },
      serversPanel(visible),
      freshnessPanel(visible, usage.as_of),
      utilisationPanel(usage.features || []),
      panel('Features expiring in the next 12 months', expiring),
      panel('Sessions open more than 24 hours', table([
        { label: 'User', cell: s => s.user },
        { label: 'Host', cell: s => s.host },
        { label: 'Feature', cell: s => featureLink(s) },
        { label: 'Open for', num: true, cell: s => fmtDuration(ageSeconds(s.since, now)) },
      ], sessions.filter(s => ageSeconds(s.since, now) > DAY).sort((a, b) => a.since.localeCompare(b.since)),
      { empty: 'No session has been open that long.' })),
      panel('Same user on several hosts', multiHost(sessions)),
      panel('Top current users', topUsers(sessions)),
      panel('Recent denials (24 h)', denials),
    ));
  load(expiring, () => expiringFeatures(visible, now));
  load(denials, () => recentDenials(now));
}

function featureLink(row) {
  return h('a', { href: href('/features', { server: row.server, feature: row.feature }) }, row.feature);
}

function serversPanel(servers) {
  return panel('License servers', table([
    { label: 'Server', cell: s => h('a', { href: `/servers/${encodeURIComponent(s.name)}` }, s.name) },
    {
      label: 'Remote · Import · End User', cell: s => h('div', { class: 'sources' },
        SOURCES.map(([key, label]) => h('span', {}, h('span', { class: 'label' }, label), statusBadge(key, s.status && s.status[key])))),
    },
  ], servers, { empty: 'No license server yet.' }), h('p', {}, h('a', { href: '/servers' }, 'All license servers')));
}

function freshnessPanel(servers, asOf) {
  return panel('Data freshness',
    h('p', { class: 'muted' }, `Usage as of ${fmtTime(asOf)}. Green under 10 minutes, amber 10–20, red over 20.`),
    table([
      { label: 'Server', cell: s => s.name },
      { label: 'Last update', cell: s => fmtTime(s.last_update) },
      { label: 'Age', cell: s => freshness(s.last_update) },
    ], servers.filter(s => s.enabled), { empty: 'No enabled server.' }));
}

function utilisationPanel(features) {
  const rows = features.map(f => ({ ...f, pct: f.issued ? (100 * f.in_use) / f.issued : null }))
    .sort((a, b) => (b.pct ?? -1) - (a.pct ?? -1));
  return h('section', { class: 'panel wide' }, h('h2', {}, 'Current utilisation'), table([
    { label: 'Server', cell: f => f.server },
    { label: 'Feature', cell: f => featureLink(f) },
    { label: 'Used / issued', num: true, cell: f => `${fmtNum(f.in_use)} / ${fmtNum(f.issued)}` },
    { label: '%', num: true, cell: f => f.pct === null ? '–' : badge(`${Math.round(f.pct)} %`, utilisationLevel(f.pct)) },
    { label: '', cell: f => bar(f.pct) },
  ], rows, { empty: 'No current usage: no server is polled in real time.' }));
}

async function expiringFeatures(servers, now) {
  const limit = now + 365 * DAY * 1000;
  const asked = servers.slice(0, MAX_SERVERS_FOR_EXPIRY);
  const lists = await Promise.all(asked.map(s =>
    api(`/license-servers/${encodeURIComponent(s.name)}/features`).then(fs => fs.map(f => ({ ...f, server: s.name })))));
  const rows = lists.flat().filter(f => f.expiry && new Date(f.expiry).getTime() <= limit)
    .sort((a, b) => a.expiry.localeCompare(b.expiry));
  return h('div', {}, table([
    { label: 'Server', cell: f => f.server },
    { label: 'Feature', cell: f => f.name },
    { label: 'Expires', cell: f => fmtDate(f.expiry) },
    { label: 'In', num: true, cell: f => badge(daysLeft(f.expiry, now), expiryLevel(f.expiry, now)) },
  ], rows, { empty: 'Nothing expires in the next 12 months.' }),
  servers.length > asked.length ? h('p', { class: 'muted' }, `First ${asked.length} servers only.`) : null);
}

function daysLeft(expiry, now) {
  const d = daysUntil(expiry, now);
  return d < 0 ? 'expired' : `${d} d`;
}

function multiHost(sessions) {
  const byUser = new Map();
  for (const s of sessions) {
    if (!byUser.has(s.user)) byUser.set(s.user, new Set());
    byUser.get(s.user).add(s.host);
  }
  const rows = [...byUser].filter(([, hosts]) => hosts.size > 1)
    .map(([user, hosts]) => ({ user, hosts: [...hosts].sort() }))
    .sort((a, b) => b.hosts.length - a.hosts.length);
  return table([
    { label: 'User', cell: r => h('a', { href: href('/users', { user: r.user }) }, r.user) },
    { label: 'Hosts', cell: r => r.hosts.join(', ') },
  ], rows, { empty: 'No user holds licenses on more than one host.' });
}

function topUsers(sessions) {
  const counts = new Map();
  for (const s of sessions) counts.set(s.user, (counts.get(s.user) || 0) + (s.count || 1));
  const rows = [...counts].map(([user, count]) => ({ user, count })).sort((a, b) => b.count - a.count).slice(0, 10);
  return table([
    { label: 'User', cell: r => h('a', { href: href('/users', { user: r.user }) }, r.user) },
    { label: 'Licenses held', num: true, cell: r => fmtNum(r.count) },
  ], rows, { empty: 'Nobody holds a license now.' });
}

async function recentDenials(now) {
  const from = new Date(now - DAY * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const page = await api('/denials', { query: { from, limit: 1000 } });
  const rows = (page.items || []).sort((a, b) => b.time.localeCompare(a.time)).slice(0, 15);
  return h('div', {}, table([
    { label: 'Time', cell: d => fmtTime(d.time) },
    { label: 'User', cell: d => d.user },
    { label: 'Feature', cell: d => featureLink(d) },
    { label: 'Cause', cell: d => d.cause },
  ], rows, { empty: 'No denial in the last 24 hours.' }),
  h('p', {}, h('a', { href: href('/features/history', { view: 'denials' }) }, 'Denials over time'), ' · ',
    h('a', { href: apiUrl('/denials', { from, format: 'csv' }), download: 'denials.csv' }, 'CSV')));
}
