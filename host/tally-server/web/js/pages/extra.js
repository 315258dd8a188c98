// Pages whose endpoints come later: each says "not available" while its endpoint answers 404,
// and shows what it returns once it exists.
import { api } from '../api.js';
import { h, clear, table, fmtNum, fmtTime } from '../ui.js';

function notAvailable(main, title, sentence) {
  clear(main, h('h1', {}, title), h('p', { class: 'muted not-available' }, sentence));
}

// A value of unknown shape as text: numbers formatted, times as times, objects as JSON.
function show(v) {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') return fmtNum(v, 2);
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'string') return /^\d{4}-\d\d-\d\dT/.test(v) ? fmtTime(v) : v;
  return JSON.stringify(v);
}

function objectTable(rows) {
  const keys = [...new Set(rows.flatMap(r => Object.keys(r)))];
  return table(keys.map(k => ({ label: k, cell: r => show(r[k]) })), rows);
}

export async function renderAgents(main) {
  document.title = 'Agents · Tally';
  let agents;
  try { agents = await api('/agents'); } catch (e) {
    if (e.status === 404) return notAvailable(main, 'Agents', 'End-user agents are not available on this Tally server.');
    throw e;
  }
  const rows = Array.isArray(agents) ? agents : (agents.items || []);
  clear(main, h('h1', {}, 'Agents'), h('section', { class: 'panel' }, rows.length ? objectTable(rows) : h('p', { class: 'muted' }, 'No agent enrolled.')));
}
