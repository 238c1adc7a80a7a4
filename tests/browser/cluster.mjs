// The cluster of the browser test of issue 18 (tests.mjs): started by
// scripts/cluster.sh --porcelain (Redis, PostgreSQL initdb'd in a temporary
// directory, three nodes, nginx with the shipped site in front), read from
// the lines it prints, stopped by SIGTERM (the script stops everything and
// removes its directory).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Whether `pid` runs (a zombie does not). */
export function running(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Whether something accepts connections on 127.0.0.1:port. */
export function listening(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.setTimeout(2000);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(true); // accepted by the kernel, not answered: still there
    });
  });
}

/**
 * Starts the cluster. `args`: more options for scripts/cluster.sh (--tls,
 * --node-arg ...). `pidfile`: where the script's pid goes, for run.sh to
 * stop it if this process dies. `artifacts`: where the logs are copied
 * before the directory goes. Resolves once every service is up.
 */
export async function startCluster({ root, buildDir, args = [], pidfile, artifacts, timeout = 120000 }) {
  const child = spawn('bash', [path.join(root, 'scripts/cluster.sh'), '--build-dir', buildDir, '--porcelain', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (pidfile) fs.writeFileSync(pidfile, String(child.pid));
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  const c = { child, url: null, tmp: null, services: {}, stopped: false, out: () => out, err: () => err };
  c.stop = async () => {
    if (c.stopped) return;
    c.stopped = true;
    if (artifacts && c.tmp && fs.existsSync(c.tmp)) {
      const dir = path.join(artifacts, 'cluster');
      fs.mkdirSync(dir, { recursive: true });
      for (const [from, to] of [['node-a.log'], ['node-b.log'], ['node-c.log'], ['nginx/error.log', 'nginx-error.log'],
        ['nginx/access.log', 'nginx-access.log'], ['redis/redis.log', 'redis.log'], ['pg/postgres.log', 'postgres.log']]) {
        try {
          fs.copyFileSync(path.join(c.tmp, from), path.join(dir, to || from));
        } catch {
          /* not there */
        }
      }
    }
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const done = await Promise.race([exited, sleep(90000).then(() => null)]);
    if (!done) {
      child.kill('SIGKILL');
      await exited;
      throw new Error('scripts/cluster.sh did not stop within 90 s of SIGTERM');
    }
    if (pidfile) fs.writeFileSync(pidfile, ''); // stopped: nothing left for run.sh
  };
  /** What is still there after stop(): the directory, processes, listening ports. */
  c.leftovers = async () => {
    const left = [];
    if (c.tmp && fs.existsSync(c.tmp)) left.push(`${c.tmp} still exists`);
    for (const [name, s] of Object.entries(c.services)) {
      if (s.pid && running(s.pid)) left.push(`${name} (pid ${s.pid}) still runs`);
      if (await listening(s.port)) left.push(`${name}'s port ${s.port} still accepts connections`);
    }
    return left;
  };
  c.nodeUrl = (name) => `http://127.0.0.1:${c.services[name].port}`;

  const end = Date.now() + timeout;
  while (!/^ready$/m.test(out)) {
    if (child.exitCode !== null || child.signalCode !== null) {
      if (pidfile) fs.writeFileSync(pidfile, '');
      throw new Error(`scripts/cluster.sh exited (${child.exitCode ?? child.signalCode}) before it was up: ${err.trim().slice(-1500)}`);
    }
    if (Date.now() > end) {
      await c.stop().catch(() => {});
      throw new Error(`scripts/cluster.sh not up within ${timeout} ms: ${out.slice(-500)} ${err.slice(-1000)}`);
    }
    await sleep(100);
  }
  for (const line of out.split('\n')) {
    const [key, ...rest] = line.trim().split(' ');
    if (key === 'url') c.url = rest[0];
    else if (key === 'tmp') c.tmp = rest[0];
    else if (key === 'service') c.services[rest[0]] = { port: Number(rest[1]), pid: Number(rest[2]) || null };
  }
  return c;
}
