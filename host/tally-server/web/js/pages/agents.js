// The Agents page: each end-user agent (host, version, last seen, watched applications,
// errors, queue), what they watch, and the harvests recorded. Administrators switch an agent's
// License Harvesting on and off here.
import { api } from '../api.js';
import { h, clear, table, panel, badge, fmtNum, fmtTime, fmtDuration, errorBox } from '../ui.js';
import { isAdmin } from '../session.js';

// The API gives agents' times as Unix seconds.
const when = (secs) => (secs === null || secs === undefined ? null : fmtTime(secs * 1000));

function harvestingCell(agent, redraw) {
  const level = { On: 'ok', 'No License': 'bad', Off: 'off' }[agent.harvesting] || 'off';
  const shown = badge(agent.harvesting, level, agent.harvesting_reason || undefined);
  if (!isAdmin()) return shown;
  const on = agent.harvesting !== 'Off';
  const button = h('button', { type: 'button', 'data-agent': String(agent.id) },
    on ? 'Disable' : 'Enable');
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await api(`/agents/${agent.id}`, { method: 'PATCH', body: { harvesting: !on } });
      await redraw();
    } catch (e) {
      button.replaceWith(errorBox(e));
    }
  });
  return h('span', {}, shown, ' ', button);
}

function errorsCell(agent) {
  if (!agent.errors || !agent.errors.length) return '–';
  const latest = agent.errors[agent.errors.length - 1];
  return h('span', { title: agent.errors.join('\n') },
    agent.errors.length > 1 ? `${latest} (+${agent.errors.length - 1})` : latest);
}

function agentsTable(agents, redraw) {
  return table([
    { label: 'Host', cell: a => a.host },
    { label: 'OS', cell: a => a.os },
    { label: 'Version', cell: a => a.version },
    { label: 'Status', cell: a => badge(a.online ? 'Online' : 'Offline', a.online ? 'ok' : 'bad') },
    { label: 'Last seen', cell: a => when(a.last_seen) || 'never' },
    { label: 'Watched applications', cell: a => (a.watched.length ? a.watched.join(', ') : '–') },
    { label: 'Harvesting', cell: a => harvestingCell(a, redraw) },
    { label: 'Queued', num: true, cell: a => fmtNum(a.queued) },
    { label: 'Dropped', num: true, cell: a => fmtNum(a.dropped) },
    { label: 'Reports', num: true, cell: a => fmtNum(a.reports) },
    { label: 'Errors', cell: errorsCell },
  ], agents, { empty: 'No agent enrolled.' });
}

function matchText(m) {
  if (m.name !== undefined) return `name ${m.name}`;
  if (m.path !== undefined) return `path ${m.path}`;
  return JSON.stringify(m);
}

function applicationsTable(apps) {
  return table([
    { label: 'Application', cell: a => a.name },
    { label: 'Executable', cell: a => matchText(a.match) },
    { label: 'License server', cell: a => h('a', { href: `/servers/${encodeURIComponent(a.license_server)}` }, a.license_server) },
    { label: 'Feature', cell: a => a.feature },
    { label: 'Harvesting', cell: a => (a.harvest ? a.harvest.method.kind : 'never') },
  ], apps, { empty: 'No application is watched: add one with PUT /api/v1/agents/applications/NAME.' });
}

function harvestsTable(events) {
  return table([
    { label: 'Time', cell: e => when(e.time) },
    { label: 'Host', cell: e => e.host },
    { label: 'User', cell: e => e.user || '–' },
    { label: 'Application', cell: e => e.application },
    { label: 'Method', cell: e => e.method },
    { label: 'Outcome', cell: e => e.outcome },
    { label: 'Licence time saved', num: true, cell: e => (e.saved_secs ? fmtDuration(e.saved_secs) : '–') },
  ], events, { empty: 'No harvest recorded.' });
}

export async function render(main) {
  document.title = 'Agents · Tally';
  const draw = async () => {
    let agents;
    try {
      agents = await api('/agents');
    } catch (e) {
      if (e.status === 404) {
        clear(main, h('h1', {}, 'Agents'),
          h('p', { class: 'muted not-available' }, 'End-user agents are not available on this Tally server.'));
        return;
      }
      throw e;
    }
    const [apps, harvests] = await Promise.all([
      api('/agents/applications'),
      api('/agents/harvests', { query: { limit: 50 } }),
    ]);
    clear(main,
      h('h1', {}, 'Agents'),
      panel('Agents', agentsTable(agents, draw)),
      panel('Watched applications', applicationsTable(apps)),
      panel('Harvests', harvestsTable(harvests.items)));
  };
  await draw();
}
