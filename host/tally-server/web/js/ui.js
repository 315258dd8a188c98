// DOM helpers. Text always goes in as text nodes: no API string is ever parsed as HTML.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'disabled' || k === 'selected') el[k] = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const DASH = '–';

// One formatter per number of digits: `toLocaleString` builds a new one at every call, which
// made a report of a few thousand rows take seconds to draw.
const numberFormats = new Map();

export function fmtNum(n, digits = 0) {
  if (n === null || n === undefined || n === '') return DASH;
  if (typeof n !== 'number') return String(n);
  let format = numberFormats.get(digits);
  if (!format) {
    format = new Intl.NumberFormat('en-GB', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
    numberFormats.set(digits, format);
  }
  return format.format(n);
}

export function fmtTime(t) {
  if (!t) return DASH;
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toISOString().replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');
}

export function fmtDate(t) {
  if (!t) return DASH;
  return String(t).slice(0, 10);
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return DASH;
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), mm = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${hh} h`;
  if (hh > 0) return `${hh} h ${mm} min`;
  return `${mm} min`;
}

export function ageSeconds(t, now = Date.now()) {
  if (!t) return null;
  const ms = new Date(t).getTime();
  return Number.isNaN(ms) ? null : (now - ms) / 1000;
}

// Data freshness: green under 10 minutes, amber 10 to 20, red over 20 (or never).
export function freshnessLevel(lastUpdate, now = Date.now()) {
  const age = ageSeconds(lastUpdate, now);
  if (age === null) return 'bad';
  if (age < 600) return 'ok';
  if (age <= 1200) return 'warn';
  return 'bad';
}

// Expiry: 0 to 7 days red, 8 to 30 amber, later neutral; already expired is red.
export function expiryLevel(expiry, now = Date.now()) {
  if (!expiry) return null;
  const days = Math.floor((new Date(expiry).getTime() - now) / 86400000);
  if (Number.isNaN(days)) return null;
  if (days <= 7) return 'bad';
  if (days <= 30) return 'warn';
  return 'off';
}

export function daysUntil(expiry, now = Date.now()) {
  return Math.floor((new Date(expiry).getTime() - now) / 86400000);
}

// Utilisation bands: under 70 % green, 70 to 90 amber, 90 and over red.
export function utilisationLevel(pct) {
  if (pct === null || pct === undefined) return 'off';
  if (pct >= 90) return 'bad';
  if (pct >= 70) return 'warn';
  return 'ok';
}

export function bar(pct) {
  const span = h('span');
  span.style.width = `${Math.max(0, Math.min(100, pct || 0))}%`;
  return h('div', { class: `bar ${utilisationLevel(pct)}`, role: 'img', 'aria-label': pct === null ? 'unknown' : `${Math.round(pct)} %` }, span);
}

export function badge(text, level, title) {
  return h('span', { class: `badge ${level}`, title }, text);
}

// columns: [{label, num?, cell: row => node|string}]
export function table(columns, rows, { empty = 'Nothing to show.', rowClass } = {}) {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  return h('div', { class: 'table-wrap' },
    h('table', {},
      h('thead', {}, h('tr', {}, columns.map(c => h('th', { class: c.num ? 'num' : null, scope: 'col' }, c.label)))),
      h('tbody', {}, rows.map(r => h('tr', { class: rowClass ? rowClass(r) : null },
        columns.map(c => h('td', { class: c.num ? 'num' : null }, c.cell(r))))))));
}

export function panel(title, ...children) {
  return h('section', { class: 'panel' }, title ? h('h2', {}, title) : null, ...children);
}

export function errorBox(err) {
  const id = err && err.requestId ? ` (request ${err.requestId})` : '';
  return h('p', { class: 'error', role: 'alert' }, `${err && err.message ? err.message : err}${id}`);
}

// Fills `el` from an async function, showing its error in place instead of a blank panel.
export async function load(el, fn) {
  clear(el, h('p', { class: 'muted' }, 'Loading…'));
  try {
    const node = await fn();
    clear(el, node);
  } catch (e) {
    clear(el, errorBox(e));
  }
}

export function field(label, input) {
  return h('label', {}, label, input);
}

export function select(name, options, value, attrs = {}) {
  return h('select', { name, ...attrs }, options.map(o => {
    const [v, text] = Array.isArray(o) ? o : [o, o];
    return h('option', { value: v, selected: String(v) === String(value ?? '') }, text);
  }));
}

export function dialog(title, body) {
  const d = h('dialog', {}, h('h2', {}, title), body);
  d.addEventListener('close', () => d.remove());
  document.body.append(d);
  d.showModal();
  return d;
}
