// The SharedWorker that holds the one stream for every tab of the dashboard
// (HTTP/1.1 allows six connections per origin: a seventh tab with its own
// stream would wait forever). Each tab's StreamManager keeps its own logic
// (backoff, watchdog, polling fallback, gaps) and talks to a SharedSource
// (shared_stream.ts) as if it were an EventSource; here the tabs' sources
// become one real EventSource for the union of their tags, and every event
// goes to the tabs it concerns:
// - `data`: each tab gets the points of its own tags, with the event's id;
// - `connected`, `heartbeat`, the server's `error` events (history_lost,
//   token_expired): every tab, so each handles its own gap and session;
// - a transport error: every tab, whose manager then reconnects with its
//   own backoff; the first tab back reopens the real stream, resuming after
//   the last id this worker received, so no tab misses a change.
// A tab joining or leaving changes the union: the stream is reopened,
// resuming, for the new set.
import { parseStreamUrl, tagMatcher, type TabSpec, unionSpec, unionUrl } from './share_plan';

interface Sub {
  port: MessagePort;
  id: number;
  spec: TabSpec;
  match: (name: string) => boolean;
}

const subs = new Map<string, Sub>();
const ports = new Map<MessagePort, number>();
let nextPort = 0;
let es: EventSource | null = null;
let esKey = '';
let connected = false;
let info: any = null;
let lastEventId: string | null = null;
let reconcileQueued = false;

function send(sub: Sub, msg: Record<string, unknown>) {
  sub.port.postMessage({ id: sub.id, ...msg });
}

function connectedFor(sub: Sub): string {
  if (!info) return '{}';
  return JSON.stringify({ ...info, tags: (info.tags || []).filter((t: { name: string }) => sub.match(t.name)) });
}

function closeReal() {
  if (es) es.close();
  es = null;
  esKey = '';
  connected = false;
}

function reconcile() {
  reconcileQueued = false;
  const union = unionSpec([...subs.values()].map((s) => s.spec));
  if (!union) {
    closeReal();
    return;
  }
  const key = unionUrl(union, null);
  if (es && key === esKey) return;
  closeReal();
  if (!lastEventId) {
    // A fresh worker: resume where a tab says it was, if one does.
    for (const s of subs.values()) if (s.spec.lastEventId) lastEventId = s.spec.lastEventId;
  }
  const source = new EventSource(unionUrl(union, lastEventId));
  es = source;
  esKey = key;
  source.addEventListener('connected', (e) => {
    if (es !== source) return;
    try {
      info = JSON.parse((e as MessageEvent).data);
    } catch {
      info = null;
    }
    connected = true;
    for (const s of subs.values()) send(s, { type: 'connected', data: connectedFor(s) });
  });
  source.addEventListener('data', (e) => {
    if (es !== source) return;
    const me = e as MessageEvent;
    if (me.lastEventId) lastEventId = me.lastEventId;
    let msg: { interval: string; points: { tag: string }[] };
    try {
      msg = JSON.parse(me.data);
    } catch {
      return;
    }
    for (const s of subs.values()) {
      const points = (msg.points || []).filter((p) => s.match(p.tag));
      if (points.length > 0)
        send(s, { type: 'data', data: JSON.stringify({ interval: msg.interval, points }), lastEventId: me.lastEventId });
    }
  });
  source.addEventListener('heartbeat', (e) => {
    if (es !== source) return;
    for (const s of subs.values()) send(s, { type: 'heartbeat', data: (e as MessageEvent).data });
  });
  source.addEventListener('error', (e) => {
    if (es !== source) return;
    const me = e as MessageEvent;
    if (typeof me.data === 'string' && me.data.length > 0) {
      for (const s of subs.values()) send(s, { type: 'error', data: me.data });
      return;
    }
    // The connection failed or closed: the tabs reconnect on their own
    // schedule; the first one back reopens it.
    const refused = source.readyState === 2;
    closeReal();
    const dropped = [...subs.values()];
    subs.clear();
    for (const s of dropped) send(s, { type: 'error', transport: true, readyState: refused ? 2 : 0 });
  });
}

function schedule() {
  if (reconcileQueued) return;
  reconcileQueued = true;
  // Tabs that open and close in the same turn (a spec change) cost one reopen.
  setTimeout(reconcile, 0);
}

function onMessage(port: MessagePort, portId: number, m: { op: string; id: number; url?: string }) {
  const key = portId + ':' + m.id;
  if (m.op === 'open' && m.url) {
    const spec = parseStreamUrl(m.url);
    const sub: Sub = { port, id: m.id, spec, match: tagMatcher(spec.tags) };
    subs.set(key, sub);
    const union = unionSpec([...subs.values()].map((s) => s.spec));
    if (es && connected && union && unionUrl(union, null) === esKey) send(sub, { type: 'connected', data: connectedFor(sub) });
    else schedule();
  } else if (m.op === 'close') {
    if (subs.delete(key)) schedule();
  } else if (m.op === 'bye') {
    for (const [k, s] of subs) if (s.port === port) subs.delete(k);
    ports.delete(port);
    schedule();
  }
}

(self as unknown as { onconnect: (e: MessageEvent) => void }).onconnect = (e: MessageEvent) => {
  const port = e.ports[0];
  const portId = nextPort++;
  ports.set(port, portId);
  port.onmessage = (ev) => onMessage(port, portId, ev.data);
  port.start();
};
