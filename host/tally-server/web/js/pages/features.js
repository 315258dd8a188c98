// Features: realtime (what is in use now) and history (usage over time, utilisation, heatmap,
// denials over time). History comes from the rollup-backed history and report calls only.
import { api, apiUrl } from '../api.js';
import {
  h, clear, panel, table, bar, badge, load, fmtNum, fmtTime, fmtDuration, ageSeconds, field, select,
  utilisationLevel,
} from '../ui.js';
import { params, param, update, href, windowFromUrl } from '../state.js';
import { chart, withGaps, whenAttached } from '../charts.js';
import { denialsView } from './facts.js';
import { windowPicker } from './common.js';

const serverPath = (name) => `/license-servers/${encodeURIComponent(name)}`;

export async function renderRealtime(main) {
  document.title = 'Features · Tally';
  const server = param('server');
  const feature = param('feature');
  const serverInput = h('input', { name: 'server', value: server, placeholder: 'all servers' });
  const featureInput = h('input', { name: 'feature', value: feature, placeholder: 'all features' });
  const body = h('div');
  clear(main, h('h1', {}, 'Features now'),
    h('form', {
      class: 'filters', onsubmit: (ev) => {
        ev.preventDefault();
        update({ server: serverInput.value.trim(), feature: featureInput.value.trim() });
      },
    }, field('Server', serverInput), field('Feature', featureInput), h('button', { type: 'submit' }, 'Filter'),
    h('a', { href: href('/features/history', { server, feature }) }, 'History of these')),
    body);
  await load(body, () => usageView({ server, feature }));
}

// Current usage (GET /usage or a server's /usage): per feature, then sessions, then queues.
export async function usageView(filter) {
  const path = filter.server && !filter.feature ? `${serverPath(filter.server)}/usage` : '/usage';
  const query = path === '/usage' ? filter : {};
  const usage = await api(path, { query });
  const server = (row) => row.server ?? filter.server;
  const now = Date.now();
  const features = (usage.features || []).map(f => ({ ...f, pct: f.issued ? (100 * f.in_use) / f.issued : null }));
  const queued = features.filter(f => f.queued > 0);
  return h('div', { class: 'grid' },
    h('section', { class: 'panel wide' },
      h('h2', {}, 'Features'),
      h('p', { class: 'muted' }, `As of ${fmtTime(usage.as_of)}. `, h('code', {}, apiUrl(path, query))),
      table([
        { label: 'Server', cell: f => server(f) },
        { label: 'Feature', cell: f => h('a', { href: href('/features/history', { server: server(f), feature: f.feature }) }, f.feature) },
        { label: 'In use', num: true, cell: f => fmtNum(f.in_use) },
        { label: 'Reserved', num: true, cell: f => fmtNum(f.reserved) },
        { label: 'Borrowed', num: true, cell: f => fmtNum(f.borrowed) },
        { label: 'Issued', num: true, cell: f => f.issued === null ? 'unknown' : fmtNum(f.issued) },
        { label: 'Available', num: true, cell: f => fmtNum(f.available) },
        { label: '%', num: true, cell: f => f.pct === null ? '–' : badge(`${Math.round(f.pct)} %`, utilisationLevel(f.pct)) },
        { label: '', cell: f => bar(f.pct) },
      ], features, { empty: 'No current usage.' })),
    h('section', { class: 'panel wide' }, h('h2', {}, 'Sessions'), table([
      { label: 'Feature', cell: s => s.feature },
      { label: 'User', cell: s => h('a', { href: href('/users', { user: s.user }) }, s.user) },
      { label: 'Host', cell: s => s.host },
      { label: 'Count', num: true, cell: s => fmtNum(s.count) },
      { label: 'Since', cell: s => fmtTime(s.since) },
      { label: 'Duration', num: true, cell: s => fmtDuration(ageSeconds(s.since, now)) },
    ], usage.sessions || [], { empty: 'Nobody holds a license now.' })),
    panel('Queued requests', table([
      { label: 'Server', cell: f => server(f) },
      { label: 'Feature', cell: f => f.feature },
      { label: 'Queued', num: true, cell: f => fmtNum(f.queued) },
    ], queued, { empty: 'No request is waiting.' })));
}

const VIEWS = [
  ['usage', 'Usage over time'], ['utilisation', 'Seats needed'], ['heatmap', 'Hour × weekday'], ['denials', 'Denials over time'],
];

