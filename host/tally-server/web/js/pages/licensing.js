// Licensing: Tally's own licence (GET /api/v1/license), each limit as a gauge of its usage,
// the violations with what to do next, and, for administrators, installing a licence file
// (PUT /api/v1/license): the way out of restricted access mode.
import { api } from '../api.js';
import { h, clear, table, fmtNum, badge, bar, panel, errorBox, DASH } from '../ui.js';
import { isAdmin } from '../session.js';

// What each limit counts, in the seeds' words (the API's `limit` names).
const LIMITS = {
  'users': 'Users (unique usernames, all history, denials included)',
  'hosts': 'Hosts (all history)',
  'servers': 'License servers (monitored or with imported data)',
  'harvesting-agents': 'License Harvesting agents (online)',
  'realtime-users': 'Realtime users (last 14 days)',
  'imported-users': 'Imported users (all history)',
  'realtime-servers': 'Realtime license servers (monitored now)',
  'imported-servers': 'Imported license servers (last 3 months)',
};

function gauge(limit) {
  const label = LIMITS[limit.limit] || limit.limit;
  const allowed = limit.allowed === null ? 'unlimited' : fmtNum(limit.allowed);
  const pct = limit.percent;
  return h('div', { class: 'gauge', 'data-limit': limit.limit },
    h('div', { class: 'gauge-head' }, h('span', {}, label),
      h('span', { class: 'gauge-value' }, `${fmtNum(limit.used)} of ${allowed}`,
        pct === null ? '' : ` (${fmtNum(pct, 1)} %)`)),
    bar(pct === null ? (limit.allowed === 0 && limit.used > 0 ? 100 : 0) : pct));
}

function terms(lic) {
  const l = lic.licence;
  const rows = [
    ['Model', l.limits.model],
    ['Type', l.type],
    ['Licensee', l.licensee],
    ['Start', l.start],
    ['Expiry', l.expiry || 'none'],
    ['Maintenance end', l.maintenance_end || 'none'],
    ['Tally version', `${l.version} and older`],
    // An issuer's key is 64 hex digits: broken anywhere rather than widening the panel.
    ['Signed by', l.signed_by ? h('code', { class: 'key' }, l.signed_by) : (l.origin === 'built-in' ? 'built in' : DASH)],
  ];
  return table([{ label: 'Term', cell: r => r[0] }, { label: 'Value', cell: r => (typeof r[1] === 'object' && r[1] !== null ? r[1] : String(r[1])) }], rows);
}

function violations(lic) {
  if (!lic.violations.length) return h('p', { class: 'muted' }, 'No violation.');
  return h('ul', { class: 'violations' }, lic.violations.map(v =>
    h('li', { 'data-row': v.row },
      h('p', {}, v.message),
      h('p', { class: 'muted' }, 'What to do next:'),
      h('ul', {}, v.next.map(n => h('li', {}, n))))));
}

function installForm(main) {
  const text = h('textarea', { name: 'licence', rows: '8', spellcheck: 'false', 'aria-label': 'Licence file' });
  const status = h('p', { class: 'install-status', role: 'status' });
  const form = h('form', { class: 'install-licence' }, text,
    h('p', {}, h('button', { type: 'submit' }, 'Install licence')), status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(status);
    try {
      await api('/license', { method: 'PUT', body: new Blob([text.value], { type: 'application/toml' }) });
      document.dispatchEvent(new Event('tally:licence'));
      await renderLicensing(main);
    } catch (e) {
      clear(status, errorBox(e));
    }
  });
  return panel('Install a licence', h('p', { class: 'muted' }, 'Paste a licence file signed by an issuer this Tally trusts.'), form);
}

export async function renderLicensing(main) {
  document.title = 'Licensing · Tally';
  const lic = await api('/license');
  clear(main, h('h1', {}, 'Licensing'),
    h('p', { class: 'licence-title' }, lic.title, ' ',
      lic.restricted ? badge('Restricted access mode', 'bad') : badge('In force', 'ok')),
    lic.refused_file ? h('p', { class: 'error' }, `The installed licence file is refused: ${lic.refused_file}`) : null,
    h('div', { class: 'grid' },
      panel('Usage', h('div', { class: 'gauges' }, lic.limits.map(gauge))),
      panel('Violations', violations(lic)),
      panel('Licence', terms(lic)),
      isAdmin() ? installForm(main) : null));
}
