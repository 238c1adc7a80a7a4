// One live connection per page: an EventSource on /api/sse/stream for the
// union of the tags the page shows, with
// - reconnects with exponential backoff and jitter, resuming after the last
//   event id (the `lastEventId` query parameter: a new EventSource does not
//   send Last-Event-ID by itself);
// - a watchdog: no event and no heartbeat for twice the heartbeat interval
//   means the stream is dead (a proxy or a dropped network can leave it open
//   and silent), and an attempt with no `connected` event within
//   connectTimeout has failed (a proxy that hangs or buffers);
// - after maxReconnectAttempts consecutive failed attempts, polling of
//   /api/data/latest with If-None-Match, while SSE is retried in the
//   background now and then; back to SSE as soon as an attempt connects;
// - with authentication on, a `token_expired` (or `unauthorized`) error
//   event ends the session: the stream stops for good (no reconnect, which
//   would only be refused) until the page signs in again.
import { config, DEFAULT_MAX_RECONNECT } from './config';
import { fetchLatest, tagsQuery } from './api';
import { session, sessionEndOf } from './session';
import type { ConnectedInfo, Interval, StreamPoint } from './types';

export type StreamMode = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'polling' | 'offline' | 'signedout';

export interface StreamSpec {
  tags: string[];
  interval: Interval;
  /** The display rate: ms between events (the stream's coalescing window); unset: the server's. */
  rate?: number;
}

/** What the manager needs of an EventSource: a real one, or a tab's share of one (shared_stream.ts). */
export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(type: string, listener: (e: Event) => void): void;
  close(): void;
}

export type SourceFactory = (url: string) => EventSourceLike;

/** EventSource.CLOSED, also where EventSource is not defined (tests). */
const CLOSED = 2;

export interface StreamHandlers {
  onConnected(info: ConnectedInfo): void;
  /** Points of a `data` event or of a poll. */
  onData(interval: Interval, points: StreamPoint[], polled: boolean): void;
  /** history_lost: the changes after `sinceMs` (wall clock) may be missing: refetch them. */
  onGap(sinceMs: number, reason: string): void;
  onStatus(): void;
  /**
   * An attempt was refused (an HTTP error, not a dropped connection): with
   * authentication on, the credential may be gone (the page asks
   * GET /api/auth). The stream goes on retrying meanwhile.
   */
  onRefused?(): void;
}

function specKey(s: StreamSpec | null): string {
  return s ? s.interval + '|' + (s.rate ?? '') + '|' + s.tags.join(',') : '';
}

export class StreamManager {
  spec: StreamSpec | null = null;
  mode: StreamMode = 'idle';
  es: EventSourceLike | null = null;
  /** The id of the last `data` event received: where a new stream resumes. */
  lastEventId: string | null = null;
  info: ConnectedInfo | null = null;
  /** Consecutive attempts that ended without a `connected` event. */
  failures = 0;
  reconnectAt = 0;
  lastEventAt = 0;
  lastHeartbeatAt = 0;
  lastDataAt = 0;
  lastPollAt = 0;
  pollFailures = 0;
  /** Counters, for the status page and tests. */
  opened = 0;
  connects = 0;
  events = 0;
  dataEvents = 0;
  heartbeats = 0;
  polls = 0;
  errors: { code: string; message: string; at: number }[] = [];
  lastError = '';

  private handlers: StreamHandlers;
  private esConnected = false;
  private probing = false;
  private shutdownHint = false;
  private reconnectTimer = 0;
  private connectTimer = 0;
  private pollTimer = 0;
  private probeTimer = 0;
  private watchdogTimer = 0;
  private pollEtag: string | null = null;
  private pollBusy = false;
  private pollQueued = false;
  private pollingSince = 0;
  /** Wall-clock time of the last live data (for gap refetches). */
  private lastLiveWall = 0;

  private makeSource: SourceFactory;

  constructor(handlers: StreamHandlers, makeSource: SourceFactory = (url) => new EventSource(url)) {
    this.handlers = handlers;
    this.makeSource = makeSource;
    this.watchdogTimer = window.setInterval(() => this.watchdog(), 500);
    window.addEventListener('online', () => {
      if (this.mode === 'reconnecting' || this.mode === 'offline') this.reconnectNow();
    });
    window.addEventListener('offline', () => this.status());
  }

  get maxReconnect(): number {
    if (!Number.isNaN(config.maxReconnect)) return config.maxReconnect;
    return this.info?.maxReconnectAttempts ?? DEFAULT_MAX_RECONNECT;
  }

