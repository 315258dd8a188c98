// The view's state lives in the URL (path + query) so every view can be bookmarked and shared.

let render = () => {};
export function setRenderer(fn) { render = fn; }

export function params() { return new URLSearchParams(location.search); }
export function param(name, fallback = '') { return params().get(name) ?? fallback; }

// Navigates to a page path (pushes history) and renders it.
export function go(href) {
  if (href === location.pathname + location.search) return;
  history.pushState(null, '', href);
  render();
}

// Changes query values of the current view; `null` or '' removes one. `push` makes a history entry
// (a new view); without it the entry is replaced (zoom, legend: refinements of the same view).
export function update(patch, { push = true, rerender = true } = {}) {
  const p = params();
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || v === undefined || v === '') p.delete(k);
    else p.set(k, String(v));
  }
  const q = p.toString();
  const href = location.pathname + (q ? '?' + q : '');
  if (push) history.pushState(null, '', href); else history.replaceState(null, '', href);
  if (rerender) render();
}

export function href(path, query = {}) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const q = p.toString();
  return path + (q ? '?' + q : '');
}

// The time window of a view: `from`/`to` in the URL (dates or RFC 3339), else the last `days`.
export function windowFromUrl(defaultDays = 30) {
  const p = params();
  const to = p.get('to') || '';
  const from = p.get('from') || '';
  if (from || to) return { from, to };
  const end = new Date();
  const start = new Date(end.getTime() - defaultDays * 86400000);
  return { from: start.toISOString().slice(0, 10), to: '' };
}