export async function renderHistory(main) {
  document.title = 'Feature history · Tally';
  const servers = (await api('/license-servers')).filter(s => !s.hidden);
  const body = h('div');
  clear(main, h('h1', {}, 'Feature history'), body);
  if (!servers.length) return clear(body, h('p', { class: 'muted' }, 'No license server yet.'));
  const server = param('server') || servers[0].name;
  const pick = field('Server', select('server', servers.map(s => s.name), server, {
    onchange: (ev) => update({ server: ev.target.value, feature: null, zs: null, ze: null, off: null }),
  }));
  return historyView(body, server, pick);
}

// The history views of one server; `extra` controls go first in the toolbar.
export async function historyView(el, server, extra = null) {
  const p = params();
  const view = VIEWS.some(([k]) => k === p.get('view')) ? p.get('view') : 'usage';
  const feature = p.get('feature') || '';
  const resolution = p.get('resolution') || '';
  const win = windowFromUrl(view === 'utilisation' ? 90 : 30);
  const features = await api(`${serverPath(server)}/features`).catch(() => []);
  const names = [...new Set(features.map(f => f.name))].sort();
  const controls = h('div', { class: 'filters' }, extra,
    field('Feature', select('feature', [['', 'all features'], ...names], feature, {
      onchange: (ev) => update({ feature: ev.target.value, zs: null, ze: null, off: null }),
    })),
    view === 'usage' ? field('Resolution', select('resolution',
      [['', 'from the window'], 'hour', 'day', 'week', 'month', 'quarter', 'year'], resolution, {
        onchange: (ev) => update({ resolution: ev.target.value }),
      })) : null);
  const tabs = h('div', { class: 'tabs', role: 'tablist' }, VIEWS.map(([k, label]) => h('button', {
    type: 'button', role: 'tab', class: 'tab', 'aria-selected': String(k === view), dataset: { view: k },
    onclick: () => update({ view: k, zs: null, ze: null, off: null }),
  }, label)));
  const out = h('div');
  clear(el, tabs, controls, windowPicker(win), out);
  const q = { feature, from: win.from, to: win.to };
  if (view === 'usage') return load(out, () => usageChart(server, { ...q, resolution }));
  if (view === 'utilisation') return load(out, () => utilisationChart(server, q, win));
  if (view === 'heatmap') return load(out, () => heatmapChart(server, q));
  return load(out, () => denialsChart(server, q, win));
}

const toMs = (t) => new Date(t).getTime();
const PALETTE = ['#2563eb', '#ea580c', '#16a34a', '#9333ea', '#0891b2', '#ca8a04', '#db2777', '#4b5563'];

async function usageChart(server, query) {
  const path = `${serverPath(server)}/history`;
  const data = await api(path, { query });
  const res = data.resolution;
  const series = [];
  for (const [k, s] of (data.series || []).entries()) {
    // One colour per feature: its peak, average and issued lines read as one group.
    const color = PALETTE[k % PALETTE.length];
    const peaks = withGaps((s.points || []).map(pt => [toMs(pt.t), pt.peak]), res);
    const avgs = withGaps((s.points || []).map(pt => [toMs(pt.t), pt.average]), res);
    series.push({ name: `${s.feature} peak`, type: 'line', color, showSymbol: peaks.length < 60, connectNulls: false, data: peaks });
    series.push({ name: `${s.feature} average`, type: 'line', color, showSymbol: false, connectNulls: false, lineStyle: { type: 'dotted' }, data: avgs });
    // Issued capacity: a step line; null (unknown) breaks it rather than reading as zero. The API
    // gives the times it changed, so the last count is drawn on to the last point.
    const issued = (s.issued || []).map(([t, n]) => [toMs(t), n]);
    const lastPoint = Math.max(...peaks.map(([t]) => t), -Infinity);
    if (issued.length && issued[issued.length - 1][1] !== null && lastPoint > issued[issued.length - 1][0]) {
      issued.push([lastPoint, issued[issued.length - 1][1]]);
    }
    series.push({
      name: `${s.feature} issued`, type: 'line', color, step: 'end', showSymbol: false, connectNulls: false,
      lineStyle: { type: 'dashed', width: 2 }, data: issued,
    });
  }
  const off = new Set((params().get('off') || '').split(',').filter(Boolean));
  const zs = Number(params().get('zs') || 0), ze = Number(params().get('ze') || 100);
  const box = h('div', { class: 'chart', id: 'history-chart' });
  const apply = h('button', { type: 'button', title: 'Reload the zoomed span as the window, at its own resolution' }, 'Use zoom as window');
  const node = h('div', { class: 'panel' },
    h('p', { class: 'toolbar' }, h('span', {}, `Resolution: ${res}. Gaps are periods without data.`), h('span', { class: 'spacer' }), apply),
    box, apiLine(path, query));
  whenAttached(box, () => {
    if (!series.length) { clear(box, h('p', { class: 'muted' }, 'No data in this window.')); return; }
    const c = chart(box, 'history', {
      legend: { type: 'scroll', top: 0, selected: Object.fromEntries([...off].map(n => [n, false])) },
      xAxis: { type: 'time' },
      yAxis: { type: 'value', name: 'licenses', minInterval: 1 },
      dataZoom: [{ type: 'inside', start: zs, end: ze }, { type: 'slider', start: zs, end: ze, bottom: 8 }],
      series,
    });
    c.on('datazoom', () => {
      const z = c.getOption().dataZoom[0];
      update({ zs: Math.round(z.start * 10) / 10, ze: Math.round(z.end * 10) / 10 }, { push: false, rerender: false });
    });
    c.on('legendselectchanged', (ev) => {
      const hidden = Object.entries(ev.selected).filter(([, on]) => !on).map(([n]) => n);
      update({ off: hidden.join(',') }, { push: false, rerender: false });
    });
    apply.addEventListener('click', () => {
      const z = c.getOption().dataZoom[0];
      if (z.startValue === undefined) return;
      update({ from: new Date(z.startValue).toISOString(), to: new Date(z.endValue).toISOString(), zs: null, ze: null, resolution: null });
    });
  });
  return node;
}

