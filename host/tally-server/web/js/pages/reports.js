// Reports: every `tally report`, its filters, its table, a chart where one helps, CSV and the
// API URL that gives the same answer to a script.
import { api, apiUrl } from '../api.js';
import { h, clear, table, load, fmtNum, field, select } from '../ui.js';
import { params, update, href, go } from '../state.js';
import { chart, periodStart, withGaps, whenAttached } from '../charts.js';

// Choices of the options that take one; others are free text.
const CHOICES = {
  period: ['', 'hour', 'day', 'week', 'sunday-week', 'month', 'year'],
  by: ['', 'user', 'host', 'user-host'],
  counting: ['', 'user-host', 'username'],
  window: ['', '14d', 'all'],
  // The switches: `true` or absent (a text box took anything and the report refused it).
  per_user: [['', 'no'], ['true', 'yes']],
  compact: [['', 'no'], ['true', 'yes']],
  denied: [['', 'no'], ['true', 'yes']],
};
const DATE_OPTIONS = new Set(['from', 'to']);

const optionName = (o) => (typeof o === 'string' ? o : o && o.name);

// Links to each report for a fixed filter (the server page's Reports tab).
export function reportLinks(filter) {
  const list = h('ul');
  load(list, async () => {
    const reports = await api('/reports');
    return h('ul', {}, reports.map(r => h('li', {},
      h('a', { href: href('/reports', { name: r.name, ...filter }) }, r.name), ' — ', r.about)));
  });
  return list;
}

export async function render(main) {
  document.title = 'Reports · Tally';
  const reports = await api('/reports');
  const p = params();
  const name = reports.some(r => r.name === p.get('name')) ? p.get('name') : (reports[0] && reports[0].name);
  const report = reports.find(r => r.name === name);
  const nav = h('div', { class: 'tabs', role: 'tablist' }, reports.map(r => h('button', {
    type: 'button', role: 'tab', class: 'tab', 'aria-selected': String(r.name === name), dataset: { report: r.name },
    onclick: () => {
      // Keep the filters both reports take.
      const keep = {};
      for (const o of r.options || []) { const n = optionName(o); if (p.get(n)) keep[n] = p.get(n); }
      go(href('/reports', { name: r.name, ...keep }));
    },
  }, r.name)));
  const out = h('div');
  clear(main, h('h1', {}, 'Reports'), nav, out);
  if (!report) return clear(out, h('p', { class: 'muted' }, 'No report.'));

  const options = (report.options || []).map(optionName).filter(Boolean);
  const inputs = {};
  for (const o of options) {
    const value = p.get(o) || '';
    if (CHOICES[o]) inputs[o] = select(o, CHOICES[o].map(v => (Array.isArray(v) ? v : [v, v || 'default'])), value);
    else inputs[o] = h('input', { name: o, value, type: DATE_OPTIONS.has(o) ? 'date' : 'text', size: 12 });
  }
  const form = h('form', {
    class: 'filters', onsubmit: (ev) => {
      ev.preventDefault();
      update(Object.fromEntries(options.map(o => [o, inputs[o].value.trim()])));
    },
  }, options.map(o => field(o, inputs[o])), h('button', { type: 'submit', class: 'primary' }, 'Run'));

  const query = Object.fromEntries(options.map(o => [o, p.get(o) || '']));
  const path = `/reports/${encodeURIComponent(name)}`;
  const csvUrl = apiUrl(path, { ...query, format: 'csv' });
  const result = h('div');
  clear(out, h('p', { class: 'muted' }, report.about), form,
    h('p', { class: 'toolbar' }, 'API: ', h('code', { class: 'apiurl', id: 'report-api-url' }, apiUrl(path, query)),
      h('a', { class: 'button csv', id: 'report-csv', href: csvUrl, download: `${name}.csv` }, 'Download CSV')),
    result);
  await load(result, async () => {
    const rep = await api(path, { query });
    return h('div', {}, reportChart(name, rep, query), reportTable(rep, csvUrl));
  });
}

// Rows drawn in the page; the CSV and the API URL have them all.
const SHOWN_ROWS = 500;

