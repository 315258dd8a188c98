// Pieces more than one page shows: data-source statuses, freshness, the window picker.
import { h, badge, fmtTime, freshnessLevel, ageSeconds, fmtDuration, field, select } from '../ui.js';
import { update, params } from '../state.js';

// What each status means (seed 001), shown on hover with the reason when there is one.
const MEANING = {
  remote: {
    'Online': ['ok', 'Enabled and monitored successfully.'],
    'Offline': ['bad', 'Enabled, but monitoring failed.'],
    'Verifying': ['warn', 'Checking the configuration after it was created or changed.'],
    'Unmonitored': ['warn', 'Enabled, but Tally was not running.'],
    'License Exceeded': ['bad', 'Disabled automatically by the product licence.'],
    'Disabled': ['off', 'Monitoring disabled by a user.'],
    'N/A': ['off', 'Monitoring is not supported for this server.'],
  },
  import: {
    'Ready': ['ok', 'Ready to import data.'],
    'Success': ['ok', 'Last import successful.'],
    'Failure': ['bad', 'Last import failed.'],
    'License Exceeded': ['bad', 'Import failed: the licence limit was exceeded.'],
    'Disabled': ['off', 'Importing disabled by a user.'],
    'N/A': ['off', 'Importing is not set up for this server.'],
  },
  end_user: {
    'Online': ['ok', 'At least one agent active in the last 2 minutes.'],
    'Offline': ['bad', 'No agent activity in the last 2 minutes.'],
    'Disabled': ['off', 'Receiving data from agents disabled by a user.'],
    'N/A': ['off', 'End-user monitoring is not supported for this server.'],
  },
};

export const SOURCES = [['remote', 'Remote'], ['import', 'Import'], ['end_user', 'End User']];

// A status badge; with a reason it is a button that shows the reason on tap (and on hover).
export function statusBadge(source, status) {
  const s = status || { state: 'N/A' };
  const [level, meaning] = (MEANING[source] || {})[s.state] || ['off', ''];
  let text = s.state;
  if (source === 'end_user' && s.state === 'Online' && s.agents !== null && s.agents !== undefined) text = `Online (${s.agents})`;
  const title = [meaning, s.reason, s.last_update ? `Last update ${fmtTime(s.last_update)}` : null].filter(Boolean).join(' — ');
  if (!s.reason) return h('span', { class: 'status', dataset: { source, state: s.state } }, badge(text, level, title));
  const reason = h('span', { class: 'reason', hidden: true }, s.reason);
  const button = h('button', {
    type: 'button', class: `badge ${level}`, title, 'aria-expanded': 'false',
    onclick: (ev) => {
      reason.hidden = !reason.hidden;
      ev.currentTarget.setAttribute('aria-expanded', String(!reason.hidden));
    },
  }, text, h('span', { class: 'why', 'aria-hidden': 'true' }, '?'));
  return h('span', { class: 'status', dataset: { source, state: s.state } }, button, reason);
}

export function freshness(lastUpdate) {
  const level = freshnessLevel(lastUpdate);
  const age = ageSeconds(lastUpdate);
  const text = lastUpdate ? `${fmtDuration(age)} ago` : 'never';
  return badge(text, level, lastUpdate ? fmtTime(lastUpdate) : 'No data received yet');
}

export function daemons(server) {
  const list = server.vendor_daemons || [];
  if (!list.length) return '–';
  return list.map(d => `${d.name}${d.version ? ' ' + d.version : ''}${d.status && d.status !== 'up' ? ` (${d.status})` : ''}`).join(', ');
}

// From / to inputs and quick windows; writes them to the URL.
export function windowPicker(win) {
  const from = h('input', { type: 'date', name: 'from', value: String(win.from || '').slice(0, 10) });
  const to = h('input', { type: 'date', name: 'to', value: String(win.to || '').slice(0, 10) });
  const quick = (days, label) => h('button', {
    type: 'button', onclick: () => {
      const start = new Date(Date.now() - days * 86400000).toISOString().slice(0, 10);
      update({ from: start, to: null, zs: null, ze: null });
    },
  }, label);
  return h('form', {
    class: 'inline', onsubmit: (ev) => {
      ev.preventDefault();
      update({ from: from.value, to: to.value, zs: null, ze: null });
    },
  }, field('From', from), field('To', to), h('button', { type: 'submit' }, 'Show'),
  quick(1, '24 h'), quick(7, '7 d'), quick(30, '30 d'), quick(365, '1 y'), quick(3 * 365, '3 y'));
}

// A select bound to one URL parameter.
export function paramSelect(label, name, options, extra = {}) {
  return field(label, select(name, options, params().get(name) || '', {
    onchange: (ev) => update({ [name]: ev.target.value, ...extra }),
  }));
}
