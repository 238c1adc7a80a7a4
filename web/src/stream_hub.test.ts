// StreamHub (the one stream behind every tab) with a fake EventSource: what
// each tab receives, and how the real stream is opened, resumed and shared.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StreamHub, type TabPort } from './stream_hub';

class FakeEventSource {
  static made: FakeEventSource[] = [];
  readyState = 0;
  closed = false;
  private listeners = new Map<string, ((e: any) => void)[]>();
  constructor(readonly url: string) {
    FakeEventSource.made.push(this);
  }
  addEventListener(type: string, l: (e: any) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) || []), l]);
  }
  close() {
    this.closed = true;
    this.readyState = 2;
  }
  emit(type: string, data?: string, lastEventId = '') {
    for (const l of this.listeners.get(type) || []) l({ data, lastEventId });
  }
}

class Tab implements TabPort {
  got: any[] = [];
  postMessage(m: unknown) {
    this.got.push(m);
  }
  of(type: string) {
    return this.got.filter((m) => m.type === type);
  }
}

const url = (tags: string[], extra = '') => `/api/sse/stream?${tags.map((t) => 'tags[]=' + t).join('&')}&interval=raw${extra}`;
const real = () => FakeEventSource.made[FakeEventSource.made.length - 1];
const open = () => FakeEventSource.made.filter((e) => !e.closed);

describe('StreamHub', () => {
  beforeEach(() => {
    FakeEventSource.made = [];
    vi.stubGlobal('EventSource', FakeEventSource);
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('opens one stream for the union of the tabs and gives each tab its own points', () => {
    const hub = new StreamHub();
    const a = new Tab();
    const b = new Tab();
    hub.message(a, 'a', { op: 'open', id: 1, url: url(['x', 'y']) });
    hub.message(b, 'b', { op: 'open', id: 1, url: url(['y', 'z*']) });
    vi.runAllTimers();
    expect(open().length).toBe(1);
    expect(real().url).toBe('/api/sse/stream?tags[]=x&tags[]=y&tags[]=z*&interval=raw');
    real().emit('connected', JSON.stringify({ streamId: 's', tags: [{ name: 'x' }, { name: 'y' }, { name: 'z1' }] }));
    expect(JSON.parse(a.of('connected')[0].data).tags.map((t: any) => t.name)).toEqual(['x', 'y']);
    expect(JSON.parse(b.of('connected')[0].data).tags.map((t: any) => t.name)).toEqual(['y', 'z1']);
    real().emit('data', JSON.stringify({ interval: 'raw', points: [{ tag: 'x' }, { tag: 'z1' }] }), '7');
    expect(a.of('data').map((m) => [JSON.parse(m.data).points.map((p: any) => p.tag), m.lastEventId])).toEqual([[['x'], '7']]);
    expect(b.of('data').map((m) => [JSON.parse(m.data).points.map((p: any) => p.tag), m.lastEventId])).toEqual([[['z1'], '7']]);
    real().emit('data', JSON.stringify({ interval: 'raw', points: [{ tag: 'z1' }] }), '8');
    expect(a.of('data').length).toBe(1); // nothing of its tags: no event
  });

  it("sends the server's error events (history_lost) and heartbeats to every tab", () => {
    const hub = new StreamHub();
    const a = new Tab();
    const b = new Tab();
    hub.message(a, 'a', { op: 'open', id: 1, url: url(['x']) });
    hub.message(b, 'b', { op: 'open', id: 3, url: url(['y']) });
    vi.runAllTimers();
    real().emit('connected', '{}');
    real().emit('error', JSON.stringify({ code: 'history_lost' }));
    real().emit('heartbeat', '{"t":1}');
    for (const [tab, id] of [
      [a, 1],
      [b, 3],
    ] as const) {
      expect(tab.of('error')).toEqual([{ id, type: 'error', data: '{"code":"history_lost"}' }]);
      expect(tab.of('heartbeat').length).toBe(1);
    }
  });

  it('a dropped connection goes to every tab; the first back reopens it, resuming after the last id', () => {
    const hub = new StreamHub();
    const a = new Tab();
    const b = new Tab();
    hub.message(a, 'a', { op: 'open', id: 1, url: url(['x']) });
    hub.message(b, 'b', { op: 'open', id: 1, url: url(['y']) });
    vi.runAllTimers();
    real().emit('connected', '{}');
    real().emit('data', JSON.stringify({ interval: 'raw', points: [{ tag: 'x' }] }), '41');
    real().emit('error');
    expect(a.of('error')[0]).toMatchObject({ transport: true });
    expect(b.of('error')[0]).toMatchObject({ transport: true });
    expect(open().length).toBe(0);
    hub.message(a, 'a', { op: 'open', id: 2, url: url(['x'], '&lastEventId=41') });
    vi.runAllTimers();
    expect(real().url).toBe('/api/sse/stream?tags[]=x&interval=raw&lastEventId=41');
    hub.message(b, 'b', { op: 'open', id: 2, url: url(['y'], '&lastEventId=41') });
    vi.runAllTimers();
    expect(open().length).toBe(1);
    expect(real().url).toBe('/api/sse/stream?tags[]=x&tags[]=y&interval=raw&lastEventId=41');
  });

  it('a tab that joins a live stream of the same tags gets connected at once; one that leaves narrows it', () => {
    const hub = new StreamHub();
    const a = new Tab();
    const b = new Tab();
    hub.message(a, 'a', { op: 'open', id: 1, url: url(['x']) });
    vi.runAllTimers();
    real().emit('connected', '{}');
    real().emit('data', JSON.stringify({ interval: 'raw', points: [{ tag: 'x' }] }), '5');
    hub.message(b, 'b', { op: 'open', id: 1, url: url(['x']) });
    expect(b.of('connected').length).toBe(1);
    vi.runAllTimers();
    expect(FakeEventSource.made.length).toBe(1);
    hub.message(b, 'b', { op: 'open', id: 2, url: url(['y']) });
    vi.runAllTimers();
    expect(real().url).toBe('/api/sse/stream?tags[]=x&tags[]=y&interval=raw&lastEventId=5');
    hub.message(b, 'b', { op: 'bye', id: 0 });
    vi.runAllTimers();
    expect(open().length).toBe(1);
    expect(real().url).toBe('/api/sse/stream?tags[]=x&interval=raw&lastEventId=5');
    hub.message(a, 'a', { op: 'close', id: 1 });
    vi.runAllTimers();
    expect(open().length).toBe(0);
  });
});