function reportTable(rep, csvUrl) {
  const cols = rep.columns.map((c, i) => ({
    label: c.unit ? `${c.name} (${c.unit})` : c.name,
    num: rep.rows.some(r => typeof r[i] === 'number'),
    cell: r => (typeof r[i] === 'number' ? fmtNum(r[i], 2) : (r[i] ?? '–')),
  }));
  const shown = rep.rows.length > SHOWN_ROWS ? rep.rows.slice(0, SHOWN_ROWS) : rep.rows;
  const rows = rep.totals ? [...shown, rep.totals] : shown;
  const note = shown.length < rep.rows.length
    ? h('p', { class: 'muted', id: 'report-rows-note' },
      `The first ${fmtNum(SHOWN_ROWS)} of ${fmtNum(rep.rows.length)} rows`, rep.totals ? ' (the totals are of all of them)' : '',
      ': ', h('a', { href: csvUrl, download: '' }, 'the CSV'), ' has them all, or narrow the filters.')
    : null;
  return h('div', {}, note,
    table(cols, rows, { empty: 'Nothing in this window.', rowClass: r => (r === rep.totals ? 'totals' : null) }));
}

// A chart where it helps: usage and denials over time, top users/hosts, the heatmap.
function reportChart(name, rep, query) {
  const col = (n) => rep.columns.findIndex(c => c.name === n);
  const box = h('div', { class: 'chart', id: 'report-chart' });
  let option = null;
  if (name === 'usage' && col('period') >= 0) {
    const [s, f, per, peak] = [col('server'), col('feature'), col('period'), col('peak_in_use')];
    // One line per server and feature: a feature of the same name on two servers is two lines.
    const servers = s >= 0 ? new Set(rep.rows.map(r => r[s])) : new Set();
    const line = (r) => (servers.size > 1 ? `${r[f]} (${r[s]})` : r[f]);
    const byFeature = new Map();
    for (const r of rep.rows) {
      if (!byFeature.has(line(r))) byFeature.set(line(r), new Map());
      byFeature.get(line(r)).set(r[per], r[peak]);
    }
    // On a time axis, a line broken where periods have no data (no data is not zero use).
    const period = query.period || 'day';
    option = {
      legend: { type: 'scroll', top: 0 },
      xAxis: { type: 'time' },
      yAxis: { type: 'value', name: 'peak in use', minInterval: 1 },
      dataZoom: [{ type: 'inside' }, { type: 'slider', bottom: 8 }],
      series: [...byFeature].map(([n, m]) => ({
        name: n, type: 'line', connectNulls: false, showSymbol: m.size < 60,
        data: withGaps([...m].map(([p, v]) => [periodStart(p), v]), period),
      })),
    };
  } else if ((name === 'users' || name === 'hosts' || name === 'denials' || name === 'features') && rep.rows.length) {
    const key = name === 'features' ? col('feature') : Math.max(col('user'), col('host'));
    const value = name === 'denials' ? col('denials') : col('used_hours');
    if (key < 0 || value < 0) return null;
    const sums = new Map();
    for (const r of rep.rows) sums.set(r[key], (sums.get(r[key]) || 0) + (Number(r[value]) || 0));
    const top = [...sums].sort((a, b) => b[1] - a[1]).slice(0, 15).reverse();
    option = {
      grid: { left: 16, right: 24, top: 16, bottom: 16, containLabel: true },
      xAxis: { type: 'value', name: rep.columns[value].name },
      yAxis: { type: 'category', data: top.map(([k]) => String(k)) },
      series: [{ name: rep.columns[value].name, type: 'bar', data: top.map(([, v]) => Math.round(v * 10) / 10) }],
    };
  } else if (name === 'heatmap' && col('hour') >= 0) {
    const days = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
    const [wd, hr, avg] = [col('weekday'), col('hour'), col('avg_in_use')];
    const cells = new Map();
    for (const r of rep.rows) {
      const y = days.indexOf(r[wd]);
      if (y >= 0) cells.set(`${r[hr]},${y}`, (cells.get(`${r[hr]},${y}`) || 0) + (Number(r[avg]) || 0));
    }
    const data = [...cells].map(([k, v]) => [...k.split(',').map(Number), Math.round(v * 100) / 100]);
    option = {
      tooltip: { trigger: 'item', renderMode: 'richText' },
      grid: { left: 60, right: 16, top: 16, bottom: 80, containLabel: true },
      xAxis: { type: 'category', data: [...Array(24).keys()].map(String) },
      yAxis: { type: 'category', data: days.map(d => d.slice(0, 3)) },
      visualMap: { min: 0, max: Math.max(1, ...data.map(d => d[2])), calculable: true, orient: 'horizontal', left: 'center', bottom: 0 },
      series: [{ name: 'average in use', type: 'heatmap', data }],
    };
  }
  if (!option || !rep.rows.length) return null;
  whenAttached(box, () => chart(box, 'report', option));
  return box;
}
