// Dashboard load benchmark: 4 panels and the live overview of 50 tags
// updating at 10 Hz, in Debian's chromium. Measures the page's main-thread
// busy time (CDP Performance.getMetrics TaskDuration), long tasks and long
// animation frames from the performance timeline, and frame gaps.
//
//   bench/dashboard/run.sh [--seconds N]
//
// The server runs the simulator at 10 Hz (25 tags) and this script writes
// 25 more tags at 10 Hz with line protocol (POST /write), on loopback.
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const { chromium } = await import(path.join(root, 'tests/browser/node_modules/playwright-core/index.mjs'));

const PORT = Number(process.env.TAGSTREAM_PORT);
const BASE = `http://127.0.0.1:${PORT}`;
const SECONDS = Number(process.env.BENCH_SECONDS || 20);
const WARMUP = 5;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// 25 extra tags at 10 Hz: bench.m00 ... bench.m24 (measurement bench, field mNN).
let writing = true;
let writes = 0;
let writeErrors = 0;
async function writer() {
  let k = 0;
  let next = Date.now();
  while (writing) {
    const ts = Date.now();
    const lines = [];
    for (let i = 0; i < 25; i++) {
      const v = 50 + 20 * Math.sin((k / 50) + i) + Math.random();
      lines.push(`bench,unit=u m${String(i).padStart(2, '0')}=${v.toFixed(3)} ${ts}`);
    }
    k++;
    try {
      const r = await fetch(`${BASE}/write?precision=ms`, { method: 'POST', body: lines.join('\n') });
      if (r.status !== 204) writeErrors++;
      writes++;
    } catch {
      writeErrors++;
    }
    next += 100;
    await sleep(Math.max(0, next - Date.now()));
  }
}

const w = writer();
await sleep(1500); // the bench tags exist once written

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
const panels = [
  'raw~15m~boiler1.temperature,boiler2.temperature,tank1.level,bench.m00',
  'raw~15m~pump1.flow,pump2.flow,line1.flow,bench.m01,bench.m02',
  'second~15m~power.total,compressor1.current,bench.m03,bench.m04',
  'minute~1h~ambient.temperature,boiler1.pressure,bench.m05,bench.m06',
];
await page.goto(`${BASE}/#/?${panels.map((p) => 'p=' + p).join('&')}`);
await page.waitForFunction(() => window.__tagstream?.stream?.mode === 'live', null, { timeout: 20000 });
await page.waitForFunction(() => window.__tagstream.panels.every((p) => p.history === 'ready'), null, { timeout: 20000 });
const nTags = await page.evaluate(() => window.__tagstream.overview.rows.size);

await page.evaluate(() => {
  const b = (window.__bench = { gaps: [], longTasks: [], loafs: [] });
  let last = performance.now();
  const loop = (t) => {
    b.gaps.push(t - last);
    last = t;
    if (!b.stop) requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
  try {
    new PerformanceObserver((l) => l.getEntries().forEach((e) => b.longTasks.push(e.duration))).observe({ type: 'longtask', buffered: false });
  } catch {}
  try {
    new PerformanceObserver((l) => l.getEntries().forEach((e) => b.loafs.push(e.duration))).observe({ type: 'long-animation-frame', buffered: false });
  } catch {}
});

const cdp = await page.context().newCDPSession(page);
await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
await sleep(WARMUP * 1000);
const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
const counters = () =>
  page.evaluate(() => ({
    points: window.__tagstream.app.points,
    dataEvents: window.__tagstream.app.dataEvents,
    redraws: window.__tagstream.panels.reduce((a, p) => a + p.redraws, 0),
    overviewRenders: window.__tagstream.overview.renders,
  }));
await page.evaluate(() => {
  window.__bench.gaps = [];
  window.__bench.longTasks = [];
  window.__bench.loafs = [];
});
const m0 = await metrics();
const c0 = await counters();
const t0 = Date.now();
await sleep(SECONDS * 1000);
const m1 = await metrics();
const c1 = await counters();
const wall = (Date.now() - t0) / 1000;
const b = await page.evaluate(() => window.__bench);

writing = false;
await w;
await browser.close();

const busy = (m1.TaskDuration - m0.TaskDuration) / wall;
const script = (m1.ScriptDuration - m0.ScriptDuration) / wall;
const layout = (m1.LayoutDuration - m0.LayoutDuration + m1.RecalcStyleDuration - m0.RecalcStyleDuration) / wall;
const gaps = b.gaps.slice(1);
const frames = gaps.length;
const dropped = gaps.reduce((a, g) => a + Math.max(0, Math.round(g / (1000 / 60)) - 1), 0);
const sorted = [...gaps].sort((x, y) => x - y);
const pct = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0);
const result = {
  scenario: `${nTags} tags in the overview, 4 panels, 50 tags at 10 Hz`,
  seconds: +wall.toFixed(1),
  pointsPerSecond: +((c1.points - c0.points) / wall).toFixed(0),
  dataEventsPerSecond: +((c1.dataEvents - c0.dataEvents) / wall).toFixed(1),
  chartRedrawsPerSecond: +((c1.redraws - c0.redraws) / wall).toFixed(1),
  overviewPaintsPerSecond: +((c1.overviewRenders - c0.overviewRenders) / wall).toFixed(1),
  mainThreadBusyPercent: +(busy * 100).toFixed(1),
  scriptPercent: +(script * 100).toFixed(1),
  styleLayoutPercent: +(layout * 100).toFixed(1),
  frames,
  droppedFrames: dropped,
  frameGapP50ms: +pct(0.5).toFixed(1),
  frameGapP99ms: +pct(0.99).toFixed(1),
  longTasks: b.longTasks.length,
  longAnimationFrames: b.loafs.length,
  writes,
  writeErrors,
};
console.log(JSON.stringify(result, null, 2));
if (process.env.BENCH_OUT) fs.writeFileSync(process.env.BENCH_OUT, JSON.stringify(result, null, 2) + '\n');
const limit = Number(process.env.BENCH_MAX_BUSY || 10);
console.log(`dashboard bench: main thread ${result.mainThreadBusyPercent}% busy (limit ${limit}%), ${dropped} dropped frames of ${frames + dropped}`);
process.exit(result.mainThreadBusyPercent <= limit ? 0 : 1);
