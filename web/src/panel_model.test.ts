import { describe, expect, it } from 'vitest';
import { gridWidth, makeGrid, needsRegrid, PanelModel, REFETCH_RAW_MAX_MS } from './panel_model';
import type { HistoryResponse, Interval, PanelSpec } from './types';

// A whole second, 20 s into a minute: grids and buckets must align by themselves.
const T0 = 1_700_000_000_000;
const MIN = 60000;

/** A model whose present is `clock.now`, on a grid `width` px wide laid at T0. */
function model(spec: Partial<PanelSpec> = {}, width = 901) {
  const clock = { now: T0 };
  const m = new PanelModel({ tags: ['a', 'b'], interval: 'raw', window: '15m', ...spec }, () => clock.now);
  m.regrid(width, clock.now);
  return { m, clock };
}

function history(interval: Interval, to: number, series: Record<string, object[]>): HistoryResponse {
  return {
    interval,
    tier: interval,
    bucketMs: 0,
    from: new Date(0).toISOString(),
    to: new Date(to).toISOString(),
    series: Object.entries(series).map(([tag, points]) => ({ tag, unit: '', points: points as any })),
  };
}

const nonNull = (ys: (number | null)[]) => ys.filter((y) => y !== null).length;

describe('grid', () => {
  it('is one group per pixel over the window, aligned on its own width, and reaches the window end', () => {
    const g = makeGrid(T0 - 15 * MIN, T0, 901, 0);
    expect(g).toEqual({ G: 1000, O: T0 - 15 * MIN, n: 901 });
    for (const [from, to, n, tw] of [
      [T0 - 15 * MIN + 123, T0 + 123, 777, 0],
      [T0 - 3600000 + 7, T0 + 7, 1234, 0],
      [T0 - 86400000 + 5, T0 + 5, 500, MIN],
      [T0 - 7 * 86400000, T0, 640, 3600000],
    ]) {
      const { G, O } = makeGrid(from, to, n, tw);
      expect(O % G).toBe(0);
      expect(O).toBeLessThanOrEqual(from);
      expect(O + n * G).toBeGreaterThanOrEqual(to);
      if (tw > 0) expect(G % tw).toBe(0);
      // Not coarser than needed: one group less per pixel would not cover the span.
      expect(G - (tw || 1)).toBeLessThan((to - from) / (n - 1));
    }
  });

  it('rounds groups up to whole buckets for aggregated intervals', () => {
    // 24 h over 499 gaps is 173148 ms: three minutes.
    expect(makeGrid(T0 - 86400000, T0, 500, MIN).G).toBe(3 * MIN);
    // 15 min over 199 gaps is under a minute: one bucket per group.
    expect(makeGrid(T0 - 15 * MIN, T0, 200, MIN).G).toBe(MIN);
  });

  it('takes the chart width, at least 200 px, 600 px when not laid out', () => {
    expect(gridWidth(812.7)).toBe(812);
    expect(gridWidth(150)).toBe(200);
    expect(gridWidth(0)).toBe(600);
  });

  it('panel grid and the history request for it match', () => {
    const { m } = model({}, 901);
    expect([m.G, m.O, m.n]).toEqual([1000, T0 - 15 * MIN, 901]);
    expect(m.historyRequest()).toEqual({ interval: 'raw', from: m.O, to: m.O + 901 * 1000, maxPoints: 901 });
  });
});

