// Browser tests of the dashboard, run by tests/browser/run.sh against the
// real binary. A minimal runner: tests run one after another, each in a
// fresh browser context; a screenshot of each is kept in $ARTIFACTS.
// Ends with `browser tests: N passed, M failed` (exit 1 on failure).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import http from 'node:http';
import https from 'node:https';
import { startCluster, running } from './cluster.mjs';
import { startPlant } from './plant.mjs';
import { startProxy } from './proxy.mjs';

const env = process.env;
const PORT = Number(env.TAGSTREAM_PORT);
const BASE = `http://127.0.0.1:${PORT}`;
const ARTIFACTS = env.ARTIFACTS || '/tmp/tagstream-browser-artifacts';
const ONLY = env.BROWSER_TEST_FILTER || '';
fs.mkdirSync(ARTIFACTS, { recursive: true });

const tests = [];
function test(name, fn, timeout = 90000) {
  tests.push({ name, fn, timeout });
}

function assert(cond, msg) {
  if (!cond) throw new Error('assertion failed: ' + msg);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, fn, timeout = 15000, every = 200) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(every);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

async function getJson(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return r.json();
}

// --- the server (started by run.sh; restarted by a test) ---

function serverPid() {
  return Number(fs.readFileSync(env.TAGSTREAM_PIDFILE, 'utf8').trim());
}

function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

async function stopServer() {
  const pid = serverPid();
  process.kill(pid, 'SIGTERM');
  await until('the server to exit after SIGTERM', () => !alive(pid), 15000, 50);
}

async function startServer() {
  const log = fs.openSync(env.TAGSTREAM_LOG, 'a');
  const before = (fs.readFileSync(env.TAGSTREAM_LOG, 'utf8').match(/listening on /g) || []).length;
  const child = spawn(
    env.TAGSTREAM_BIN,
    ['serve', '--listen', `127.0.0.1:${PORT}`, '--data-dir', env.TAGSTREAM_DATA_DIR, '--heartbeat-interval', '2',
      '--simulator-rate', '5', '--web-root', env.TAGSTREAM_WEB_ROOT],
    { stdio: ['ignore', 'ignore', log] },
  );
  fs.closeSync(log);
  fs.writeFileSync(env.TAGSTREAM_PIDFILE, String(child.pid));
  await until('the restarted server to listen', () => {
    if (child.exitCode !== null) throw new Error('the server exited: ' + child.exitCode);
    const n = (fs.readFileSync(env.TAGSTREAM_LOG, 'utf8').match(/listening on /g) || []).length;
    return n > before;
  }, 15000, 50);
}

// --- pages ---

let browser;

/** Counts EventSources: created, and not closed. */
const esCounter = () => {
  const Orig = window.EventSource;
  const made = [];
  window.__es = {
    data: [],
    get created() {
      return made.length;
    },
    get open() {
      return made.filter((e) => e.readyState !== 2).length;
    },
    urls: [],
  };
  window.EventSource = class extends Orig {
    constructor(url, init) {
      super(url, init);
      made.push(this);
      window.__es.urls.push(String(url));
      this.addEventListener('data', (e) => window.__es.data.push({ at: performance.now(), data: e.data }));
    }
  };
};

/**
 * `?share=0` in a page URL: the page opens its own EventSource, which the
 * tests count (esCounter); the tests of the shared stream ask for it.
 */
function ownStream(url) {
  const u = new URL(url);
  if (!u.searchParams.has('share')) u.searchParams.set('share', '0');
  return u.toString();
}

