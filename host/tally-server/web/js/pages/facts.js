// Sessions and denials: keyset-paged lists (100 a page, "More" follows the cursor).
import { api, apiUrl } from '../api.js';
import { h, clear, table, fmtTime, fmtNum, fmtDuration, ageSeconds, errorBox } from '../ui.js';
import { href } from '../state.js';

const PAGE = 100;

function paged(path, filter, columns, empty) {
  const wrap = h('div');
  const rows = [];
  const more = h('button', { type: 'button', hidden: true }, 'More');
  const body = h('div');
  const csv = h('a', { href: apiUrl(path, { ...filter, format: 'csv' }), download: `${path.slice(1)}.csv`, class: 'csv' }, 'CSV');
  let after = null;
  const fetchPage = async () => {
    more.disabled = true;
    try {
      const page = await api(path, { query: { ...filter, limit: PAGE, after } });
      rows.push(...(page.items || []));
      after = page.next;
      clear(body, table(columns, rows, { empty }));
      more.hidden = !after;
    } catch (e) {
      clear(body, errorBox(e));
    }
    more.disabled = false;
  };
  more.addEventListener('click', fetchPage);
  clear(wrap, h('p', { class: 'toolbar' }, h('code', { class: 'apiurl' }, apiUrl(path, filter)), csv), body, more);
  fetchPage();
  return wrap;
}

export function sessionsView(filter) {
  return paged('/sessions', filter, [
    { label: 'Server', cell: s => s.server },
    { label: 'Feature', cell: s => s.feature },
    { label: 'User', cell: s => h('a', { href: href('/users', { user: s.user }) }, s.user) },
    { label: 'Host', cell: s => s.host },
    { label: 'Count', num: true, cell: s => fmtNum(s.count) },
    { label: 'Start', cell: s => fmtTime(s.start) },
    { label: 'End', cell: s => s.end ? fmtTime(s.end) : 'open' },
    { label: 'Duration', num: true, cell: s => fmtDuration(s.end ? (new Date(s.end) - new Date(s.start)) / 1000 : ageSeconds(s.start)) },
    { label: 'Source', cell: s => s.source },
  ], 'No closed session in this window: checkouts still open are under Current usage.');
}

export function denialsView(filter) {
  return h('div', { class: 'denials' }, paged('/denials', filter, [
    { label: 'Time', cell: d => fmtTime(d.time) },
    { label: 'Server', cell: d => d.server },
    { label: 'Feature', cell: d => d.feature },
    { label: 'User', cell: d => d.user },
    { label: 'Host', cell: d => d.host },
    { label: 'Cause', cell: d => d.cause },
    { label: 'Reason', cell: d => d.reason },
  ], 'No denial in this window.'));
}