function apiLine(path, query) {
  const url = apiUrl(path, query);
  return h('p', { class: 'toolbar' }, h('code', { class: 'apiurl' }, url),
    h('a', { href: apiUrl(path, { ...query, format: 'csv' }), download: 'tally.csv' }, 'CSV'));
}

// "How many seats do we really need": the share of logged time in which at least N licences
// were in use at once, from hourly peaks (daily peaks over windows longer than a year).
async function utilisationChart(server, query, win) {
  const span = (toMs(win.to || Date.now()) - toMs(win.from)) / 86400000;
  const resolution = span <= 366 ? 'hour' : 'day';
  const path = `${serverPath(server)}/history`;
  const q = { ...query, resolution };
  const data = await api(path, { query: q });
  const series = data.series || [];
  if (!series.length) return h('p', { class: 'muted' }, 'No data in this window.');
  const rows = [];
  const chartSeries = [];
  let maxN = 1;
  for (const s of series) {
    const pts = (s.points || []).filter(pt => pt.peak !== null && pt.peak !== undefined);
    const total = pts.reduce((a, pt) => a + (pt.hours_logged || 0), 0);
    const issued = Math.max(0, ...(s.issued || []).map(([, n]) => n || 0));
    const top = Math.max(0, ...pts.map(pt => pt.peak));
    maxN = Math.max(maxN, top, issued);
    const share = [];
    for (let n = 1; n <= Math.max(top, issued, 1); n++) {
      const hours = pts.filter(pt => pt.peak >= n).reduce((a, pt) => a + (pt.hours_logged || 0), 0);
      share.push([n, total ? Math.round((1000 * hours) / total) / 10 : 0]);
    }
    const enough = (pct) => { const hit = share.find(([, v]) => v <= 100 - pct); return hit ? hit[0] - 1 : top; };
    rows.push({ feature: s.feature, issued: issued || null, top, hours: total, p95: enough(95), p99: enough(99) });
    chartSeries.push({
      name: s.feature, type: 'bar', data: share,
      markLine: issued ? { symbol: 'none', label: { formatter: 'issued' }, data: [{ xAxis: issued }] } : undefined,
    });
  }
  const box = h('div', { class: 'chart', id: 'utilisation-chart' });
  whenAttached(box, () => chart(box, 'utilisation', {
    legend: { type: 'scroll', top: 0 },
    tooltip: { trigger: 'axis', renderMode: 'richText' },
    xAxis: { type: 'value', name: 'licences in use at once', minInterval: 1, max: maxN + 1 },
    yAxis: { type: 'value', name: '% of logged time', max: 100 },
    series: chartSeries,
  }));
  return h('div', { class: 'panel' },
    h('p', { class: 'muted' }, `Share of logged time in which at least N licences were in use at once (${resolution}ly peaks).`),
    box,
    table([
      { label: 'Feature', cell: r => r.feature },
      { label: 'Issued', num: true, cell: r => fmtNum(r.issued) },
      { label: 'Peak', num: true, cell: r => fmtNum(r.top) },
      { label: 'Enough 95 % of the time', num: true, cell: r => fmtNum(r.p95) },
      { label: 'Enough 99 % of the time', num: true, cell: r => fmtNum(r.p99) },
      { label: 'Logged hours', num: true, cell: r => fmtNum(r.hours) },
    ], rows),
    apiLine(path, q));
}