describe('regrid rule: more than 25 % away from the grid width', () => {
  it('keeps the grid up to 25 % narrower or wider', () => {
    expect(needsRegrid(800, 800)).toBe(false);
    expect(needsRegrid(800, 600)).toBe(false);
    expect(needsRegrid(800, 1000)).toBe(false);
  });

  it('starts over past 25 %', () => {
    expect(needsRegrid(800, 599)).toBe(true);
    expect(needsRegrid(800, 1001)).toBe(true);
  });

  it('measures a narrow chart as the minimum grid width', () => {
    expect(needsRegrid(200, 120)).toBe(false);
    expect(needsRegrid(300, 120)).toBe(true);
  });

  it('a new grid forgets what was held and asks history again', () => {
    const { m, clock } = model({}, 901);
    m.addRaw('a', T0 - 500, 1, 0);
    m.applyHistory(history('raw', T0, { a: [{ t: T0 - 10 * MIN, avg: 3, count: 2, q: 'good' }] }), T0);
    expect(m.history).toBe('ready');
    clock.now += 5000;
    m.regrid(600, clock.now);
    expect(m.n).toBe(600);
    expect(m.G).toBe(Math.ceil((15 * MIN) / 599));
    expect(m.history).toBe('loading');
    expect(m.display).toEqual({ xs: [], ys: [[], []] });
    expect(m.points).toEqual({ a: [], b: [] });
    expect(m.historyRequest().maxPoints).toBe(600);
  });
});

describe('live raw samples', () => {
  it('fold into the group of their time: xs are group starts, ys group averages', () => {
    const { m } = model();
    const g = m.O + 800 * m.G; // group 800
    m.addRaw('a', g + 100, 10, 0);
    m.addRaw('a', g + 900, 20, 0);
    m.addRaw('a', g + 1000, 7, 0); // the next group
    m.addRaw('b', g + 1500, 5, 0);
    const d = m.display;
    expect(d.xs).toEqual([g, g + 1000]);
    expect(d.ys[0]).toEqual([15, 7]);
    expect(d.ys[1]).toEqual([null, 5]);
    expect(m.idx(g + 999)).toBe(800);
    expect(m.liveCount).toBe(4);
  });

  it('drop a sample already held (by timestamp), and keep them in time order', () => {
    const { m } = model();
    m.addRaw('a', T0 - 2000, 1, 0);
    m.addRaw('a', T0 - 4000, 2, 2);
    m.addRaw('a', T0 - 2000, 99, 0);
    expect(m.liveCount).toBe(2);
    expect(m.points.a).toEqual([
      { t: T0 - 4000, v: 2, q: 'bad' },
      { t: T0 - 2000, v: 1, q: 'good' },
    ]);
  });

  it('extend the grid past its end as the window slides', () => {
    const { m, clock } = model();
    const end = m.O + m.n * m.G;
    m.addRaw('a', T0 - 1000, 1, 0);
    clock.now = end + 30000;
    m.addRaw('a', end + 29500, 2, 0);
    const d = m.display;
    expect(d.xs[d.xs.length - 1]).toBe(end + 29000);
    // Contiguous groups, every one of width G.
    for (let i = 1; i < d.xs.length; i++) expect(d.xs[i] - d.xs[i - 1]).toBe(m.G);
    expect(nonNull(d.ys[0])).toBe(2);
  });

  it('keep a far-future sample (a wrong clock) out of the grid, though it is held', () => {
    const { m } = model();
    m.addRaw('a', T0 - 1000, 1, 0);
    m.addRaw('a', T0 + 3600000, 2, 0);
    expect(m.display.xs).toHaveLength(1);
    expect(m.points.a).toHaveLength(2);
  });

  it('keep a sample older than the window out of the grid', () => {
    const { m } = model();
    m.addRaw('a', T0 - 20 * MIN, 1, 0);
    expect(m.display.xs).toHaveLength(0);
  });

  it('ignore tags the panel does not show', () => {
    const { m } = model();
    m.addRaw('zzz', T0 - 1000, 1, 0);
    expect(m.liveCount).toBe(0);
  });
});