  /** Sets what the stream carries; reopens it (resuming) when that changed. */
  setSpec(spec: StreamSpec | null) {
    if (specKey(spec) === specKey(this.spec)) return;
    this.spec = spec;
    if (!spec || spec.tags.length === 0) {
      this.stopAll();
      this.mode = 'idle';
      this.status();
      return;
    }
    if (this.mode === 'polling' || this.mode === 'offline') {
      this.pollEtag = null;
      this.pollNow();
      return;
    }
    // live, connecting, reconnecting or idle: (re)open now.
    this.failures = 0;
    this.open(false);
  }

  /** The session ended: closes everything and stays closed until setSpec() opens again. */
  signOut() {
    this.stopAll();
    this.spec = null;
    this.mode = 'signedout';
    this.status();
  }

  reconnectNow() {
    if (!this.spec) return;
    if (this.mode === 'polling' || this.mode === 'offline') {
      this.probe();
      return;
    }
    this.failures = 0;
    this.open(false);
  }

  private status() {
    this.handlers.onStatus();
  }

  private url(): string {
    const s = this.spec!;
    let u = `/api/sse/stream?${tagsQuery(s.tags)}&interval=${s.interval}`;
    if (s.rate !== undefined) u += '&rate=' + Math.round(s.rate);
    if (this.lastEventId) u += '&lastEventId=' + encodeURIComponent(this.lastEventId);
    return u;
  }

  private closeEs() {
    window.clearTimeout(this.connectTimer);
    if (this.es) {
      this.es.close();
      this.es = null;
    }
    this.esConnected = false;
  }

  private stopAll() {
    this.closeEs();
    window.clearTimeout(this.reconnectTimer);
    window.clearTimeout(this.pollTimer);
    window.clearTimeout(this.probeTimer);
    this.probing = false;
  }

  /** Opens the one EventSource. probe: a background attempt while polling. */
  private open(probe: boolean) {
    this.closeEs();
    window.clearTimeout(this.reconnectTimer);
    if (!this.spec) return;
    this.probing = probe;
    if (!probe) this.mode = 'connecting';
    const es = this.makeSource(this.url());
    this.es = es;
    this.opened++;
    this.connectTimer = window.setTimeout(() => {
      if (this.es === es && !this.esConnected) this.fail(es, 'no connected event within ' + config.connectTimeoutMs + ' ms');
    }, config.connectTimeoutMs);

    es.addEventListener('connected', (e) => {
      if (this.es !== es) return;
      let info: ConnectedInfo;
      try {
        info = JSON.parse((e as MessageEvent).data);
      } catch {
        this.fail(es, 'bad connected event');
        return;
      }
      window.clearTimeout(this.connectTimer);
      this.esConnected = true;
      this.info = info;
      this.connects++;
      this.failures = 0;
      this.shutdownHint = false;
      const wasPolling = this.probing || this.mode === 'polling' || this.mode === 'offline';
      this.probing = false;
      window.clearTimeout(this.pollTimer);
      window.clearTimeout(this.probeTimer);
      this.mode = 'live';
      this.touch();
      this.handlers.onConnected(info);
      // Back from polling: the resume replays what the polls could not
      // carry (every raw sample) when the server still holds it; history
      // fills the span as well (for client-side buckets, and when there
      // was no id to resume from). Duplicates are dropped by timestamp.
      if (wasPolling && this.pollingSince) this.handlers.onGap(this.pollingSince, 'polling');
      this.pollingSince = 0;
      this.status();
    });
    es.addEventListener('data', (e) => {
      if (this.es !== es) return;
      const me = e as MessageEvent;
      this.touch();
      this.events++;
      this.dataEvents++;
      this.lastDataAt = Date.now();
      this.lastLiveWall = this.lastDataAt;
      if (me.lastEventId) this.lastEventId = me.lastEventId;
      let msg: { interval: Interval; points: StreamPoint[] };
      try {
        msg = JSON.parse(me.data);
      } catch {
        return;
      }
      this.handlers.onData(msg.interval, msg.points || [], false);
    });
    es.addEventListener('heartbeat', () => {
      if (this.es !== es) return;
      this.touch();
      this.events++;
      this.heartbeats++;
      this.lastHeartbeatAt = Date.now();
    });
    es.addEventListener('error', (e) => {
      if (this.es !== es) return;
      const me = e as MessageEvent;
      if (typeof me.data === 'string' && me.data.length > 0) {
        // The server's own `event: error`.
        this.touch();
        this.events++;
        let err: { code?: string; message?: string } = {};
        try {
          err = JSON.parse(me.data);
        } catch {
          /* keep empty */
        }
        const code = err.code || 'unknown';
        this.errors.push({ code, message: err.message || '', at: Date.now() });
        if (this.errors.length > 20) this.errors.shift();
        this.lastError = code;
        const end = sessionEndOf(0, err);
        if (end) {
          // The server closes the stream: reconnecting would only be refused.
          this.signOut();
          session.end(end);
          return;
        }
        if (code === 'history_lost') {
          this.handlers.onGap(this.lastLiveWall || Date.now(), 'history_lost');
        } else if (code === 'server_shutdown') {
          this.shutdownHint = true;
        }
        this.status();
        return;
      }
      // A transport error: the connection failed or closed. EventSource
      // would retry by itself, without backoff or a count: take over.
      this.fail(es, es.readyState === CLOSED ? 'refused' : 'connection lost');
    });
    this.status();
  }

