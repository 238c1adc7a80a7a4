// The one stream behind every tab of the dashboard: the tabs' streams (each
// a SharedSource, see shared_stream.ts) become one real EventSource for the
// union of their tags, and every event goes to the tabs it concerns:
// - `data`: each tab gets the points of its own tags, with the event's id;
// - `connected`, `heartbeat`, the server's `error` events (history_lost,
//   token_expired): every tab, so each handles its own gap and session;
// - a transport error: every tab, whose manager then reconnects with its
//   own backoff; the first tab back reopens the real stream, resuming after
//   the last id the hub received, so no tab misses a change.
// A tab joining or leaving changes the union: the stream is reopened,
// resuming, for the new set. The hub runs in a SharedWorker
// (stream_worker.ts) or, where there is none, in the leader tab
// (shared_stream.ts).
import { parseStreamUrl, tagMatcher, type TabSpec, unionSpec, unionUrl } from './share_plan';

/** Where a tab's messages go: a MessagePort, or a BroadcastChannel addressed to the tab. */
export interface TabPort {
  postMessage(message: unknown): void;
}

/** A tab's message to the hub. */
export interface HubRequest {
  op: 'open' | 'close' | 'bye';
  id: number;
  url?: string;
}

interface Sub {
  port: TabPort;
  tab: string;
  id: number;
  spec: TabSpec;
  match: (name: string) => boolean;
}

export class StreamHub {
  private subs = new Map<string, Sub>();
  private es: EventSource | null = null;
  private esKey = '';
  private connected = false;
  private info: any = null;
  private lastEventId: string | null = null;
  private reconcileQueued = false;

  /** Streams open on the server by this hub (for tests). */
  opened = 0;

  /** A message from tab `tab` (an id unique among the hub's tabs) reaching it through `port`. */
  message(port: TabPort, tab: string, m: HubRequest) {
    const key = tab + ':' + m.id;
    if (m.op === 'open' && m.url) {
      const spec = parseStreamUrl(m.url);
      const sub: Sub = { port, tab, id: m.id, spec, match: tagMatcher(spec.tags) };
      this.subs.set(key, sub);
      const union = unionSpec([...this.subs.values()].map((s) => s.spec));
      if (this.es && this.connected && union && unionUrl(union, null) === this.esKey)
        this.send(sub, { type: 'connected', data: this.connectedFor(sub) });
      else this.schedule();
    } else if (m.op === 'close') {
      if (this.subs.delete(key)) this.schedule();
    } else if (m.op === 'bye') {
      for (const [k, s] of this.subs) if (s.tab === tab) this.subs.delete(k);
      this.schedule();
    }
  }

  private send(sub: Sub, msg: Record<string, unknown>) {
    sub.port.postMessage({ id: sub.id, ...msg });
  }

  private connectedFor(sub: Sub): string {
    if (!this.info) return '{}';
    return JSON.stringify({ ...this.info, tags: (this.info.tags || []).filter((t: { name: string }) => sub.match(t.name)) });
  }

  private closeReal() {
    if (this.es) this.es.close();
    this.es = null;
    this.esKey = '';
    this.connected = false;
  }

  private schedule() {
    if (this.reconcileQueued) return;
    this.reconcileQueued = true;
    // Tabs that open and close in the same turn (a spec change) cost one reopen.
    setTimeout(() => this.reconcile(), 0);
  }

  private reconcile() {
    this.reconcileQueued = false;
    const union = unionSpec([...this.subs.values()].map((s) => s.spec));
    if (!union) {
      this.closeReal();
      return;
    }
    const key = unionUrl(union, null);
    if (this.es && key === this.esKey) return;
    this.closeReal();
    if (!this.lastEventId) {
      // A fresh hub: resume where a tab says it was, if one does.
      for (const s of this.subs.values()) if (s.spec.lastEventId) this.lastEventId = s.spec.lastEventId;
    }
    const source = new EventSource(unionUrl(union, this.lastEventId));
    this.opened++;
    this.es = source;
    this.esKey = key;
    source.addEventListener('connected', (e) => {
      if (this.es !== source) return;
      try {
        this.info = JSON.parse((e as MessageEvent).data);
      } catch {
        this.info = null;
      }
      this.connected = true;
      for (const s of this.subs.values()) this.send(s, { type: 'connected', data: this.connectedFor(s) });
    });
    source.addEventListener('data', (e) => {
      if (this.es !== source) return;
      const me = e as MessageEvent;
      if (me.lastEventId) this.lastEventId = me.lastEventId;
      let msg: { interval: string; points: { tag: string }[] };
      try {
        msg = JSON.parse(me.data);
      } catch {
        return;
      }
      for (const s of this.subs.values()) {
        const points = (msg.points || []).filter((p) => s.match(p.tag));
        if (points.length > 0)
          this.send(s, { type: 'data', data: JSON.stringify({ interval: msg.interval, points }), lastEventId: me.lastEventId });
      }
    });
    source.addEventListener('heartbeat', (e) => {
      if (this.es !== source) return;
      for (const s of this.subs.values()) this.send(s, { type: 'heartbeat', data: (e as MessageEvent).data });
    });
    source.addEventListener('error', (e) => {
      if (this.es !== source) return;
      const me = e as MessageEvent;
      if (typeof me.data === 'string' && me.data.length > 0) {
        for (const s of this.subs.values()) this.send(s, { type: 'error', data: me.data });
        return;
      }
      // The connection failed or closed: the tabs reconnect on their own
      // schedule; the first one back reopens it.
      const refused = source.readyState === 2;
      this.closeReal();
      const dropped = [...this.subs.values()];
      this.subs.clear();
      for (const s of dropped) this.send(s, { type: 'error', transport: true, readyState: refused ? 2 : 0 });
    });
  }
}