describe('history then live', () => {
  it('history fills groups before the first live sample; from it on, live data only', () => {
    const { m } = model();
    const g = (i: number) => m.O + i * m.G;
    m.applyHistory(
      history('raw', T0, {
        a: [
          { t: g(100), avg: 1, count: 3, q: 'good' },
          { t: g(101), avg: 2, count: 3, q: 'good' },
          { t: g(102), avg: 3, count: 3, q: 'good' },
        ],
      }),
      T0,
    );
    expect(m.history).toBe('ready');
    expect(m.histTo).toBe(T0);
    expect(m.display.ys[0]).toEqual([1, 2, 3]);
    // The first live sample in group 102 replaces history from there on.
    m.addRaw('a', g(102) + 10, 30, 0);
    expect(m.display.ys[0]).toEqual([1, 2, 30]);
    // A live sample before that (a late one) leaves history's groups alone.
    m.addRaw('a', g(101) + 10, 99, 0);
    expect(m.display.ys[0]).toEqual([1, 2, 30]);
    // History at or after the first live group is not drawn, even where live data has no sample yet.
    m.applyHistory(
      history('raw', T0, {
        a: [
          { t: g(102), avg: -1, count: 9, q: 'good' },
          { t: g(103), avg: -2, count: 9, q: 'good' },
        ],
      }),
      T0,
    );
    expect(m.display.ys[0]).toEqual([1, 2, 30, null]);
  });

  it('history reaches no further than the present', () => {
    const { m } = model();
    m.applyHistory(history('raw', T0 + 60000, { a: [] }), T0);
    expect(m.histTo).toBe(T0);
  });

  it('a failed history is reported as such', () => {
    const { m } = model();
    m.historyFailed('503');
    expect([m.history, m.historyError]).toEqual(['error', '503']);
  });
});

describe('aggregated panels', () => {
  it('build buckets from raw samples and merge them into wider groups', () => {
    // 15 min on 200 px: 4523 ms groups, rounded to 5 s of 1 s buckets.
    const { m } = model({ interval: 'second' }, 200);
    expect([m.tw, m.G]).toEqual([1000, 5000]);
    const g = m.O + 150 * m.G;
    m.addRaw('a', g + 100, 1, 0);
    m.addRaw('a', g + 600, 3, 1);
    m.addRaw('a', g + 2100, 8, 0);
    m.addRaw('a', g + 600, 50, 0); // not after the last applied: dropped
    expect(m.points.a).toEqual([
      { t: g, avg: 2, min: 1, max: 3, first: 1, last: 3, count: 2, q: 'uncertain' },
      { t: g + 2000, avg: 8, min: 8, max: 8, first: 8, last: 8, count: 1, q: 'good' },
    ]);
    expect(m.display.xs).toEqual([g]);
    expect(m.display.ys[0]).toEqual([4]); // (1 + 3 + 8) / 3
  });

  it('replace a bucket in place when the stream sends it again', () => {
    // 15 min on 200 px at minute buckets: one bucket per group.
    const { m } = model({ interval: 'minute' }, 200);
    expect(m.G).toBe(MIN);
    const t = Math.floor((T0 - 2 * MIN) / MIN) * MIN;
    const p = { tag: 'a', t, avg: 5, min: 4, max: 6, first: 4, last: 6, count: 10, q: 'good' as const };
    m.addBucket(p);
    m.addBucket({ ...p, avg: 7, count: 12, last: 9, max: 9 });
    expect(m.points.a).toEqual([{ t, avg: 7, min: 4, max: 9, first: 4, last: 9, count: 12, q: 'good' }]);
    expect(m.display.ys[0]).toEqual([7]);
  });

  it('a history bucket holds the samples up to when it was made; later ones are added to it', () => {
    const { m } = model({ interval: 'minute' }, 200);
    const t = Math.floor(T0 / MIN) * MIN;
    expect(t).toBe(T0 - 20000);
    m.applyHistory(history('minute', T0 - 10000, { a: [{ t, avg: 10, min: 10, max: 10, first: 10, last: 10, count: 4, q: 'good' }] }), T0);
    m.addRaw('a', T0 - 15000, 1000, 0); // before history's end: already counted
    m.addRaw('a', T0 - 5000, 20, 0);
    expect(m.points.a).toHaveLength(1);
    expect(m.points.a[0]).toMatchObject({ t, count: 5, avg: 12, min: 10, max: 20, first: 10, last: 20 });
    expect(m.display.ys[0]).toEqual([12]);
  });
});