  private touch() {
    this.lastEventAt = Date.now();
  }

  private fail(es: EventSourceLike, reason: string) {
    if (this.es !== es) return;
    const wasConnected = this.esConnected;
    this.closeEs();
    this.lastError = reason;
    if (reason === 'refused') this.handlers.onRefused?.();
    if (this.probing) {
      // Background attempt while polling: stay polling, try again later.
      this.probing = false;
      this.scheduleProbe();
      this.status();
      return;
    }
    if (wasConnected) {
      this.failures = 0;
    } else {
      this.failures++;
    }
    if (!wasConnected && this.failures >= this.maxReconnect) {
      this.startPolling();
      return;
    }
    let delay: number;
    if (this.shutdownHint) {
      // server_shutdown comes with retry: 500: come back soon.
      delay = 500 * (1 + Math.random() * 0.5);
      this.shutdownHint = false;
    } else {
      const base = Math.min(config.backoffMaxMs, config.backoffMs * Math.pow(2, Math.max(0, this.failures - 1)));
      delay = base * (0.5 + Math.random() * 0.5); // jitter: a restarted server is not hit by every page at once
    }
    this.mode = 'reconnecting';
    this.reconnectAt = Date.now() + delay;
    window.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = window.setTimeout(() => this.open(false), delay);
    this.status();
  }

  private watchdog() {
    const now = Date.now();
    if (this.es && this.esConnected && this.info) {
      const limit = 2 * Math.max(0.5, this.info.heartbeatInterval) * 1000;
      if (now - this.lastEventAt > limit) this.fail(this.es, `no event or heartbeat for ${Math.round(limit / 1000)} s`);
    }
  }

  // --- polling fallback ---

  private startPolling() {
    this.mode = 'polling';
    this.pollingSince = this.lastLiveWall || Date.now();
    this.pollEtag = null;
    this.pollNow();
    this.scheduleProbe();
    this.status();
  }

  private pollNow() {
    window.clearTimeout(this.pollTimer);
    if (this.pollBusy) {
      this.pollQueued = true; // one poll at a time: the next starts when this one ends
      return;
    }
    void this.poll();
  }

  private async poll() {
    const spec = this.spec;
    if (!spec || !(this.mode === 'polling' || this.mode === 'offline')) return;
    this.pollBusy = true;
    try {
      const r = await fetchLatest(spec.tags, spec.interval, this.pollEtag);
      // Applied unless the spec changed meanwhile or SSE is back.
      if (this.spec === spec && (this.mode === 'polling' || this.mode === 'offline')) {
        this.polls++;
        this.pollFailures = 0;
        this.lastPollAt = Date.now();
        this.mode = 'polling';
        this.pollEtag = r.etag;
        if (r.body) this.handlers.onData(r.body.interval, r.body.points || [], true);
      }
    } catch (e) {
      this.pollFailures++;
      this.lastError = String((e as Error).message || e);
      // The server is unreachable too (not just its streams): offline.
      if (this.spec === spec && (this.mode === 'polling' || this.mode === 'offline')) this.mode = 'offline';
    } finally {
      this.pollBusy = false;
    }
    this.status();
    if (this.mode === 'polling' || this.mode === 'offline') {
      window.clearTimeout(this.pollTimer);
      const queued = this.pollQueued;
      this.pollQueued = false;
      this.pollTimer = window.setTimeout(() => void this.poll(), queued ? 0 : config.pollMs);
    }
  }

  private scheduleProbe() {
    window.clearTimeout(this.probeTimer);
    const delay = config.sseRetryMs * (0.75 + Math.random() * 0.5);
    this.reconnectAt = Date.now() + delay;
    this.probeTimer = window.setTimeout(() => this.probe(), delay);
  }

  private probe() {
    if (!this.spec || !(this.mode === 'polling' || this.mode === 'offline')) return;
    this.open(true);
  }

  /** True while a `connected` stream is open. */
  get isLive(): boolean {
    return this.mode === 'live';
  }
}
