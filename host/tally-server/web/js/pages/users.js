// Users and hosts: top users over a window, everyone's totals, and one user's (or host's)
// license-hours per feature and sessions.
import { api, apiUrl } from '../api.js';
import { h, clear, table, load, fmtNum, fmtTime, errorBox } from '../ui.js';
import { params, update, href, windowFromUrl } from '../state.js';
import { chart, whenAttached } from '../charts.js';
import { windowPicker } from './common.js';
import { sessionsView } from './facts.js';

const TOP = 15;

export async function render(main) {
  const p = params();
  const kind = p.get('kind') === 'hosts' ? 'hosts' : 'users';
  const one = kind === 'users' ? p.get('user') : p.get('host');
  const win = windowFromUrl(30);
  document.title = `${one || (kind === 'users' ? 'Users' : 'Hosts')} · Tally`;
  const tabs = h('div', { class: 'tabs', role: 'tablist' }, [['users', 'Users'], ['hosts', 'Hosts']].map(([k, label]) =>
    h('button', { type: 'button', role: 'tab', class: 'tab', 'aria-selected': String(k === kind), onclick: () => update({ kind: k, user: null, host: null }) }, label)));
  const body = h('div');
  clear(main, h('h1', {}, one ? `${kind === 'users' ? 'User' : 'Host'} ${one}` : 'Users and hosts'), tabs, windowPicker(win), body);
  if (one) return oneView(body, kind, one, win, p.get('server') || '');
  return listView(body, kind, win);
}

function byUsage(kind, win, server = '') {
  return { by: kind === 'users' ? 'user' : 'host', server, from: win.from, to: win.to };
}

// Sums a users/hosts report's license-hours over features, per name.
function totals(rep, key) {
  const col = (n) => rep.columns.findIndex(c => c.name === n);
  const [k, hrs, den] = [col(key), col('used_hours'), col('denials')];
  const sums = new Map();
  for (const r of rep.rows) {
    const t = sums.get(r[k]) || { name: r[k], hours: 0, denials: 0 };
    t.hours += Number(r[hrs]) || 0;
    t.denials += Number(r[den]) || 0;
    sums.set(r[k], t);
  }
  return [...sums.values()].sort((a, b) => b.hours - a.hours);
}

async function listView(el, kind, win) {
  const top = h('div', { class: 'panel' });
  const all = h('div', { class: 'panel' });
  clear(el, h('div', { class: 'grid' }, top, all));
  const key = kind === 'users' ? 'user' : 'host';
  load(top, async () => {
    const query = byUsage(kind, win);
    const rep = await api(`/reports/${kind}`, { query });
    const rows = totals(rep, key).slice(0, TOP);
    const box = h('div', { class: 'chart short', id: 'top-chart' });
    whenAttached(box, () => rows.length && chart(box, 'top', {
      grid: { left: 16, right: 24, top: 16, bottom: 16, containLabel: true },
      tooltip: { trigger: 'axis', renderMode: 'richText' },
      xAxis: { type: 'value', name: 'license-hours', nameLocation: 'middle', nameGap: 28 },
      yAxis: { type: 'category', data: rows.map(r => r.name).reverse() },
      series: [{ name: 'license-hours', type: 'bar', data: rows.map(r => Math.round(r.hours * 10) / 10).reverse() }],
    }));
    return h('div', {}, h('h2', {}, `Top ${kind}`), rows.length ? box : null,
      table([
        { label: key === 'user' ? 'User' : 'Host', cell: r => h('a', { href: href('/users', { kind, [key]: r.name, from: win.from, to: win.to }) }, r.name) },
        { label: 'License-hours', num: true, cell: r => fmtNum(r.hours, 1) },
        { label: 'Denials', num: true, cell: r => fmtNum(r.denials) },
      ], rows, { empty: 'No usage in this window.' }),
      h('code', { class: 'apiurl' }, apiUrl(`/reports/${kind}`, query)));
  });
  // Everyone, keyset-paged.
  const body = h('div');
  const more = h('button', { type: 'button', hidden: true }, 'More');
  const items = [];
  let after = null;
  const next = async () => {
    try {
      const page = await api(`/${kind}`, { query: { limit: 100, after } });
      items.push(...page.items);
      after = page.next;
      more.hidden = !after;
      clear(body, table([
        { label: key === 'user' ? 'User' : 'Host', cell: r => h('a', { href: href('/users', { kind, [key]: r.name }) }, r.name) },
        { label: 'Sessions', num: true, cell: r => fmtNum(r.sessions) },
        { label: 'License-hours', num: true, cell: r => fmtNum(r.license_hours, 1) },
        { label: 'Last seen', cell: r => fmtTime(r.last_seen) },
      ], items, { empty: `No ${kind} yet.` }));
    } catch (e) { clear(body, errorBox(e)); }
  };
  more.addEventListener('click', next);
  clear(all, h('h2', {}, `All ${kind}`), h('p', {}, h('a', { href: apiUrl(`/${kind}`, { format: 'csv' }), download: `${kind}.csv` }, 'CSV')), body, more);
  next();
}

async function oneView(el, kind, name, win, server) {
  const key = kind === 'users' ? 'user' : 'host';
  const perFeature = h('div', { class: 'panel wide' });
  clear(el, h('div', { class: 'grid' }, perFeature,
    h('div', { class: 'panel wide' }, h('h2', {}, 'Sessions'), sessionsView({ [key]: name, server, from: win.from, to: win.to }))));
  load(perFeature, async () => {
    const query = byUsage(kind, win, server);
    const rep = await api(`/reports/${kind}`, { query });
    const col = (n) => rep.columns.findIndex(c => c.name === n);
    const [k, s, f, hrs, den] = [col(key), col('server'), col('feature'), col('used_hours'), col('denials')];
    const rows = rep.rows.filter(r => r[k] === name).sort((a, b) => (b[hrs] || 0) - (a[hrs] || 0));
    const box = h('div', { class: 'chart short', id: 'user-chart' });
    whenAttached(box, () => rows.length && chart(box, 'user', {
      grid: { left: 16, right: 24, top: 16, bottom: 16, containLabel: true },
      tooltip: { trigger: 'axis', renderMode: 'richText' },
      xAxis: { type: 'value', name: 'license-hours', nameLocation: 'middle', nameGap: 28 },
      yAxis: { type: 'category', data: rows.map(r => r[f]).reverse() },
      series: [{ name: 'license-hours', type: 'bar', data: rows.map(r => Math.round(Number(r[hrs]) * 10) / 10).reverse() }],
    }));
    return h('div', {}, h('h2', {}, 'License-hours per feature'), rows.length ? box : null,
      table([
        { label: 'Server', cell: r => r[s] },
        { label: 'Feature', cell: r => r[f] },
        { label: 'License-hours', num: true, cell: r => fmtNum(r[hrs], 1) },
        { label: 'Denials', num: true, cell: r => fmtNum(r[den]) },
      ], rows, { empty: 'No usage in this window.' }),
      h('code', { class: 'apiurl' }, apiUrl(`/reports/${kind}`, query)));
  });
}
