// A tab's share of the one stream every tab of the dashboard uses
// (stream_worker.ts): an EventSource-like object for StreamManager, fed by
// the SharedWorker. Where SharedWorker is missing (or ?share=0), each tab
// opens its own EventSource, as a page always could.
import type { EventSourceLike, SourceFactory } from './stream';

type Listener = (e: Event) => void;

interface WorkerMessage {
  id: number;
  type: string;
  data?: string;
  lastEventId?: string;
  transport?: boolean;
  readyState?: number;
}

class SharedSource implements EventSourceLike {
  readyState = 0;
  private listeners = new Map<string, Listener[]>();

  constructor(
    private hub: SharedHub,
    readonly id: number,
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

class SharedHub {
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
    const s = new SharedSource(this, this.nextId++);
    this.sources.set(s.id, s);
    this.port.postMessage({ op: 'open', id: s.id, url });
    return s;
  }

  close(s: SharedSource) {
    if (!this.sources.delete(s.id)) return;
    this.port.postMessage({ op: 'close', id: s.id });
  }
}

/** Whether this page shares one stream with the dashboard's other tabs. */
export let streamShared = false;

export function sourceFactory(): SourceFactory {
  const wanted = new URLSearchParams(location.search).get('share') !== '0';
  if (wanted && typeof SharedWorker !== 'undefined') {
    try {
      const worker = new SharedWorker(new URL('./stream_worker.ts', import.meta.url), {
        type: 'module',
        name: 'tagstream-stream',
      });
      const hub = new SharedHub(worker);
      streamShared = true;
      return (url) => hub.open(url);
    } catch (e) {
      console.warn('shared stream unavailable, one stream for this tab:', e);
    }
  }
  return (url) => new EventSource(url);
}