const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

async function heatmapChart(server, query) {
  const q = { server, feature: query.feature, from: query.from, to: query.to };
  const rep = await api('/reports/heatmap', { query: q });
  const col = (n) => rep.columns.findIndex(c => c.name === n);
  const [wd, hr, avg] = [col('weekday'), col('hour'), col('avg_in_use')];
  const cells = new Map();
  for (const r of rep.rows) {
    const y = WEEKDAYS.findIndex(d => d.slice(0, 3).toLowerCase() === String(r[wd]).slice(0, 3).toLowerCase());
    if (y < 0) continue;
    const key = `${r[hr]},${y}`;
    cells.set(key, (cells.get(key) || 0) + (Number(r[avg]) || 0));
  }
  const data = [...cells].map(([k, v]) => [...k.split(',').map(Number), Math.round(v * 100) / 100]);
  const max = Math.max(1, ...data.map(d => d[2]));
  const box = h('div', { class: 'chart', id: 'heatmap-chart' });
  whenAttached(box, () => chart(box, 'heatmap', {
    tooltip: { trigger: 'item', renderMode: 'richText' },
    grid: { left: 80, right: 16, top: 16, bottom: 80, containLabel: true },
    xAxis: { type: 'category', data: [...Array(24).keys()].map(n => String(n).padStart(2, '0')), name: 'hour (UTC)' },
    yAxis: { type: 'category', data: WEEKDAYS.map(d => d.slice(0, 3)) },
    visualMap: { min: 0, max, calculable: true, orient: 'horizontal', left: 'center', bottom: 0 },
    series: [{ name: 'average in use', type: 'heatmap', data }],
  }));
  return h('div', { class: 'panel' }, h('p', { class: 'muted' }, 'Average licences in use by hour of day and weekday.'),
    data.length ? box : h('p', { class: 'muted' }, 'No data in this window.'), apiLine('/reports/heatmap', q));
}

async function denialsChart(server, query, win) {
  const span = (toMs(win.to || Date.now()) - toMs(win.from)) / 86400000;
  const period = span <= 3 ? 'hour' : span <= 180 ? 'day' : span <= 730 ? 'week' : 'month';
  const q = { server, feature: query.feature, from: query.from, to: query.to, period };
  const rep = await api('/reports/usage', { query: q });
  const col = (n) => rep.columns.findIndex(c => c.name === n);
  const [f, per, den] = [col('feature'), col('period'), col('denials')];
  const periods = [...new Set(rep.rows.map(r => r[per]))].sort();
  const byFeature = new Map();
  for (const r of rep.rows) {
    if (!byFeature.has(r[f])) byFeature.set(r[f], new Map());
    byFeature.get(r[f]).set(r[per], Number(r[den]) || 0);
  }
  const series = [...byFeature].filter(([, m]) => [...m.values()].some(v => v > 0))
    .map(([name, m]) => ({ name, type: 'bar', stack: 'denials', data: periods.map(p => m.get(p) ?? null) }));
  const box = h('div', { class: 'chart', id: 'denials-chart' });
  whenAttached(box, () => {
    if (!series.length) return;
    chart(box, 'denials', {
      legend: { type: 'scroll', top: 0 },
      xAxis: { type: 'category', data: periods },
      yAxis: { type: 'value', name: 'denials', minInterval: 1 },
      dataZoom: [{ type: 'inside' }, { type: 'slider', bottom: 8 }],
      series,
    });
  });
  const list = h('div');
  const filter = { server, feature: query.feature, from: query.from, to: query.to };
  clear(list, denialsView(filter));
  return h('div', {},
    h('div', { class: 'panel' }, h('p', { class: 'muted' }, `Denials per ${period}.`),
      series.length ? box : h('p', { class: 'muted' }, 'No denial in this window.'), apiLine('/reports/usage', q)),
    h('div', { class: 'panel' }, h('h2', {}, 'Denials'), list));
}
