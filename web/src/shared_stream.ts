// A tab's share of the one stream every tab of the dashboard uses
// (stream_hub.ts): an EventSource-like object for StreamManager, fed by the
// hub. The hub runs in a SharedWorker (stream_worker.ts); where there is no
// SharedWorker (or with ?share=leader), in one tab, the leader, elected with
// a Web Lock, the others reaching it over a BroadcastChannel; when the
// leader goes, another tab takes the lock and the others reopen their
// streams through it (their managers resume as after any reconnect).
// Without either (or with ?share=0), each tab opens its own EventSource, as
// a page always could.
import type { EventSourceLike, SourceFactory } from './stream';
import { type HubRequest, StreamHub, type TabPort } from './stream_hub';

type Listener = (e: Event) => void;

interface WorkerMessage {
  id: number;
  type: string;
  data?: string;
  lastEventId?: string;
  transport?: boolean;
  readyState?: number;
}

interface Link {
  close(s: SharedSource): void;
}

class SharedSource implements EventSourceLike {
  readyState = 0;
  private listeners = new Map<string, Listener[]>();

  constructor(
    private hub: Link,
    readonly id: number,
    readonly url: string,
  ) {}

  addEventListener(type: string, listener: Listener) {
    const l = this.listeners.get(type) || [];
    l.push(listener);
    this.listeners.set(type, l);
  }

  close() {
    if (this.readyState === 2) return;
    this.readyState = 2;
    this.hub.close(this);
  }

  deliver(m: WorkerMessage) {
    if (this.readyState === 2) return;
    let event: Event;
    if (m.transport) {
      this.readyState = m.readyState ?? 0;
      event = new Event('error');
    } else {
      if (m.type === 'connected') this.readyState = 1;
      event = new MessageEvent(m.type, { data: m.data ?? '', lastEventId: m.lastEventId ?? '' });
    }
    for (const l of this.listeners.get(m.type) || []) l(event);
    if (m.transport) this.hub.close(this);
  }
}

class SharedHub implements Link {
  private port: MessagePort;
  private sources = new Map<number, SharedSource>();
  private nextId = 1;

  constructor(worker: SharedWorker) {
    this.port = worker.port;
    this.port.onmessage = (e: MessageEvent<WorkerMessage>) => this.sources.get(e.data.id)?.deliver(e.data);
    this.port.start();
    // The worker forgets this tab's sources when it goes.
    window.addEventListener('pagehide', () => this.port.postMessage({ op: 'bye' }));
  }

  open(url: string): SharedSource {
    const s = new SharedSource(this, this.nextId++, url);
    this.sources.set(s.id, s);
    this.port.postMessage({ op: 'open', id: s.id, url });
    return s;
  }

  close(s: SharedSource) {
    if (!this.sources.delete(s.id)) return;
    this.port.postMessage({ op: 'close', id: s.id });
  }
}

/**
 * The hub in a tab: whoever holds the lock runs the StreamHub; every tab,
 * the leader too, sends its requests to it and gets its events from it.
 */
class LeaderLink implements Link {
  private channel = new BroadcastChannel('tagstream-stream');
  private tab = Math.random().toString(36).slice(2) + Date.now().toString(36);
  private hub: StreamHub | null = null;
  private sources = new Map<number, SharedSource>();
  private nextId = 1;
  private localPort: TabPort = { postMessage: (m) => queueMicrotask(() => this.deliver(m as WorkerMessage)) };

  constructor() {
    this.channel.onmessage = (e: MessageEvent) => {
      const m = e.data;
      if (m.kind === 'hub' && this.hub) this.hub.message(this.portFor(m.from), m.from, m.msg);
      else if (m.kind === 'tab' && m.to === this.tab) this.deliver(m.msg);
      else if (m.kind === 'leader' && m.tab !== this.tab) this.leaderChanged();
    };
    window.addEventListener('pagehide', () => this.send({ op: 'bye', id: 0 }));
    void navigator.locks.request('tagstream-stream-leader', () => {
      this.hub = new StreamHub();
      this.channel.postMessage({ kind: 'leader', tab: this.tab });
      this.leaderChanged();
      // Held until the tab goes: then the next tab waiting takes over.
      return new Promise<void>(() => {});
    });
  }

  get isLeader(): boolean {
    return this.hub !== null;
  }

  private portFor(tab: string): TabPort {
    return { postMessage: (msg) => this.channel.postMessage({ kind: 'tab', to: tab, msg }) };
  }

  private send(msg: HubRequest) {
    if (this.hub) this.hub.message(this.localPort, this.tab, msg);
    else this.channel.postMessage({ kind: 'hub', from: this.tab, msg });
  }

  private deliver(m: WorkerMessage) {
    this.sources.get(m.id)?.deliver(m);
  }

  /**
   * A new leader: a source still waiting for its `connected` asks it again;
   * one that was live fails as after a dropped connection, and its manager
   * reconnects through the new leader, resuming after its last event.
   */
  private leaderChanged() {
    for (const s of [...this.sources.values()]) {
      if (s.readyState === 0) this.send({ op: 'open', id: s.id, url: s.url });
      else s.deliver({ id: s.id, type: 'error', transport: true, readyState: 0 });
    }
  }

  open(url: string): SharedSource {
    const s = new SharedSource(this, this.nextId++, url);
    this.sources.set(s.id, s);
    this.send({ op: 'open', id: s.id, url });
    return s;
  }

  close(s: SharedSource) {
    if (!this.sources.delete(s.id)) return;
    this.send({ op: 'close', id: s.id });
  }
}

/** How this page gets its stream: its own, a SharedWorker's, or a leader tab's. */
export let streamSharing: 'own' | 'worker' | 'leader' = 'own';
/** Whether this page shares one stream with the dashboard's other tabs. */
export let streamShared = false;
let leaderLink: LeaderLink | null = null;

/** True when this tab runs the stream for the others (leader fallback). */
export function isStreamLeader(): boolean {
  return leaderLink?.isLeader ?? false;
}

export function sourceFactory(): SourceFactory {
  const share = new URLSearchParams(location.search).get('share');
  const leaderPossible = typeof BroadcastChannel !== 'undefined' && typeof navigator.locks !== 'undefined';
  if (share === 'leader' || (share !== '0' && typeof SharedWorker === 'undefined' && leaderPossible)) {
    if (leaderPossible) {
      const link = new LeaderLink();
      leaderLink = link;
      streamShared = true;
      streamSharing = 'leader';
      return (url) => link.open(url);
    }
  }
  if (share !== '0' && share !== 'leader' && typeof SharedWorker !== 'undefined') {
    try {
      const worker = new SharedWorker(new URL('./stream_worker.ts', import.meta.url), {
        type: 'module',
        name: 'tagstream-stream',
      });
      const hub = new SharedHub(worker);
      streamShared = true;
      streamSharing = 'worker';
      return (url) => hub.open(url);
    } catch (e) {
      console.warn('shared stream unavailable, one stream for this tab:', e);
    }
  }
  return (url) => new EventSource(url);
}
