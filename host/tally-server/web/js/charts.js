// ECharts, pinned and served from /assets/vendor (see vendor/vendor.lock). Tooltips render in the
// canvas (richText) so the strict style-src policy never meets an inline style attribute.
import * as echarts from '/assets/vendor/echarts-6.1.0.esm.min.mjs';

let themeMode = 'auto';
const live = new Map();

// The charts on the page by name, for people poking at the console and for the browser tests.
window.tally = Object.assign(window.tally || {}, { charts: {} });

export function setTheme(mode) { themeMode = mode; }

export function isDark() {
  if (themeMode === 'dark') return true;
  if (themeMode === 'light') return false;
  return matchMedia('(prefers-color-scheme: dark)').matches;
}

const resizeObserver = new ResizeObserver(entries => {
  for (const e of entries) {
    const chart = echarts.getInstanceByDom(e.target);
    if (chart) chart.resize();
  }
});

export function disposeCharts() {
  for (const [name, chart] of live) {
    resizeObserver.unobserve(chart.getDom());
    chart.dispose();
    delete window.tally.charts[name];
  }
  live.clear();
}

// Draws `option` into `el` under `name` (replacing a chart of that name).
export function chart(el, name, option) {
  const old = live.get(name);
  if (old) { resizeObserver.unobserve(old.getDom()); old.dispose(); }
  const c = echarts.init(el, isDark() ? 'dark' : null, { renderer: 'canvas' });
  c.setOption({
    backgroundColor: 'transparent',
    animation: false,
    tooltip: { trigger: 'axis', renderMode: 'richText', confine: true },
    grid: { left: 48, right: 16, top: 56, bottom: 64, containLabel: true },
    ...option,
  });
  live.set(name, c);
  window.tally.charts[name] = c;
  resizeObserver.observe(el);
  return c;
}

// Seconds a resolution's step lasts, to tell a gap (no data) from the next point.
export const STEP = { hour: 3600, day: 86400, week: 7 * 86400, 'sunday-week': 7 * 86400, month: 31 * 86400, quarter: 92 * 86400, year: 366 * 86400 };

// The start (ms, UTC) of a report's period label: 2024-03-05T09Z, 2024-03-05, 2024-W10,
// 2024-03, 2024-Q1, 2024. A time axis then puts 2018 and 2026 years apart, not side by side.
export function periodStart(label) {
  let m;
  if ((m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})Z)?$/.exec(label))) return Date.UTC(+m[1], m[2] - 1, +m[3], +(m[4] || 0));
  if ((m = /^(\d{4})-W(\d{2})$/.exec(label))) {
    // ISO week 1 holds January 4th; weeks start on Monday.
    const jan4 = Date.UTC(+m[1], 0, 4);
    const monday = jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * 86400000;
    return monday + (m[2] - 1) * 7 * 86400000;
  }
  if ((m = /^(\d{4})-(\d{2})$/.exec(label))) return Date.UTC(+m[1], m[2] - 1, 1);
  if ((m = /^(\d{4})-Q([1-4])$/.exec(label))) return Date.UTC(+m[1], (m[2] - 1) * 3, 1);
  if ((m = /^(\d{4})$/.exec(label))) return Date.UTC(+m[1], 0, 1);
  return NaN;
}

// Inserts a null between two points further apart than one step, so the line breaks there:
// absent points mean no data, which must never be drawn as zero use.
export function withGaps(pairs, resolution) {
  const step = (STEP[resolution] || 86400) * 1000;
  const sorted = [...pairs].sort((a, b) => a[0] - b[0]);
  const out = [];
  for (let i = 0; i < sorted.length; i++) {
    if (i > 0 && sorted[i][0] - sorted[i - 1][0] > step * 1.5) {
      out.push([sorted[i - 1][0] + step, null]);
    }
    out.push(sorted[i]);
  }
  return out;
}

// Runs `fn` once `el` is in the document (pages build their nodes before attaching them); a node
// never attached (the page changed meanwhile) is given up after about a second.
export function whenAttached(el, fn, tries = 50) {
  if (el.isConnected) { fn(); return; }
  if (tries > 0) setTimeout(() => whenAttached(el, fn, tries - 1), 20);
}