async function openPage(t, url, { origin = BASE, viewport = { width: 1400, height: 900 }, shared = false, via = browser } = {}) {
  if (!shared) url = ownStream(url);
  const context = await via.newContext({ viewport, serviceWorkers: 'block' });
  const page = await context.newPage();
  await page.addInitScript(esCounter);
  t.context = context;
  t.page = page;
  t.consoleErrors = [];
  t.pageErrors = [];
  t.requests = [];
  t.streamEncodings = [];
  t.origin = origin;
  page.on('console', (m) => {
    if (m.type() === 'error') t.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => t.pageErrors.push(e.message));
  page.on('request', (r) => t.requests.push(r.url()));
  page.on('response', async (r) => {
    if (r.url().includes('/api/sse/stream')) t.streamEncodings.push((await r.allHeaders())['content-encoding'] || 'none');
  });
  await page.goto(url, { waitUntil: 'load' });
  return page;
}

/** Every request stayed on the page's origin (no CDN, no fonts, nothing outside). */
function assertSameOrigin(t) {
  const foreign = t.requests.filter((u) => !u.startsWith(t.origin + '/') && !u.startsWith('data:'));
  assert(foreign.length === 0, 'requests left the origin: ' + foreign.slice(0, 5).join(', '));
}

function assertNoPageErrors(t) {
  assert(t.pageErrors.length === 0, 'page errors: ' + t.pageErrors.join(' | '));
}

const ev = (page, fn, arg) => page.evaluate(fn, arg);
const mode = (page) => ev(page, () => window.__tagstream.stream.mode);
const points = (page, i, tag) => ev(page, ([i, tag]) => window.__tagstream.panels[i]?.points[tag] || [], [i, tag]);

async function waitLive(page, timeout = 15000) {
  await until('status live', async () => (await page.getAttribute('#status', 'data-mode')) === 'live', timeout);
}

function assertStrictlyIncreasing(pts, what) {
  for (let i = 1; i < pts.length; i++)
    assert(pts[i].t > pts[i - 1].t, `${what}: t not strictly increasing at ${i}: ${pts[i - 1].t} then ${pts[i].t}`);
}

/** The page's raw points equal the server's raw history over [from, to]. */
async function assertMatchesHistory(pts, tag, from, to, what) {
  const h = await getJson(`${BASE}/api/data/history?tags[]=${tag}&interval=raw&from=${from}&to=${to + 1}`);
  const hist = h.series[0].points.filter((p) => p.t >= from && p.t <= to);
  const mine = pts.filter((p) => p.t >= from && p.t <= to);
  const missing = hist.filter((p) => !mine.some((m) => m.t === p.t));
  const extra = mine.filter((p) => !hist.some((m) => m.t === p.t));
  assert(
    missing.length === 0 && extra.length === 0,
    `${what}: ${tag} over [${from}, ${to}]: page ${mine.length} points, history ${hist.length}; ` +
      `missing ${missing.length} (${missing.slice(0, 3).map((p) => p.t)}), extra ${extra.length} (${extra.slice(0, 3).map((p) => p.t)})`,
  );
  for (const p of hist) {
    const m = mine.find((x) => x.t === p.t);
    assert(m.v === p.v, `${what}: value at ${p.t}: page ${m.v}, history ${p.v}`);
  }
  return hist.length;
}

/**
 * Waits until the page's raw points of `tag` (panel i) equal the server's raw
 * history over their span, [first, last - 500 ms] unless `span` says otherwise:
 * the server commits samples, and the page merges a refetch, a moment after
 * the fact. `also(pts, n)` may throw to wait for more. Times out with the
 * last difference; returns the points and how many matched.
 */
async function untilMatchesHistory(page, i, tag, what, { span, also, timeout = 15000 } = {}) {
  let got;
  await until(`${what}: the page's ${tag} equal to the server's history`, async () => {
    const pts = await points(page, i, tag);
    if (pts.length < 2) throw new Error(`${pts.length} points`);
    const [from, to] = span ? span(pts) : [pts[0].t, pts[pts.length - 1].t - 500];
    const n = await assertMatchesHistory(pts, tag, from, to, what);
    also?.(pts, n);
    got = { pts, n };
    return true;
  }, timeout, 250);
  assertStrictlyIncreasing(got.pts, `${what}: ${tag}`);
  return got;
}

/**
 * Waits until the server's `interval` rollups hold each of `buckets` (the
 * page's, of `tag`) with the same count and average: the server commits
 * a closed bucket a moment after it closes.
 */
async function untilBucketsMatchServer(tag, interval, buckets, what) {
  await until(`${what}: the server's ${interval} rollups of ${tag} equal to the page's`, async () => {
    const from = buckets[0].t;
    const to = buckets[buckets.length - 1].t + 1000;
    const h = await getJson(`${BASE}/api/data/history?tags[]=${tag}&interval=${interval}&from=${from}&to=${to}`);
    for (const b of buckets) {
      const s = h.series[0].points.find((p) => p.t === b.t);
      assert(s && s.count === b.count && Math.abs(s.avg - b.avg) < 1e-9, `${what} ${b.t}: page ${JSON.stringify(b)} server ${JSON.stringify(s)}`);
    }
    return true;
  }, 15000, 250);
}

// --- tests ---

test('page loads: overview of every tag, no console errors, nothing leaves the origin', async (t) => {
  const page = await openPage(t, BASE + '/');
  await waitLive(page);
  const tags = await getJson(`${BASE}/api/tags`);
  await until('every row in view with a value', async () => {
    const n = await page.$$eval('#tags tbody tr:not(.q-none)', (rows) => rows.length);
    const rows = await ev(page, () => window.__tagstream.overview.domRows);
    return rows > 0 && n === Math.min(tags.total, rows);
  });
  const first = await page.textContent('#tags tbody tr[data-tag="boiler1.temperature"] td.value');
  assert(/^-?\d/.test(first.trim()), 'a value is shown: ' + first);
  const unit = await page.textContent('#tags tbody tr[data-tag="boiler1.temperature"] td.unit');
  assert(unit.trim() === 'degC', 'unit shown: ' + unit);
  // Values update in place as they change.
  const t0 = await ev(page, () => window.__tagstream.overview.value('boiler1.temperature').t);
  await until('the overview to update', async () => (await ev(page, () => window.__tagstream.overview.value('boiler1.temperature').t)) > t0);
  await until('the overview text to change', async () => {
    const now = await page.textContent('#tags tbody tr[data-tag="boiler1.temperature"] td.time');
    return now.trim() !== '–';
  });
  const cls = await page.getAttribute('#tags tbody tr[data-tag="boiler1.temperature"]', 'class');
  assert(/^q-(good|uncertain|bad)$/.test(cls), 'quality class: ' + cls);
  assert(t.consoleErrors.length === 0, 'console errors: ' + t.consoleErrors.join(' | '));
  assertNoPageErrors(t);
  assertSameOrigin(t);
  // The assets are the built ones, served by the binary.
  assert(t.requests.some((u) => /\/assets\/index-[\w-]+\.js$/.test(u)), 'hashed script loaded');
  const es = await ev(page, () => ({ created: window.__es.created, open: window.__es.open }));
  assert(es.open === 1 && es.created === 1, 'one EventSource: ' + JSON.stringify(es));
  // The browser took the stream gzip-compressed, and decoded it as it came.
  assert(t.streamEncodings.length === 1 && t.streamEncodings[0] === 'gzip', 'stream encoding: ' + t.streamEncodings);
});

test('tag browser: search, select, add a panel; live points arrive on the chart', async (t) => {
  // An empty `p=`: no panels (a link without any opens the default layout).
  const page = await openPage(t, BASE + '/#/?p=');
  await waitLive(page);
  await until('tags listed', async () => (await page.$$('#tags tbody tr')).length >= 25);
  const shownRows = () => page.$$eval('#tags tbody tr', (rows) => rows.filter((r) => !r.hidden && r.dataset.tag).map((r) => r.dataset.tag));
  await page.fill('#tag-search', 'boiler1');
  await until('search shows boiler1.*', async () => {
    const shown = await shownRows();
    return shown.length === 4 && shown.every((n) => n.startsWith('boiler1.'));
  });
  await page.fill('#tag-search', 'pressure');
  await until('search matches names and descriptions', async () => (await shownRows()).length >= 4);
  await page.fill('#tag-search', 'boiler1');
  await until('boiler1 again', async () => (await shownRows()).length === 4);
  await page.check('#tags tr[data-tag="boiler1.temperature"] input[type=checkbox]');
  await page.check('#tags tr[data-tag="boiler1.pressure"] input[type=checkbox]');
  await page.selectOption('#panel-interval', 'raw');
  await page.selectOption('#panel-window', '1h');
  await page.click('#add-panel-btn');
  await until('a panel', async () => (await page.$$('.panel')).length === 1);
  const hash = await ev(page, () => location.hash);
  assert(hash.includes('p=raw~1h~boiler1.pressure,boiler1.temperature'), 'panel in the URL: ' + hash);
  assert(hash.includes('sel=boiler1.pressure,boiler1.temperature'), 'selection in the URL: ' + hash);
  assert(hash.includes('q=boiler1'), 'search in the URL: ' + hash);
  await until('history loaded', () => ev(page, () => window.__tagstream.panels[0].history === 'ready'));
  const n0 = (await points(page, 0, 'boiler1.temperature')).length;
  await until('live points', async () => (await points(page, 0, 'boiler1.temperature')).length >= n0 + 5, 10000);
  const info = await until('the chart drawn with live data', async () => {
    const i = await ev(page, () => {
      const p = window.__tagstream.panels[0];
      const d = p.display;
      return { n: p.n, width: p.el.querySelector('.plot').clientWidth, xs: d.xs.length, nonNull: d.ys[0].filter((y) => y !== null).length, redraws: p.redraws };
    });
    return i.nonNull >= 3 && i.redraws > 1 ? i : false;
  }, 15000);
  assert(Math.abs(info.n - info.width) <= 2, 'maxPoints = chart width in px: ' + JSON.stringify(info));
  // (The overview's sparklines ask for history too, with fn=avg.)
  const histReq = t.requests.find((u) => u.includes('/api/data/history') && !u.includes('fn=avg'));
  assert(histReq && histReq.includes('maxPoints=' + info.n), 'history asked with maxPoints=width: ' + histReq);
  assert((await page.$$('.panel canvas')).length >= 1, 'a canvas');
  assertNoPageErrors(t);
  assertSameOrigin(t);
});

test('a panel resized far from its first width rebuilds its grid and history at the new width', async (t) => {
  const page = await openPage(t, BASE + '/#/?p=raw~15m~boiler1.temperature', { viewport: { width: 1600, height: 900 } });
  await waitLive(page);
  await until('history loaded', () => ev(page, () => window.__tagstream.panels[0]?.history === 'ready'));
  const shape = () =>
    ev(page, () => {
      const p = window.__tagstream.panels[0];
      const d = p.display;
      return {
        n: p.n,
        G: p.G,
        width: p.el.querySelector('.plot').clientWidth,
        regrids: p.regrids,
        history: p.history,
        nonNull: d.ys[0].filter((y) => y !== null).length,
      };
    });
  const before = await shape();
  assert(before.regrids === 0 && Math.abs(before.n - before.width) <= 2, 'one group per pixel at first: ' + JSON.stringify(before));
  await page.setViewportSize({ width: 1100, height: 900 });
  const after = await until('grid rebuilt at the new width, history and live data drawn', async () => {
    const s = await shape();
    return s.regrids >= 1 && s.history === 'ready' && s.nonNull >= 3 && Math.abs(s.n - s.width) <= 2 ? s : false;
  }, 20000);
  assert(after.n < before.n * 0.75, 'the grid follows the narrower chart: ' + JSON.stringify({ before, after }));
  assert(after.G > before.G, 'fewer, wider groups over the same 15 minutes: ' + JSON.stringify({ before, after }));
  assert(
    t.requests.some((u) => u.includes('/api/data/history') && u.includes('maxPoints=' + after.n)),
    'history asked again with maxPoints = the new width',
  );
  // A small change (a scroll bar, a border) only resizes the chart: once
  // the panel has seen the new width, no rebuild is waiting.
  await page.setViewportSize({ width: 1090, height: 900 });
  const small = await until('the panel to see the slightly narrower chart', async () => {
    const s = await ev(page, () => {
      const p = window.__tagstream.panels[0];
      return { observed: p.observedWidth, width: p.el.querySelector('.plot').clientWidth, pending: p.regridPending, regrids: p.regrids };
    });
    return s.width !== after.width && s.observed === s.width ? s : false;
  });
  assert(!small.pending && small.regrids === after.regrids, 'no rebuild for a small change: ' + JSON.stringify({ after, small }));
  assertNoPageErrors(t);
});

test('URL state: panels, intervals, windows and selection come back from a shared link', async (t) => {
  const hash = '#/?p=raw~15m~boiler1.temperature,tank1.level&p=minute~24h~pump1.flow&p=second~1h~boiler2.temperature&sel=pump2.flow&iv=minute&w=24h';
  const page = await openPage(t, BASE + '/' + hash);
  await waitLive(page);
  await until('three panels', async () => (await page.$$('.panel')).length === 3);
  const specs = await ev(page, () => window.__tagstream.panels.map((p) => p.key));
  assert(
    JSON.stringify(specs) === JSON.stringify(['raw~15m~boiler1.temperature,tank1.level', 'minute~24h~pump1.flow', 'second~1h~boiler2.temperature']),
    'panels: ' + specs,
  );
  assert(await page.isChecked('#tags tr[data-tag="pump2.flow"] input'), 'selection restored');
  assert((await page.inputValue('#panel-interval')) === 'minute', 'interval restored');
  assert((await page.inputValue('#panel-window')) === '24h', 'window restored');
  // Changing a panel's window rewrites the URL.
  await page.selectOption('.panel:nth-of-type(3) select[aria-label=window]', '15m');
  await until('URL updated', async () => (await ev(page, () => location.hash)).includes('p=second~15m~boiler2.temperature'));
  // One stream for all panels.
  await until('panels filled', () => ev(page, () => window.__tagstream.panels.every((p) => p.history === 'ready' && p.liveCount > 0)));
  const es = await ev(page, () => ({ created: window.__es.created, open: window.__es.open, urls: window.__es.urls }));
  assert(es.open === 1, 'one open EventSource: ' + JSON.stringify(es));
  // A custom window (from, until now).
  const from = Date.now() - 20 * 60000;
  await page.goto(BASE + `/#/?p=raw~c${from}_~boiler1.temperature`);
  await until('custom panel', () => ev(page, () => window.__tagstream.panels.length === 1 && window.__tagstream.panels[0].history === 'ready'));
  assertNoPageErrors(t);
  assertSameOrigin(t);
});

test('one EventSource for four panels; aggregated panels update buckets in place', async (t) => {
  // The overview is off and every panel is per second: the stream is per second.
  const page = await openPage(
    t,
    BASE + '/#/?ov=0&p=second~15m~boiler1.temperature&p=second~15m~tank1.level&p=second~1h~pump1.flow,pump2.flow&p=second~15m~boiler1.temperature,boiler2.temperature',
  );
  await waitLive(page);
  const spec = await ev(page, () => window.__tagstream.stream.spec);
  assert(spec.interval === 'second', 'stream interval second: ' + JSON.stringify(spec));
  assert(
    JSON.stringify(spec.tags) === JSON.stringify(['boiler1.temperature', 'boiler2.temperature', 'pump1.flow', 'pump2.flow', 'tank1.level']),
    'union of tags: ' + spec.tags,
  );
  // Buckets begun while the stream was live, closed two seconds ago, equal the server's rollups.
  const closed = async (i, since) =>
    (await points(page, i, 'boiler1.temperature')).filter((b) => b.t >= since && b.t < Date.now() - 2000);
  const liveAt = Date.now();
  const done = await until('three buckets streamed and completed', async () => {
    const b = await closed(0, liveAt + 1000);
    return b.length >= 3 ? b.slice(0, 3) : false;
  });
  const es = await ev(page, () => ({ created: window.__es.created, open: window.__es.open }));
  assert(es.open === 1 && es.created === 1, 'one EventSource: ' + JSON.stringify(es));
  assertStrictlyIncreasing(await points(page, 0, 'boiler1.temperature'), 'buckets');
  await untilBucketsMatchServer('boiler1.temperature', 'second', done, 'bucket');

  // Mixed intervals with the overview on: a raw stream, second buckets built client-side.
  await page.goto(BASE + '/#/?p=raw~15m~boiler1.temperature&p=second~15m~boiler1.temperature');
  await until('raw stream', () => ev(page, () => window.__tagstream.stream.spec?.interval === 'raw' && window.__tagstream.stream.mode === 'live'));
  // Buckets begun after the raw stream was live and closed since.
  const startedAt = Date.now();
  const mine = await until('two client-side buckets completed', async () => {
    const b = await closed(1, startedAt + 1000);
    return b.length >= 2 ? b : false;
  });
  await untilBucketsMatchServer('boiler1.temperature', 'second', mine, 'client bucket');
  assertNoPageErrors(t);
  assertSameOrigin(t);
});

test('server restart: the page reconnects, resumes, no gap and no duplicate', async (t) => {
  const tag = 'boiler1.temperature';
  const page = await openPage(t, BASE + `/#/?p=raw~15m~${tag},tank1.level`);
  await waitLive(page);
  await until('live points', async () => (await points(page, 0, tag)).length >= 10);
  const seen = new Set();
  const watcher = setInterval(async () => {
    try {
      seen.add(await page.textContent('#status'));
    } catch {
      /* closing */
    }
  }, 100);
  const stoppedAt = Date.now();
  await stopServer();
  // Down until the page has noticed, so that the restart is a reconnect.
  await until('the page to see the server gone', async () => {
    const text = await page.textContent('#status');
    if (!/reconnecting in \d+ s|connecting/.test(text)) return false;
    seen.add(text);
    return true;
  }, 15000, 50);
  await startServer();
  const restartedAt = Date.now();
  await until('reconnected', () => ev(page, () => window.__tagstream.stream.connects >= 2 && window.__tagstream.stream.mode === 'live'), 30000);
  clearInterval(watcher);
  await until('points after the restart', async () => (await points(page, 0, tag)).filter((p) => p.t > restartedAt).length >= 10, 15000);
  const { pts, n } = await untilMatchesHistory(page, 0, tag, 'after restart');
  const before = pts.filter((p) => p.t < stoppedAt).length;
  const after = pts.filter((p) => p.t > restartedAt).length;
  assert(before >= 10 && after >= 10, `points on both sides of the restart: ${before} before, ${after} after`);
  await untilMatchesHistory(page, 0, 'tank1.level', 'after restart');
  const st = await ev(page, () => {
    const s = window.__tagstream.stream;
    return { connects: s.connects, opened: s.opened, errors: s.errors.map((e) => e.code), resumedFrom: s.lastEventId };
  });
  assert(st.errors.includes('server_shutdown'), 'saw server_shutdown: ' + JSON.stringify(st));
  const texts = [...seen].join(' | ');
  assert(/reconnecting in \d+ s|connecting/.test(texts), 'status showed reconnecting: ' + texts);
  const resumed = t.requests.filter((u) => u.includes('/api/sse/stream') && u.includes('lastEventId='));
  assert(resumed.length >= 1, 'resumed with lastEventId');
  console.log(`    ${n} points of ${tag} match history across the restart; statuses: ${texts}`);
  assertNoPageErrors(t);
  assertSameOrigin(t);
});

test('history_lost: the page refetches the span from history', async (t) => {
  const tag = 'tank1.level';
  const page = await openPage(t, BASE + `/#/?ov=0&p=raw~15m~${tag}`);
  await waitLive(page);
  await until('live points', async () => (await points(page, 0, tag)).length >= 5);
  // An id the server never issued: it answers history_lost and a snapshot.
  await ev(page, () => {
    window.__tagstream.stream.lastEventId = '999999999999999999';
    window.__tagstream.stream.reconnectNow();
  });
  await until('history_lost seen', () => ev(page, () => window.__tagstream.stream.errors.some((e) => e.code === 'history_lost')));
  await until('a gap refetch', () => ev(page, () => window.__tagstream.app.gaps.some((g) => g.reason === 'history_lost')));
  await untilMatchesHistory(page, 0, tag, 'after history_lost');
  assertNoPageErrors(t);
  assertSameOrigin(t);
});

test('a silent stream (no event, no heartbeat for 2x the interval) is reconnected', async (t) => {
  const proxy = await startProxy(PORT);
  t.cleanup = () => proxy.close();
  const origin = `http://127.0.0.1:${proxy.port}`;
  const page = await openPage(t, origin + '/#/?ov=0&p=raw~15m~boiler1.temperature', { origin });
  await waitLive(page);
  const frozen = proxy.freezeOpenStreams();
  assert(frozen === 1, 'one stream through the proxy: ' + frozen);
  const frozenAt = Date.now();
  await until('a new stream', () => ev(page, () => window.__tagstream.stream.connects >= 2), 12000);
  const took = Date.now() - frozenAt;
  const err = await ev(page, () => window.__tagstream.stream.lastError);
  assert(took >= 3000, `not before twice the heartbeat interval (2 s): ${took} ms`);
  assert(/no event or heartbeat/.test(err) || took < 9000, 'watchdog reason: ' + err);
  await waitLive(page);
  await untilMatchesHistory(page, 0, 'boiler1.temperature', 'after the watchdog');
  assertNoPageErrors(t);
  assertSameOrigin(t);
});

for (const how of ['502', 'hang']) {
  test(`streaming refused by a proxy (${how}): polling fallback with ETags, then back to SSE`, async (t) => {
    const proxy = await startProxy(PORT);
    t.cleanup = () => proxy.close();
    proxy.mode = how;
    const origin = `http://127.0.0.1:${proxy.port}`;
    const tag = 'boiler1.temperature';
    const page = await openPage(
      t,
      origin + `/?maxReconnect=2&poll=1000&sseRetry=4000&backoff=300&connectTimeout=1500#/?p=raw~15m~${tag}`,
      { origin },
    );
    await until('polling', async () => (await page.getAttribute('#status', 'data-mode')) === 'polling', 20000);
    const st = await ev(page, () => ({ opened: window.__tagstream.stream.opened, open: window.__es.open }));
    assert(st.opened === 2, 'two attempts before polling: ' + JSON.stringify(st));
    assert(st.open <= 1, 'at most one EventSource: ' + JSON.stringify(st));
    assert(/polling/.test(await page.textContent('#status')), 'status says polling');
    const v0 = await ev(page, (tag) => window.__tagstream.overview.value(tag), tag);
    await until('values update by polling', async () => (await ev(page, (tag) => window.__tagstream.overview.value(tag), tag)).t > v0.t, 8000);
    await until('several polls', () => ev(page, () => window.__tagstream.stream.polls >= 3), 8000);
    const latest = proxy.latestRequests();
    assert(latest.length >= 3, 'polled /api/data/latest: ' + latest.length);
    assert(latest.slice(1).some((r) => r.headers['if-none-match']), 'polls send If-None-Match');
    // SSE is retried in the background while polling (and still refused).
    await until('a background SSE attempt', () => proxy.sseRequests().length >= 3, 10000);
    assert((await ev(page, () => window.__tagstream.stream.mode)) === 'polling', 'still polling');
    await page.screenshot({ path: path.join(ARTIFACTS, `polling-${how}.png`) });

    proxy.mode = 'pass';
    await until('back to SSE', async () => (await page.getAttribute('#status', 'data-mode')) === 'live', 15000);
    const es = await ev(page, () => ({ open: window.__es.open }));
    assert(es.open === 1, 'one EventSource: ' + JSON.stringify(es));
    // The span since SSE came back is complete.
    const back = await ev(page, () => window.__tagstream.stream.lastEventAt);
    await untilMatchesHistory(page, 0, tag, 'after polling', {
      span: (pts) => {
        const recent = pts.filter((p) => p.t > back - 1500);
        assert(pts.length > 10 && recent.length > 3, `points: ${pts.length}, since SSE came back: ${recent.length}`);
        return [recent[0].t, pts[pts.length - 1].t - 500];
      },
    });
    assertNoPageErrors(t);
    assertSameOrigin(t);
  });
}

test('network drop: reconnecting, then offline, then live again with no gap', async (t) => {
  const proxy = await startProxy(PORT);
  t.cleanup = () => proxy.close();
  const origin = `http://127.0.0.1:${proxy.port}`;
  const tag = 'boiler1.temperature';
  const page = await openPage(
    t,
    origin + `/?maxReconnect=3&backoff=300&poll=500&sseRetry=2500&connectTimeout=1500#/?p=raw~15m~${tag}`,
    { origin },
  );
  await waitLive(page);
  await until('live points', async () => (await points(page, 0, tag)).length >= 5);
  proxy.down();
  await until('reconnecting', async () => /reconnecting in \d+ s/.test(await page.textContent('#status')), 5000, 50);
  await until('offline', async () => (await page.getAttribute('#status', 'data-mode')) === 'offline', 20000);
  await page.screenshot({ path: path.join(ARTIFACTS, 'offline.png') });
  proxy.mode = 'pass';
  await until('live again', async () => (await page.getAttribute('#status', 'data-mode')) === 'live', 15000);
  await untilMatchesHistory(page, 0, tag, 'after the drop', {
    also: (_pts, n) => assert(n >= 20, 'points across the drop: ' + n),
  });
  assertNoPageErrors(t);
  assertSameOrigin(t);
});

test('status page: live counters from /api/stats that increase', async (t) => {
  const page = await openPage(t, BASE + '/#/status');
  await until('stats', () => ev(page, () => window.__tagstream.statusPage.fetches >= 1));
  const read = async () => ({
    events: Number(await page.textContent('[data-stat="events.total"]')),
    samples: Number(await page.textContent('[data-stat="ingest.samplesTotal"]')),
    committed: Number(await page.textContent('[data-stat="store.committedSamples"]')),
    open: Number(await page.textContent('[data-stat="streams.open"]')),
  });
  const a = await read();
  const b = await until('events and committed samples to increase over three polls', async () => {
    const b = await read();
    const fetches = await ev(page, () => window.__tagstream.statusPage.fetches);
    return b.events > a.events && b.committed > a.committed && fetches >= 3 ? b : false;
  });
  assert(b.open >= 1, 'open streams: ' + b.open);
  const rates = await page.$$eval('#tag-rates tbody tr', (rows) => rows.map((r) => [r.dataset.tag, Number(r.cells[1].textContent)]));
  assert(rates.length === 25, 'per-tag rows: ' + rates.length);
  assert(rates.some(([, r]) => r > 1), 'per-tag rates: ' + JSON.stringify(rates.slice(0, 3)));
  const eps = Number(await page.textContent('[data-stat="events.perSecond"]'));
  assert(eps > 0, 'events per second: ' + eps);
  const fetches = await ev(page, () => window.__tagstream.statusPage.fetches);
  assert(fetches >= 3, 'polled every second: ' + fetches);
  assert(t.consoleErrors.length === 0, 'console errors: ' + t.consoleErrors.join(' | '));
  assertNoPageErrors(t);
  assertSameOrigin(t);
});

// --- the dashboard at plant scale (issue 17) ---

const rowNames = (page) => page.$$eval('#tags tbody tr', (rows) => rows.map((r) => r.dataset.tag).filter(Boolean));

test('plant scale: 100,000 tags, 10,000 updating each second: virtual overview, live rows in view, scroll to the end, glob, tree', async (t) => {
  const plant = await startPlant({
    bin: env.TAGSTREAM_BIN,
    webRoot: env.TAGSTREAM_WEB_ROOT,
    dir: path.join(env.TAGSTREAM_TMP || fs.mkdtempSync('/tmp/tagstream-plant-'), 'plant'),
    tags: 100000,
    updating: 10000,
  });
  t.cleanup = () => plant.stop();
  const page = await openPage(t, plant.base + '/', { origin: plant.base });
  await waitLive(page, 30000);
  await until('the count of every tag', async () => (await page.textContent('#tag-count')).trim() === '100000 tags', 30000);

  // Only the rows in view are in the DOM.
  const bounded = async (what) => {
    const { rows, fit } = await ev(page, () => ({
      rows: window.__tagstream.overview.domRows,
      fit: Math.ceil(document.querySelector('.table-wrap').clientHeight / 26),
    }));
    assert(rows >= Math.min(fit, 10) && rows <= fit + 14, `${what}: ${rows} rows in the DOM for ${fit} in view`);
    return rows;
  };
  const rows = await bounded('at the top');

  // Natural order: t2 before t10.
  const first = await until('the first rows', async () => {
    const n = await rowNames(page);
    return n.length >= 12 ? n : false;
  });
  assert(first[0] === 'site.area1.unit1.t1' && first[1] === 'site.area1.unit1.t2' && first[9] === 'site.area1.unit1.t10',
    'natural order: ' + first.slice(0, 12));

  // Live values on the rows in view; the stream carries only them.
  const tag = first[4];
  const t0 = await ev(page, (tag) => window.__tagstream.overview.value(tag)?.t || 0, tag);
  await until('a visible row to update', async () => (await ev(page, (tag) => window.__tagstream.overview.value(tag)?.t || 0, tag)) > t0, 20000);
  await until('its text to show it', async () => /^\d/.test((await page.textContent(`#tags tr[data-tag="${tag}"] td.value`)).trim()));
  const spec = await ev(page, () => window.__tagstream.stream.spec);
  assert(spec.tags.length <= rows && spec.tags.includes(tag), `the stream carries the rows in view (${spec.tags.length} tags)`);

  // Scrolled to the end: the last tag, the DOM still bounded.
  await page.$eval('.table-wrap', (el) => (el.scrollTop = el.scrollHeight));
  await until('the last tag in view', async () => (await rowNames(page)).includes(plant.lastName), 20000);
  await bounded('at the end');
  await until('the stream follows the view', () =>
    ev(page, (name) => window.__tagstream.stream.spec?.tags.includes(name) && window.__tagstream.stream.mode === 'live', plant.lastName),
  );

  // A glob.
  await page.fill('#tag-search', 'site.area3.unit1?.t7');
  const want = Array.from({ length: 10 }, (_, i) => `site.area3.unit${10 + i}.t7`);
  await until('the glob filter', async () => JSON.stringify(await rowNames(page)) === JSON.stringify(want));
  await until('the count of matches', async () => (await page.textContent('#tag-count')).trim() === '10 of 100000 tags');

  // The tree: counts against the tag list, the worst quality per branch.
  await fetch(plant.base + '/api/samples', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify([{ tag: 'site.area7.unit3.t3', value: 1, quality: 'bad' }]),
  });
  await until('the tree root', async () => (await page.getAttribute('#tag-tree li[data-name="site"]', 'data-count')) === '100000', 20000);
  await page.click('#tag-tree li[data-name="site"] > .twisty');
  const areas = await until('the areas', async () => {
    const a = await page.$$eval('#tag-tree li[data-name="site"] > ul > li', (lis) =>
      lis.map((li) => ({ name: li.dataset.name, count: Number(li.dataset.count), worst: li.dataset.worst })),
    );
    return a.length === 10 && a.find((x) => x.name === 'site.area7')?.worst === 'bad' ? a : false;
  }, 20000);
  assert(areas[1].name === 'site.area2' && areas[9].name === 'site.area10', 'areas in natural order: ' + areas.map((a) => a.name));
  for (const a of areas) {
    const listed = await getJson(`${plant.base}/api/tags?q=${a.name}.*&limit=1`);
    assert(a.count === listed.total, `${a.name}: tree ${a.count}, list ${listed.total}`);
    assert(a.worst === (a.name === 'site.area7' ? 'bad' : 'good'), `${a.name}: worst ${a.worst}`);
  }
  // Choosing a branch filters the overview to it.
  await page.click('#tag-tree li[data-name="site.area10"] > .label');
  await until('the branch in the overview', async () => {
    const n = await rowNames(page);
    return n.length > 0 && n.every((x) => x.startsWith('site.area10.'));
  });
  assertNoPageErrors(t);
  assertSameOrigin(t);
}, 240000);

