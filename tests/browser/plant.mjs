// A plant of many tags for the scale test (tests.mjs) and the dashboard
// benchmark (bench/dashboard): its own server, with the tags registered by
// line protocol (a line per unit of 100 tags) and the first `updating` of
// them written once a second, as a plant's Telegraf would.
//   site.area<1..>.unit<1..100>.t<1..100>
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The tag names of unit `u` (0-based) of the plant, in creation order. */
export function unitName(u) {
  return `site.area${Math.floor(u / 100) + 1}.unit${(u % 100) + 1}`;
}

function lines(units, fromUnit, toUnit, valueOf) {
  const out = [];
  for (let u = fromUnit; u < toUnit && u < units; u++) {
    const fields = [];
    for (let k = 1; k <= 100; k++) fields.push(`t${k}=${valueOf(u, k).toFixed(3)}`);
    out.push(`${unitName(u)},unit=degC ${fields.join(',')}`);
  }
  return out.join('\n');
}

async function post(base, body) {
  for (let attempt = 0; ; attempt++) {
    const r = await fetch(base + '/write', { method: 'POST', body });
    if (r.status === 204 || r.status === 200) return;
    const text = await r.text();
    if (attempt >= 20 || (r.status !== 429 && r.status !== 503)) throw new Error(`write: ${r.status} ${text}`);
    await sleep(200);
  }
}

export async function startPlant({ bin, webRoot, dir, tags = 100000, updating = 10000, args = [] }) {
  fs.mkdirSync(dir, { recursive: true });
  const logPath = path.join(dir, 'plant-server.log');
  const log = fs.openSync(logPath, 'a');
  const child = spawn(
    bin,
    ['serve', '--listen', '127.0.0.1:0', '--data-dir', path.join(dir, 'plant-data'), '--no-simulator', '--web-root', webRoot,
      '--heartbeat-interval', '5', '--max-tags', String(tags + 1000), '--max-new-tags-per-request', String(tags),
      '--max-new-tags-per-minute', String(tags * 2), ...args],
    { stdio: ['ignore', 'ignore', log] },
  );
  fs.closeSync(log);
  let port = null;
  for (let i = 0; i < 300 && !port; i++) {
    if (child.exitCode !== null) throw new Error('the plant server exited: ' + fs.readFileSync(logPath, 'utf8').slice(-500));
    const m = fs.readFileSync(logPath, 'utf8').match(/listening on 127\.0\.0\.1:(\d+)/);
    if (m) port = Number(m[1]);
    else await sleep(50);
  }
  if (!port) throw new Error('the plant server did not listen');
  const base = `http://127.0.0.1:${port}`;
  const units = Math.ceil(tags / 100);
  // Registration: every tag with a first value, 100 units (10,000 tags) a request.
  for (let u = 0; u < units; u += 100) await post(base, lines(units, u, u + 100, (uu, k) => uu + k / 100));
  const updatingUnits = Math.ceil(updating / 100);
  let tick = 0;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return; // one write at a time: a slow server is not piled on
    busy = true;
    tick++;
    try {
      await post(base, lines(updatingUnits, 0, updatingUnits, (u, k) => 50 + 10 * Math.sin(tick / 10 + u + k)));
    } catch {
      /* the test or bench sees the effect */
    } finally {
      busy = false;
    }
  }, 1000);
  return {
    base,
    pid: child.pid,
    logPath,
    firstName: `${unitName(0)}.t1`,
    lastName: `${unitName(units - 1)}.t100`,
    async stop() {
      clearInterval(timer);
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        for (let i = 0; i < 100 && child.exitCode === null; i++) await sleep(50);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
  };
}
