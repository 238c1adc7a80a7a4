// Dashboard at plant scale (issue 17): for each plant size (BENCH_TAGS,
// default 1000,10000,100000), a server of its own with every tag written
// once a second by line protocol (tests/browser/plant.mjs), and the
// dashboard in Debian's chromium (1400x900): the overview open and
// scrolled to the middle (and moved on every few seconds, as an operator
// does), 4 trend panels beside it. Measures, after the first render:
// main-thread busy time (CDP Performance TaskDuration), long tasks and their
// longest, dropped frames (requestAnimationFrame gaps), the JS heap; and
// the first render (navigation to live values in the overview).
//
//   bench/dashboard/run.sh            (make bench-dashboard)
//   BENCH_TAGS=100000 BENCH_SECONDS=30 bench/dashboard/run.sh
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const { chromium } = await import(path.join(root, 'tests/browser/node_modules/playwright-core/index.mjs'));
const { startPlant } = await import(path.join(root, 'tests/browser/plant.mjs'));

const BIN = process.env.TAGSTREAM_BIN || path.join(root, 'build/tagstream');
const WEB = process.env.TAGSTREAM_WEB_ROOT || path.join(root, 'web/dist');
const SIZES = (process.env.BENCH_TAGS || '1000,10000,100000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS || 20);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Opens the dashboard on `page`; returns its first render (ms from navigation to live values in the overview). */
async function openDashboard(page, base, panels) {
  await page.addInitScript(() => {
    const b = (window.__bench = { gaps: [], longTasks: [], loafs: [], firstRender: 0 });
    let last = 0;
    const loop = (t) => {
      if (last) b.gaps.push(t - last);
      last = t;
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
    new PerformanceObserver((l) => l.getEntries().forEach((e) => b.longTasks.push({ at: e.startTime, d: e.duration }))).observe({
      type: 'longtask',
      buffered: true,
    });
    // Long animation frames say how much of a long frame was this page's
    // script (a frame can be long on a loaded machine with no script in it).
    new PerformanceObserver((l) =>
      l.getEntries().forEach((e) => b.loafs.push({ at: e.startTime, d: e.duration, script: e.scripts.reduce((a, s) => a + s.duration, 0) })),
    ).observe({ type: 'long-animation-frame', buffered: true });
  });
  await page.goto(`${base}/#/?${panels.map((p) => 'p=' + p).join('&')}`);
  const at = await page.waitForFunction(
    () => {
      const ts = window.__tagstream;
      // (`rows.size`: the dashboard before issue 17, for comparison with TAGSTREAM_WEB_ROOT.)
      const rows = ts?.overview ? (ts.overview.domRows ?? ts.overview.rows?.size ?? 0) : 0;
      const ok = ts?.stream?.mode === 'live' && rows > 0 && document.querySelectorAll('#tags tbody tr.q-good').length > 0;
      if (ok && !window.__bench.firstRender) window.__bench.firstRender = performance.now();
      return ok ? window.__bench.firstRender : false;
    },
    null,
    { timeout: 60000, polling: 'raf' },
  );
  return Math.round(await at.jsonValue());
}

async function run(tags, tmp) {
  const plant = await startPlant({ bin: BIN, webRoot: WEB, dir: path.join(tmp, String(tags)), tags, updating: tags });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--enable-precise-memory-info'],
  });
  try {
    const unit = (u) => Array.from({ length: 4 }, (_, k) => `site.area1.unit${u}.t${k + 1}`).join(',');
    const panels = [`raw~15m~${unit(1)}`, `raw~15m~${unit(2)}`, `second~15m~${unit(3)}`, `minute~1h~${unit(4)}`];
    // The first render is the median of three page loads (the first in a
    // fresh browser); the last page is then measured.
    const firstRenders = [];
    let page;
    for (let load = 0; load < 3; load++) {
      if (page) await page.close();
      page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      firstRenders.push(await openDashboard(page, plant.base, panels));
    }
    const firstRenderMs = [...firstRenders].sort((a, b) => a - b)[1];
    await page.waitForFunction(() => window.__tagstream.panels.every((p) => p.history === 'ready'), null, { timeout: 60000 });
    // Scrolled to the middle.
    await page.$eval('.table-wrap', (el) => (el.scrollTop = el.scrollHeight / 2));
    await sleep(2000);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
    const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
    const since = await page.evaluate(() => {
      window.__bench.gaps = [];
      return performance.now();
    });
    const m0 = await metrics();
    const c0 = await page.evaluate(() => ({ points: window.__tagstream.app.points, updates: window.__tagstream.overview.updates }));
    const t0 = Date.now();
    // The operator moves on every few seconds: the stream follows the view.
    for (let s = 0; s < SECONDS; s += 5) {
      await sleep(Math.min(5, SECONDS - s) * 1000);
      await page.$eval('.table-wrap', (el) => (el.scrollTop += 40 * 26));
    }
    const m1 = await metrics();
    const wall = (Date.now() - t0) / 1000;
    const b = await page.evaluate(() => window.__bench);
    const c1 = await page.evaluate(() => ({
      points: window.__tagstream.app.points,
      updates: window.__tagstream.overview.updates,
      rows: document.querySelectorAll('#tags tbody tr').length,
      streamTags: window.__tagstream.stream.spec?.tags.length ?? 0,
    }));
    const gaps = b.gaps;
    const dropped = gaps.reduce((a, g) => a + Math.max(0, Math.round(g / (1000 / 60)) - 1), 0);
    const after = b.longTasks.filter((l) => l.at > b.firstRender);
    const during = b.longTasks.filter((l) => l.at >= since);
    return {
      tags,
      updatingPerSecond: tags,
      firstRenderMs,
      firstRenderLoadsMs: firstRenders,
      mainThreadBusyPercent: +(((m1.TaskDuration - m0.TaskDuration) / wall) * 100).toFixed(1),
      scriptPercent: +(((m1.ScriptDuration - m0.ScriptDuration) / wall) * 100).toFixed(1),
      longTasksMeasured: during.length,
      longTasksAfterFirstRender: after.length,
      longestTaskAfterFirstRenderMs: Math.round(Math.max(0, ...after.map((l) => l.d))),
      longestScriptInAFrameAfterFirstRenderMs: Math.round(Math.max(0, ...b.loafs.filter((l) => l.at > b.firstRender).map((l) => l.script))),
      frames: gaps.length,
      droppedFrames: dropped,
      jsHeapMB: +(m1.JSHeapUsedSize / 1048576).toFixed(1),
      domRows: c1.rows,
      streamTags: c1.streamTags,
      pointsPerSecond: +((c1.points - c0.points) / wall).toFixed(0),
      seconds: +wall.toFixed(1),
    };
  } finally {
    await browser.close();
    await plant.stop();
  }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tagstream-dashbench-'));
const results = [];
try {
  for (const n of SIZES) {
    const r = await run(n, tmp);
    console.log(JSON.stringify(r));
    results.push(r);
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
if (process.env.BENCH_OUT) fs.writeFileSync(process.env.BENCH_OUT, JSON.stringify(results, null, 2) + '\n');
const limit = Number(process.env.BENCH_MAX_BUSY || 10);
let ok = true;
for (const r of results) {
  const fine = r.mainThreadBusyPercent < limit && r.longestTaskAfterFirstRenderMs <= 100 && r.firstRenderMs < 1000 && r.jsHeapMB < 200;
  ok &&= fine;
  console.log(
    `dashboard bench: ${r.tags} tags: main thread ${r.mainThreadBusyPercent}% busy, first render ${r.firstRenderMs} ms, ` +
      `longest task after it ${r.longestTaskAfterFirstRenderMs} ms (script in it at most ${r.longestScriptInAFrameAfterFirstRenderMs} ms), ` +
      `${r.droppedFrames} dropped frames, heap ${r.jsHeapMB} MB` +
      (fine ? '' : '  (over a goal)'),
  );
}
process.exit(ok ? 0 : 1);