test('seven tabs over HTTP/1.1: one stream on the server, every tab live', async (t) => {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  t.context = context;
  t.pageErrors = [];
  const pages = [];
  for (let i = 0; i < 7; i++) {
    const page = await context.newPage();
    page.on('pageerror', (e) => t.pageErrors.push(e.message));
    await page.goto(BASE + '/', { waitUntil: 'load' });
    pages.push(page);
  }
  t.page = pages[6];
  for (const page of pages) {
    assert(await ev(page, () => window.__tagstream.shared), 'the tab shares the stream');
    await valuesArriving(page);
  }
  await until('one stream open on the server', async () => (await getJson(`${BASE}/api/stats`)).streams.open === 1);
  // The seventh tab's panels get live points too.
  await until('live points in the seventh tab', () => ev(pages[6], () => window.__tagstream.panels.some((p) => p.liveCount > 0)));
  // A tab that closes leaves the others live, on one stream.
  await pages[0].close();
  await valuesArriving(pages[1]);
  await valuesArriving(pages[6]);
  await until('still one stream', async () => (await getJson(`${BASE}/api/stats`)).streams.open === 1);
  assertNoPageErrors(t);
});

test('without SharedWorker: a leader tab holds the one stream; when it closes another takes over', async (t) => {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  t.context = context;
  t.pageErrors = [];
  const pages = [];
  for (let i = 0; i < 4; i++) {
    const page = await context.newPage();
    page.on('pageerror', (e) => t.pageErrors.push(e.message));
    await page.goto(BASE + '/?share=leader', { waitUntil: 'load' });
    pages.push(page);
  }
  t.page = pages[3];
  for (const page of pages) {
    assert((await ev(page, () => window.__tagstream.sharing)) === 'leader', 'leader mode');
    await valuesArriving(page);
  }
  const leaders = async (ps) => (await Promise.all(ps.map((p) => ev(p, () => window.__tagstream.streamLeader)))).filter(Boolean).length;
  assert((await leaders(pages)) === 1, 'one leader');
  await until('one stream open on the server', async () => (await getJson(`${BASE}/api/stats`)).streams.open === 1);
  const leader = (await Promise.all(pages.map((p) => ev(p, () => window.__tagstream.streamLeader)))).indexOf(true);
  await pages[leader].close();
  const rest = pages.filter((_, i) => i !== leader);
  await until('a new leader', async () => (await leaders(rest)) === 1);
  for (const page of rest) await valuesArriving(page);
  await until('still one stream', async () => (await getJson(`${BASE}/api/stats`)).streams.open === 1);
  assertNoPageErrors(t);
});

