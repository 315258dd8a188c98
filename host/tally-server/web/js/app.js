// The shell: session, navigation, theme, banner and the page router.
import { api, setCsrf, setUnauthorisedHandler } from './api.js';
import { h, clear, errorBox } from './ui.js';
import { setRenderer, go } from './state.js';
import { session, isAdmin } from './session.js';
import { disposeCharts, setTheme } from './charts.js';
import * as dashboard from './pages/dashboard.js';
import * as servers from './pages/servers.js';
import * as features from './pages/features.js';
import * as users from './pages/users.js';
import * as reports from './pages/reports.js';
import * as admin from './pages/admin.js';
import * as login from './pages/login.js';
import * as licensing from './pages/licensing.js';
import * as agents from './pages/agents.js';

// Page paths: the server answers index.html for exactly these (see web.rs PAGES).
const ROUTES = [
  { re: /^\/$/, nav: 'Dashboard', page: dashboard.render },
  { re: /^\/servers$/, nav: 'License servers', page: servers.renderGrid },
  { re: /^\/servers\/([^/]+)$/, nav: 'License servers', page: servers.renderServer },
  { re: /^\/features$/, nav: 'Features', page: features.renderRealtime },
  { re: /^\/features\/history$/, nav: 'History', page: features.renderHistory },
  { re: /^\/users$/, nav: 'Users and hosts', page: users.render },
  { re: /^\/reports$/, nav: 'Reports', page: reports.render },
  { re: /^\/admin$/, nav: 'Administration', page: admin.render, admin: true },
  { re: /^\/licensing$/, nav: 'Licensing', page: licensing.renderLicensing },
  { re: /^\/agents$/, nav: 'Agents', page: agents.render },
  { re: /^\/login$/, page: login.render, public: true },
];

const NAV = [
  ['/', 'Dashboard'], ['/servers', 'License servers'], ['/features', 'Features'],
  ['/features/history', 'History'], ['/users', 'Users and hosts'], ['/reports', 'Reports'],
  ['/admin', 'Administration', true], ['/licensing', 'Licensing'], ['/agents', 'Agents'],
];


const main = document.getElementById('main');

// Script errors, kept where the console and the browser tests can read them.
window.tally = Object.assign(window.tally || {}, { errors: [] });
window.addEventListener('error', (ev) => window.tally.errors.push(String(ev.message)));
window.addEventListener('unhandledrejection', (ev) => window.tally.errors.push(String(ev.reason)));
let renderSeq = 0;

function loginPath() {
  const next = location.pathname === '/login' ? '/' : location.pathname + location.search;
  return '/login?next=' + encodeURIComponent(next);
}

async function loadSession() {
  try {
    session.current = await api('/session', { quietAuth: true });
    setCsrf(session.current.csrf);
  } catch (e) {
    if (e.status !== 401) throw e;
    session.current = null;
  }
}

function drawShell(active) {
  const nav = document.getElementById('nav');
  const logged = Boolean(session.current);
  clear(nav, logged ? NAV.filter(([, , adminOnly]) => !adminOnly || isAdmin()).map(([path, label]) =>
    h('a', { href: path, 'aria-current': label === active ? 'page' : null }, label)) : []);
  nav.classList.remove('open');
  document.querySelector('.menu-toggle').setAttribute('aria-expanded', 'false');
  const user = document.querySelector('.user');
  user.hidden = !logged;
  if (logged) user.textContent = `${session.current.user} (${session.current.role})`;
  document.querySelector('.logout').hidden = !logged;
}

// Restricted access mode of Tally's own licence: what is violated and where to read more.
async function drawBanner() {
  const banner = document.getElementById('banner');
  try {
    const lic = await api('/license');
    banner.hidden = !lic.restricted;
    if (lic.restricted) {
      const cause = lic.violations.find(v => v.outcome.startsWith('restricted-access')) || lic.violations[0];
      clear(banner, h('strong', {}, 'Restricted access mode: '),
        'reading works; changes, monitoring and imports are stopped. ',
        cause ? `${cause.message} ` : '',
        h('a', { href: '/licensing' }, 'What to do next'));
    }
  } catch {
    banner.hidden = true;
  }
}

export async function render() {
  const seq = ++renderSeq;
  disposeCharts();
  const path = location.pathname.length > 1 ? location.pathname.replace(/\/+$/, '') : '/';
  const route = ROUTES.find(r => r.re.test(path));
  if (!route) {
    drawShell(null);
    clear(main, h('h1', {}, 'Not found'), h('p', {}, 'No page at ', h('code', {}, path), '. ', h('a', { href: '/' }, 'Dashboard')));
    return;
  }
  if (!route.public && !session.current) {
    history.replaceState(null, '', loginPath());
    return render();
  }
  drawShell(route.nav);
  if (route.admin && !isAdmin()) {
    document.title = 'Administrators only · Tally';
    clear(main, h('h1', {}, 'Administrators only'),
      h('p', { class: 'forbidden' }, 'This page is for administrators; you are logged in as a viewer.'));
    return;
  }
  const args = route.re.exec(path).slice(1).map(decodeURIComponent);
  clear(main);
  try {
    await route.page(main, ...args);
  } catch (e) {
    if (seq === renderSeq) clear(main, errorBox(e));
  }
  if (seq === renderSeq) main.dataset.ready = String(seq);
}

function isPageLink(a) {
  if (!a || a.target || a.hasAttribute('download')) return false;
  const url = new URL(a.href, location.href);
  return url.origin === location.origin && !url.pathname.startsWith('/api/') && !url.pathname.startsWith('/assets/');
}

function wire() {
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest('a');
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || !isPageLink(a)) return;
    ev.preventDefault();
    const url = new URL(a.href, location.href);
    go(url.pathname + url.search);
  });
  window.addEventListener('popstate', () => render());
  document.querySelector('.menu-toggle').addEventListener('click', (ev) => {
    const nav = document.getElementById('nav');
    nav.classList.toggle('open');
    ev.currentTarget.setAttribute('aria-expanded', String(nav.classList.contains('open')));
  });
  document.querySelector('.logout').addEventListener('click', async () => {
    try { await api('/session', { method: 'DELETE' }); } catch { /* logged out either way */ }
    session.current = null;
    setCsrf(null);
    go('/login');
  });
  const toggle = document.querySelector('.theme-toggle');
  const apply = (mode) => {
    if (mode === 'auto') document.documentElement.removeAttribute('data-theme');
    else document.documentElement.dataset.theme = mode;
    toggle.textContent = `Theme: ${mode}`;
    setTheme(mode);
  };
  apply(localStorage.getItem('tally-theme') || 'auto');
  toggle.addEventListener('click', () => {
    const order = ['auto', 'dark', 'light'];
    const next = order[(order.indexOf(localStorage.getItem('tally-theme') || 'auto') + 1) % order.length];
    localStorage.setItem('tally-theme', next);
    apply(next);
    render();
  });
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => render());
}


async function start() {
  setRenderer(render);
  setUnauthorisedHandler(() => {
    session.current = null;
    if (location.pathname !== '/login') go(loginPath());
  });
  wire();
  document.addEventListener('tally:login', () => drawBanner());
  document.addEventListener('tally:licence', () => drawBanner());
  try {
    await loadSession();
  } catch (e) {
    clear(main, errorBox(e));
    return;
  }
  if (session.current) drawBanner();
  await render();
}

start();