describe('trimming', () => {
  it('drops the groups and samples that slid out of the window', () => {
    const { m, clock } = model();
    m.addRaw('a', T0 - 14 * MIN, 1, 0);
    m.addRaw('a', T0 - 1000, 2, 0);
    expect(m.display.xs[0]).toBe(T0 - 14 * MIN);
    clock.now = T0 + 2 * MIN;
    m.trim(clock.now);
    // What is left starts one group before the window.
    expect(m.display.xs[0]).toBe(T0 - 13 * MIN - m.G);
    expect(m.base).toBe(m.idx(T0 - 13 * MIN) - 1);
    expect(m.points.a.map((p) => p.v)).toEqual([2]);
  });

  it('keeps everything of a window with an end', () => {
    const { m, clock } = model({ window: { from: T0 - 10 * MIN, to: T0 } });
    expect(m.liveWindow).toBe(false);
    m.addRaw('a', T0 - 9 * MIN, 1, 0);
    clock.now = T0 + 60 * MIN;
    m.trim(clock.now);
    expect(m.display.xs).toHaveLength(1);
  });
});

describe('refetch after a gap', () => {
  it('raw panels: groups for the part older than the raw limit, raw samples after it', () => {
    const { m } = model({ window: '1h' }, 1000);
    const plan = m.refetchPlan(T0 - 40 * MIN, T0);
    if (!plan || !('raw' in plan)) throw new Error('expected a raw plan: ' + JSON.stringify(plan));
    expect(plan.raw).toEqual({ interval: 'raw', from: T0 - REFETCH_RAW_MAX_MS, to: T0 + 1000 });
    const gr = plan.groups!;
    expect(gr.from).toBe(Math.floor((T0 - 40 * MIN - 2000) / m.G) * m.G);
    expect(gr.to).toBe(gr.from + gr.maxPoints! * m.G);
    expect(gr.to).toBeGreaterThanOrEqual(plan.raw.from);
  });

  it('raw panels: a recent gap is all raw samples', () => {
    const { m } = model();
    const plan = m.refetchPlan(T0 - MIN, T0);
    expect(plan).toEqual({ groups: null, raw: { interval: 'raw', from: T0 - MIN - 2000, to: T0 + 1000 } });
  });

  it('nothing to fetch for a gap that has not begun', () => {
    const { m } = model();
    expect(m.refetchPlan(T0 + 5000, T0)).toBeNull();
  });

  it('aggregated panels: buckets from the one holding the gap', () => {
    const { m } = model({ interval: 'minute' }, 200);
    expect(m.refetchPlan(T0 - 5 * MIN, T0)).toEqual({
      buckets: { interval: 'minute', from: Math.floor((T0 - 5 * MIN - 2000) / MIN) * MIN, to: T0 + 1000 },
    });
  });

  it('merged raw samples join the live ones without duplicates; merged groups fill only empty groups', () => {
    const { m } = model();
    m.addRaw('a', T0 - 3000, 1, 0);
    m.mergeRaw(history('raw', T0, { a: [{ t: T0 - 3000, v: 1, q: 'good' }, { t: T0 - 2000, v: 2, q: 'uncertain' }] }));
    expect(m.points.a).toEqual([
      { t: T0 - 3000, v: 1, q: 'good' },
      { t: T0 - 2000, v: 2, q: 'uncertain' },
    ]);
    const held = m.idx(T0 - 3000);
    m.mergeGroups(history('raw', T0, { a: [{ t: m.O + held * m.G, avg: 42, count: 1, q: 'good' }, { t: m.O + 10 * m.G, avg: 8, count: 1, q: 'good' }] }));
    const d = m.display;
    expect(d.ys[0][held - m.base]).toBe(1);
    expect(d.ys[0][10 - m.base]).toBe(8);
  });
});