test('display rate: ?rate=1000 asks for at most an event a second; each carries the latest value', async (t) => {
  const page = await openPage(t, BASE + '/?rate=1000#/?ov=0&p=raw~15m~boiler1.temperature');
  await waitLive(page);
  const info = await ev(page, () => window.__tagstream.stream.info);
  assert(info.rate === 1000, 'the stream says its rate: ' + JSON.stringify(info));
  assert(/[?&]rate=1000(&|$)/.test((await ev(page, () => window.__es.urls))[0]), 'rate in the stream URL');
  const events = await until('five data events', async () => {
    const d = await ev(page, () => window.__es.data.map((e) => JSON.parse(e.data)));
    return d.length >= 6 ? d.slice(1) : false; // the first is the snapshot
  }, 20000);
  const ts = [];
  for (const e of events) {
    const pts = e.points.filter((p) => p.tag === 'boiler1.temperature');
    assert(pts.length <= 1, 'one point per tag per event (the latest): ' + JSON.stringify(e.points));
    if (pts.length) ts.push(pts[0]);
  }
  // The simulator writes 5 samples a second: events a second apart hold
  // samples about a second apart (never the 200 ms of consecutive samples).
  for (let i = 1; i < ts.length; i++)
    assert(ts[i].t - ts[i - 1].t >= 600, `samples ${ts[i].t - ts[i - 1].t} ms apart in consecutive events`);
  // Each is a real sample of history, not an average: the value at its time.
  await until('the events match history', async () => {
    const from = ts[0].t;
    const to = ts[ts.length - 1].t + 1;
    const h = await getJson(`${BASE}/api/data/history?tags[]=boiler1.temperature&interval=raw&from=${from}&to=${to}`);
    const pts = h.series[0].points;
    return ts.every((p) => pts.some((q) => q.t === p.t && q.v === p.v)) && pts.length > ts.length;
  });
  assertNoPageErrors(t);
});

// --- operator writes: a real Modbus server, a server that polls it ---

/** Starts the Modbus test server and a tagstream polling one writable register of it. */
async function startSetpointPlant(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const modbusBin = path.join(path.dirname(env.TAGSTREAM_BIN), 'tagstream-modbus-bench');
  const modbus = spawn(modbusBin, ['serve', '--registers', '20'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  modbus.stdout.on('data', (d) => (out += d));
  const modbusPort = await until('the Modbus server to listen', () => {
    if (modbus.exitCode !== null) throw new Error('the Modbus server exited: ' + modbus.exitCode);
    const m = out.match(/PORT (\d+)/);
    return m ? Number(m[1]) : false;
  }, 15000, 50);
  // Holding register 10 holds 10: with scale 0.1 the setpoint reads 1.0 degC.
  const config = path.join(dir, 'tagstream.toml');
  fs.writeFileSync(config, `
[[modbus]]
name = "plc1"
host = "127.0.0.1"
port = ${modbusPort}
[[modbus.group]]
period = 0.2
[[modbus.group.tag]]
name = "plc1.setpoint"
address = 10
type = "int16"
scale = 0.1
unit = "degC"
writable = true
min = 0
max = 100
`);
  const logPath = path.join(dir, 'server.log');
  const log = fs.openSync(logPath, 'a');
  const server = spawn(
    env.TAGSTREAM_BIN,
    ['serve', '--config', config, '--listen', '127.0.0.1:0', '--data-dir', path.join(dir, 'data'), '--no-simulator',
      '--web-root', env.TAGSTREAM_WEB_ROOT],
    { stdio: ['ignore', 'ignore', log] },
  );
  fs.closeSync(log);
  const port = await until('the server with a Modbus connector to listen', () => {
    if (server.exitCode !== null) throw new Error('the server exited: ' + fs.readFileSync(logPath, 'utf8'));
    const m = fs.readFileSync(logPath, 'utf8').match(/listening on 127\.0\.0\.1:(\d+)/);
    return m ? Number(m[1]) : false;
  }, 15000, 50);
  const stop = async () => {
    for (const c of [server, modbus]) if (c.exitCode === null) c.kill('SIGTERM');
    await until('the setpoint servers to exit', () => server.exitCode !== null && modbus.exitCode !== null, 15000, 50);
  };
  return { base: `http://127.0.0.1:${port}`, stop };
}

test('setpoint: a writable tag offers a control; limits, confirm, the device\'s read-back; the connector on the status page', async (t) => {
  const plant = await startSetpointPlant(path.join(path.dirname(AUTH_DIR), 'setpoint'));
  try {
    await until('the register polled', async () => {
      const h = await getJson(`${plant.base}/api/data/latest?tags[]=plc1.setpoint`);
      return h.points?.[0]?.v === 1;
    });
    const page = await openPage(t, plant.base + '/', { origin: plant.base });
    const row = 'tr[data-tag="plc1.setpoint"]';
    await page.waitForSelector(`${row} button.set-btn`, { state: 'visible', timeout: 15000 });
    await page.click(`${row} button.set-btn`);
    await page.waitForSelector('#setpoint', { state: 'visible' });
    const panel = await page.textContent('#setpoint');
    assert(panel.includes('0 – 100 degC'), 'the limits are shown: ' + panel);
    assert(panel.includes('Now: 1 degC'), 'the live value is shown: ' + panel);

    // Out of range: refused on the page, nothing sent.
    await page.fill('#setpoint-value', '150');
    await page.click('#setpoint .sp-write');
    assert((await page.textContent('#setpoint .sp-error')).includes('above the maximum 100'), 'limit refused');
    assert(!(await page.isVisible('#setpoint .sp-confirm')), 'no confirm for an out-of-range value');

    // In range: confirm first, then the device's read-back.
    await page.fill('#setpoint-value', '42.5');
    await page.click('#setpoint .sp-write');
    const ask = await page.textContent('#setpoint .sp-confirm-text');
    assert(ask === 'Set plc1.setpoint from 1 to 42.5 degC?', 'the confirm names old and new: ' + ask);
    await page.click('#setpoint .sp-confirm');
    await until('the device\'s answer', async () =>
      (await page.textContent('#setpoint .sp-result')) === 'Accepted; the device reads back 42.5 degC');
    // The register really changed: the connector's next polls read it.
    await until('the live value follows the device', async () => {
      const h = await getJson(`${plant.base}/api/data/latest?tags[]=plc1.setpoint`);
      return h.points?.[0]?.v === 42.5;
    });
    await until('the panel shows the new live value', async () =>
      (await page.textContent('#setpoint .sp-current')) === 'Now: 42.5 degC');

    // The status page lists the connector, connected.
    await page.click('#nav-status');
    await page.waitForSelector('#connectors tr[data-connector="plc1"]', { timeout: 15000 });
    const state = await page.textContent('#connectors tr[data-connector="plc1"] td:nth-child(4)');
    assert(state === 'connected', 'connector state: ' + state);
    assertNoPageErrors(t);
  } finally {
    await plant.stop();
  }
});

// --- authentication: a second server, with a token file ---
//
// Started by the first test that needs it (on its own free port, with its
// own data directory and token file), stopped at the end; run.sh stops it
// too if the runner dies (TAGSTREAM_AUTH_PIDFILE).

const AUTH_DIR = path.join(env.TAGSTREAM_TMP || fs.mkdtempSync('/tmp/tagstream-auth-'), 'auth');
let authSrv = null;

/** `tagstream token new`: appends the key's hash to `file`, returns the key. */
function newKey(id, file) {
  const out = execFileSync(env.TAGSTREAM_BIN, ['token', 'new', '--id', id, '--read', '*', '--file', file], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const key = out.match(/tsk_\S+/)?.[0];
  assert(key, 'token new printed a key: ' + out);
  return key;
}

/** Replaces the token file at once (the server re-reads it within a second). */
function writeTokens(file, text) {
  fs.writeFileSync(file + '.tmp', text);
  fs.renameSync(file + '.tmp', file);
}

async function authServer() {
  if (authSrv) return authSrv;
  fs.mkdirSync(AUTH_DIR, { recursive: true });
  const tokenFile = path.join(AUTH_DIR, 'tokens.toml');
  const key = newKey('operator', tokenFile);
  const logPath = path.join(AUTH_DIR, 'server.log');
  const log = fs.openSync(logPath, 'a');
  const child = spawn(
    env.TAGSTREAM_BIN,
    ['serve', '--listen', '127.0.0.1:0', '--data-dir', path.join(AUTH_DIR, 'data'), '--heartbeat-interval', '2',
      '--simulator-rate', '5', '--web-root', env.TAGSTREAM_WEB_ROOT, '--token-file', tokenFile],
    { stdio: ['ignore', 'ignore', log] },
  );
  fs.closeSync(log);
  if (env.TAGSTREAM_AUTH_PIDFILE) fs.writeFileSync(env.TAGSTREAM_AUTH_PIDFILE, String(child.pid));
  const port = await until('the server with authentication to listen', () => {
    if (child.exitCode !== null) throw new Error('the server exited: ' + child.exitCode);
    const m = fs.readFileSync(logPath, 'utf8').match(/listening on 127\.0\.0\.1:(\d+)/);
    return m ? Number(m[1]) : false;
  }, 15000, 50);
  authSrv = { pid: child.pid, base: `http://127.0.0.1:${port}`, tokenFile, key };
  console.log(`    server with authentication on 127.0.0.1:${port} (pid ${child.pid})`);
  return authSrv;
}

async function stopAuthServer() {
  if (!authSrv) return;
  const { pid } = authSrv;
  authSrv = null;
  process.kill(pid, 'SIGTERM');
  await until('the server with authentication to exit', () => !alive(pid), 15000, 50);
  if (env.TAGSTREAM_AUTH_PIDFILE) fs.writeFileSync(env.TAGSTREAM_AUTH_PIDFILE, ''); // stopped: nothing for run.sh to stop
}

const formShown = async (page) => (await page.isVisible('#signin-token')) && !(await page.isVisible('#dash'));
const dashShown = async (page) => (await page.isVisible('#dash')) && !(await page.isVisible('#signin'));

async function submitToken(page, token) {
  await page.fill('#signin-token', token);
  await page.click('#signin-btn');
}

/** Live, and the overview's value of a tag updated after that. */
async function valuesArriving(page, tag = 'boiler1.temperature') {
  await waitLive(page);
  const t0 = await ev(page, (tag) => window.__tagstream.overview.value(tag)?.t || 0, tag);
  await until('values arriving', async () => (await ev(page, (tag) => window.__tagstream.overview.value(tag)?.t || 0, tag)) > t0);
}

test('auth on: the sign-in form; a wrong token is refused; the right one shows the live dashboard; a reload stays signed in', async (t) => {
  const srv = await authServer();
  const page = await openPage(t, srv.base + '/', { origin: srv.base });
  await until('the sign-in form instead of the dashboard', () => formShown(page));
  assert((await page.getAttribute('#signin-token', 'type')) === 'password', 'the token field is a password field');
  assert(!(await page.isVisible('#tags')) && !(await page.isVisible('#status')), 'no tag table, no stream status before signing in');
  assert((await ev(page, () => window.__es.created)) === 0, 'no stream before signing in');

  await submitToken(page, 'tsk_' + 'x'.repeat(43));
  const err = await until('an error under the form', async () => (await page.isVisible('#signin-error')) && (await page.textContent('#signin-error')));
  assert(/not accepted/.test(err), 'the error says the token was not accepted: ' + err);
  assert(await formShown(page), 'still the form after a wrong token');

  await submitToken(page, srv.key);
  await until('the dashboard', () => dashShown(page));
  await valuesArriving(page);
  const who = await page.textContent('#who');
  assert(/signed in as\s*operator/.test(who), 'the header shows who is signed in: ' + who);
  assert(await page.isVisible('#sign-out'), 'a Sign out button');
  assert(!(await page.isVisible('#signin-error')), 'the error is gone');
  assert(!(await ev(page, () => document.cookie)).includes('tagstream_session'), 'the session cookie is HttpOnly');
  assert(!t.requests.some((u) => u.includes('tsk_')), 'the key is never in a URL');

  await page.reload({ waitUntil: 'load' });
  await until('the dashboard after a reload (the cookie)', () => dashShown(page));
  await valuesArriving(page);
  assert(!(await page.isVisible('#signin-token')), 'no form after the reload');
  assertNoPageErrors(t);
  assertSameOrigin(t);
});

test('auth on: sign out returns to the form, the stream closes, and the API then answers 401', async (t) => {
  const srv = await authServer();
  const page = await openPage(t, srv.base + '/#/?p=raw~15m~boiler1.temperature', { origin: srv.base });
  await until('the sign-in form', () => formShown(page));
  await submitToken(page, srv.key);
  await until('the dashboard', () => dashShown(page));
  await valuesArriving(page);
  await until('the panel filled', () => ev(page, () => window.__tagstream.panels[0]?.history === 'ready'));

  await page.click('#sign-out');
  await until('the sign-in form after signing out', () => formShown(page));
  const notice = await page.textContent('#signin-notice');
  assert(/Signed out/.test(notice), 'the notice says signed out: ' + notice);
  const st = await ev(page, async () => ({
    tags: (await fetch('/api/tags')).status,
    latest: (await fetch('/api/data/latest?tags[]=boiler1.temperature')).status,
    auth: await (await fetch('/api/auth')).json(),
    open: window.__es.open,
    mode: window.__tagstream.stream.mode,
  }));
  assert(st.tags === 401 && st.latest === 401, 'the API answers 401 after signing out: ' + JSON.stringify(st));
  assert(st.auth.enabled === true && st.auth.principal === null, 'no principal: ' + JSON.stringify(st.auth));
  assert(st.open === 0 && st.mode === 'signedout', 'the stream is closed: ' + JSON.stringify(st));
  assert(!(await page.isVisible('#sign-out')), 'no Sign out button on the form');

  await page.reload({ waitUntil: 'load' });
  await until('still the form after a reload (the cookie is gone)', () => formShown(page));
  assertNoPageErrors(t);
  assertSameOrigin(t);
});

test('auth on: a key revoked while the page is open brings back the sign-in form, "session ended", no reconnect', async (t) => {
  const srv = await authServer();
  const before = fs.readFileSync(srv.tokenFile, 'utf8');
  const key = newKey('revoked-soon', srv.tokenFile);
  t.cleanup = () => writeTokens(srv.tokenFile, before);
  await until('the server to know the new key', async () => {
    const r = await fetch(srv.base + '/api/auth', { headers: { Authorization: 'Bearer ' + key } });
    return (await r.json()).principal?.id === 'revoked-soon';
  });
  const page = await openPage(t, srv.base + '/#/?p=raw~15m~boiler1.temperature', { origin: srv.base });
  await until('the sign-in form', () => formShown(page));
  await submitToken(page, key);
  await until('the dashboard', () => dashShown(page));
  await valuesArriving(page);
  assert(/revoked-soon/.test(await page.textContent('#who')), 'signed in as revoked-soon');

  const opened = await ev(page, () => window.__es.created);
  writeTokens(srv.tokenFile, before); // the file without the key
  await until('the sign-in form after the key was revoked', () => formShown(page), 15000, 100);
  const notice = await page.textContent('#signin-notice');
  assert(/Your session has ended: sign in again/.test(notice), 'the notice says the session ended: ' + notice);
  const st = await ev(page, () => ({
    mode: window.__tagstream.stream.mode,
    open: window.__es.open,
    created: window.__es.created,
    errors: window.__tagstream.stream.errors.map((e) => e.code),
  }));
  assert(st.errors.includes('token_expired'), "the stream's token_expired event ended it: " + JSON.stringify(st));
  assert(st.open === 0 && st.mode === 'signedout', 'no stream, no reconnect: ' + JSON.stringify(st));
  assert(st.created === opened, `no reconnect after token_expired: ${opened} EventSources before, ${st.created} after`);
  await page.screenshot({ path: path.join(ARTIFACTS, 'session-ended.png') });

  // The revoked key is refused; meanwhile the page opened no stream.
  await submitToken(page, key);
  await until('an error under the form', async () => /not accepted/.test((await page.textContent('#signin-error')) || ''));
  const created = await ev(page, () => window.__es.created);
  assert(created === st.created, `no EventSource opened since the session ended: ${st.created} then ${created}`);
  assert((await ev(page, () => window.__tagstream.stream.mode)) === 'signedout', 'still signed out');

  // Another key signs in again: a fresh dashboard, live.
  await submitToken(page, srv.key);
  await until('the dashboard again', () => dashShown(page));
  await valuesArriving(page);
  assert(/operator/.test(await page.textContent('#who')), 'signed in as operator');
  assertNoPageErrors(t);
  assertSameOrigin(t);
});

// --- a cluster behind nginx, a node killed (issue 18) ---
//
// scripts/cluster.sh --porcelain --tls starts Redis, PostgreSQL (initdb'd in
// a temporary directory), three nodes with --cluster and --store, and nginx
// with the shipped site: TLS (a self-signed certificate: this test's own
// chromium runs with --ignore-certificate-errors) and HTTP/2. The page is
// opened through nginx while the test writes a tag through nginx; the node
// holding the page's stream is killed with SIGKILL; the page must come back
// by itself, through nginx, on a survivor, and its stream and its chart must
// hold every value written: none missing, none twice, in order.

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const NODES = ['node-a', 'node-b', 'node-c'];

/** One HTTPS (or HTTP) request; resolves with the status and the body. */
function request(url, { method = 'GET', body, agent } = {}) {
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method, agent, timeout: 10000 }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode, body: data }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer within 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The differences between what was written and what a list holds: missing, extra, twice, out of order, other values. */
function compareWritten(written, got, what) {
  const want = new Map(written.map((p) => [p.t, p.v]));
  const seen = new Map();
  const problems = [];
  for (let i = 0; i < got.length; i++) {
    const p = got[i];
    seen.set(p.t, (seen.get(p.t) || 0) + 1);
    if (!want.has(p.t)) problems.push(`extra t=${p.t} v=${p.v}`);
    else if (want.get(p.t) !== p.v) problems.push(`t=${p.t}: v=${p.v}, written ${want.get(p.t)}`);
    if (i > 0 && p.t <= got[i - 1].t) problems.push(`out of order or twice at ${i}: t=${got[i - 1].t} then t=${p.t}`);
  }
  const missing = written.filter((p) => !seen.has(p.t));
  if (missing.length) problems.push(`${missing.length} missing: v=${missing.slice(0, 10).map((p) => p.v).join(',')}`);
  const twice = [...seen].filter(([, n]) => n > 1);
  if (twice.length) problems.push(`${twice.length} received more than once: t=${twice.slice(0, 5).map(([t]) => t).join(',')}`);
  assert(problems.length === 0, `${what}: ${got.length} points for ${written.length} written: ${problems.slice(0, 8).join('; ')}`);
}

test('cluster: the dashboard through nginx (TLS, HTTP/2); the node holding its stream killed; resumed on a survivor with every value once', async (t) => {
  const tag = 'clusterbrowser.value';
  const cluster = await startCluster({
    root: ROOT,
    buildDir: path.dirname(env.TAGSTREAM_BIN),
    args: ['--tls', '--no-simulator',
      // Every change its own event (no coalescing window): the page must get every value written.
      '--node-arg', '--data-check-interval', '--node-arg', '0',
      '--node-arg', '--web-root', '--node-arg', env.TAGSTREAM_WEB_ROOT],
    pidfile: env.TAGSTREAM_CLUSTER_PIDFILE,
    artifacts: ARTIFACTS,
  });
  const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
  let tlsBrowser = null;
  let writing = false;
  let writer = null;
  let stopping = false;
  t.cleanup = async () => {
    writing = false;
    stopping = true;
    await writer?.catch(() => {});
    agent.destroy();
    await tlsBrowser?.close();
    await cluster.stop();
  };
  assert(/^https:\/\/127\.0\.0\.1:\d+$/.test(cluster.url), 'nginx over TLS: ' + cluster.url);
  for (const name of ['nginx', 'redis', 'postgres', ...NODES]) assert(cluster.services[name]?.port, `${name} started: ${cluster.out()}`);

  // Writes through nginx, one at a time, each retried (same tag, same
  // timestamp: the same point) until acknowledged: a write cut off by the
  // kill is written again, as a client would.
  const written = [];
  let retries = 0;
  const write = async (v) => {
    const ts = Math.max(Date.now(), (written.at(-1)?.t ?? 0) + 1);
    const end = Date.now() + 30000;
    let last = '';
    for (;;) {
      try {
        const r = await request(`${cluster.url}/write?precision=ms`, { method: 'POST', body: `clusterbrowser value=${v} ${ts}`, agent });
        if (r.status === 204) break;
        last = `${r.status} ${r.body}`;
      } catch (e) {
        last = e.message;
      }
      if (Date.now() > end || stopping) throw new Error(`write of ${v} not acknowledged within 30 s: ${last}`);
      retries++;
      await sleep(100);
    }
    written.push({ t: ts, v });
  };
  const nodeStreams = async () =>
    Object.fromEntries(
      await Promise.all(NODES.map(async (n) => {
        try {
          return [n, (await getJson(cluster.nodeUrl(n) + '/healthz')).streams];
        } catch {
          return [n, null]; // down
        }
      })),
    );

  // The tag, with a first value, known on every node before the page asks for it.
  await write(1);
  for (const n of NODES)
    await until(`${n} to list ${tag}`, async () => {
      const j = await getJson(`${cluster.nodeUrl(n)}/api/tags?q=${tag}`);
      return j.tags.some((x) => x.name === tag && x.value === 1);
    }, 30000);

  tlsBrowser = await chromium.launch({ executablePath: env.CHROMIUM || '/usr/bin/chromium', args: [...CHROMIUM_ARGS, '--ignore-certificate-errors'] });
  const page = await openPage(t, `${cluster.url}/#/?ov=0&p=raw~15m~${tag}`, { origin: cluster.url, via: tlsBrowser });
  await waitLive(page, 30000);
  const protocol = await ev(page, () => performance.getEntriesByType('navigation')[0].nextHopProtocol);
  assert(protocol === 'h2', 'the page came over HTTP/2: ' + protocol);

  writing = true;
  writer = (async () => {
    while (writing) {
      await write(written.length + 1);
      await sleep(100); // the pace of the writes, not a wait for anything
    }
  })();
  await until('live values on the chart', async () => (await points(page, 0, tag)).filter((p) => p.v > 1).length >= 10, 30000);

  // The node holding the page's (one) stream.
  const holder = await until('one node holding the stream', async () => {
    const s = await nodeStreams();
    const on = NODES.filter((n) => s[n] > 0);
    return on.length === 1 && s[on[0]] === 1 ? on[0] : false;
  });
  const pid = cluster.services[holder].pid;
  const connectsBefore = await ev(page, () => window.__tagstream.stream.connects);
  // The page's next stream request is held until five more values have
  // been written, so that the resume (not a snapshot, which carries only
  // the latest value) must bring the values written while it had no stream.
  let writtenBeforeKill = Infinity;
  let writtenAtResume = null;
  await page.route(/\/api\/sse\/stream/, async (route) => {
    await until('five values written since the kill', () => written.length >= writtenBeforeKill + 5, 30000, 20).catch(() => {});
    writtenAtResume ??= written.length;
    await route.continue().catch(() => {}); // (the page may be gone when the test fails)
  });
  writtenBeforeKill = written.length;
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  await until(`${holder} (pid ${pid}) gone`, () => !running(pid), 10000, 50);

  // The page reconnects by itself, through nginx, to a survivor.
  await until('the page live again on a new stream', () =>
    ev(page, (n) => window.__tagstream.stream.connects > n && window.__tagstream.stream.mode === 'live', connectsBefore), 30000, 100);
  const resumedMs = Date.now() - killedAt;
  const survivor = await until('a survivor holding the stream', async () => {
    const s = await nodeStreams();
    const on = NODES.filter((n) => s[n] > 0);
    return s[holder] === null && on.length === 1 && s[on[0]] === 1 ? on[0] : false;
  });
  assert(writtenAtResume - writtenBeforeKill >= 5, `values written while the page had no stream: ${writtenAtResume - writtenBeforeKill}`);
  await until('new values after the resume', async () => (await points(page, 0, tag)).filter((p) => p.v > writtenAtResume).length >= 10, 30000);
  writing = false;
  await writer;
  const last = written.at(-1);
  await until('the last value written on the chart', async () => (await points(page, 0, tag)).some((p) => p.t === last.t), 15000);

  // The stream itself (every data event of every EventSource the page
  // opened) carried every value written exactly once, in order: the first
  // as the snapshot, the rest live, those around the kill by the resume.
  const streamed = await ev(page, (tag) =>
    window.__es.data.flatMap((e) => JSON.parse(e.data).points.filter((p) => p.tag === tag).map((p) => ({ t: p.t, v: p.v }))), tag);
  compareWritten(written, streamed, 'the stream');
  // And the chart holds exactly them.
  compareWritten(written, (await points(page, 0, tag)).map((p) => ({ t: p.t, v: p.v })), 'the chart');
  const st = await ev(page, () => ({
    errors: window.__tagstream.stream.errors.map((e) => e.code),
    gaps: window.__tagstream.app.gaps.map((g) => g.reason),
    mode: window.__tagstream.stream.mode,
    created: window.__es.created,
    open: window.__es.open,
  }));
  assert(st.errors.length === 0 && st.gaps.length === 0, 'no history_lost, no refetched gap: ' + JSON.stringify(st));
  assert(st.mode === 'live' && st.open === 1, 'one stream, live: ' + JSON.stringify(st));
  const streams = t.requests.filter((u) => u.includes('/api/sse/stream'));
  assert(streams.length >= 2 && streams.slice(1).every((u) => /[?&]lastEventId=\d+/.test(u)), 'resumed with lastEventId: ' + streams.join(' '));
  assert(written.length - writtenBeforeKill >= 10, `values written after the kill: ${written.length - writtenBeforeKill}`);
  assertNoPageErrors(t);
  assertSameOrigin(t);
  await page.screenshot({ path: path.join(ARTIFACTS, 'cluster-after-kill.png') });
  console.log(`    ${written.length} values through nginx (${retries} write retries); the stream on ${holder} killed, ` +
    `live again on ${survivor} ${resumedMs} ms later, resuming ${writtenAtResume - writtenBeforeKill} values written meanwhile; ` +
    `${streamed.length} points streamed, none missing, none twice`);

  // Everything stops: no process, no port, no directory left.
  writing = false;
  await t.context.close();
  t.context = null;
  t.page = null;
  await tlsBrowser.close();
  tlsBrowser = null;
  await cluster.stop();
  const left = await cluster.leftovers();
  assert(left.length === 0, 'left behind: ' + left.join('; '));
}, 180000);

// --- runner ---

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function safeName(s) {
  return s.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80);
}

async function main() {
  // Playwright gives every launch a fresh temporary profile (user data dir).
  browser = await chromium.launch({ executablePath: env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS });
  let passed = 0;
  let failed = 0;
  for (const tc of tests) {
    if (ONLY && !tc.name.includes(ONLY)) continue;
    const t = {};
    const started = Date.now();
    let error = null;
    try {
      await Promise.race([
        tc.fn(t),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`test timed out after ${tc.timeout} ms`)), tc.timeout)),
      ]);
    } catch (e) {
      error = e;
    }
    if (t.page) {
      try {
        await t.page.screenshot({ path: path.join(ARTIFACTS, safeName(tc.name) + '.png') });
      } catch {
        /* page gone */
      }
    }
    try {
      await t.context?.close();
      await t.cleanup?.();
    } catch {
      /* ignore */
    }
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    if (error) {
      failed++;
      console.log(`FAIL ${tc.name} (${secs} s)\n    ${String(error.stack || error).split('\n').slice(0, 4).join('\n    ')}`);
      if (t.consoleErrors?.length) console.log('    console errors: ' + t.consoleErrors.slice(0, 5).join(' | '));
    } else {
      passed++;
      console.log(`ok   ${tc.name} (${secs} s)`);
    }
  }
  await browser.close();
  await stopAuthServer().catch((e) => console.log('    stopping the server with authentication: ' + e.message));
  console.log(`browser tests: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.log('browser tests: runner error: ' + (e.stack || e));
  console.log('browser tests: 0 passed, 1 failed');
  process.exit(1);
});
