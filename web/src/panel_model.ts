// What a trend panel holds and how it is drawn, without the drawing: no DOM,
// no uPlot, no fetch, time passed in, so it can be tested as it is.
//
// The chart's x axis is cut into groups of G ms (G = window / chart width
// in px, rounded up to whole buckets for aggregated intervals) aligned on a
// multiple of G. History is asked for exactly that grid (from, to and
// maxPoints chosen so that the server's groups are these groups), and live
// data is folded into the same groups as it arrives, so the history and the
// live part of a line are drawn alike: no seam.
//
// Live data is also kept as it came, for dedupe and for tests: raw samples
// per tag (unique by timestamp), or buckets by start time (replaced in place).
import { Agg, aggAddSample, aggAvg, aggFromPoint, aggFromSample, aggMerge, RawBuf } from './series';
import {
  INTERVAL_MS,
  Q_CODE,
  Q_NAME,
  WINDOW_MS,
  type AggPoint,
  type HistoryResponse,
  type Interval,
  type PanelSpec,
} from './types';

/** Raw samples kept per tag at most (dedupe and tests); the display keeps groups. */
export const RAW_KEEP_MAX = 50000;
export const RAW_KEEP_MS = 3600000;
/** Buckets kept per tag at most (in place updates, tests); older groups stay drawn. */
export const BUCKETS_KEEP_MAX = 5000;
/** Gap refetches take raw samples for at most this span; older gaps are filled with groups. */
export const REFETCH_RAW_MAX_MS = 15 * 60000;
/** Narrower charts still get this many groups: a line stays a line. */
export const MIN_GRID_WIDTH = 200;
/** A chart not measured yet (no layout) gets a grid this wide. */
const UNMEASURED_WIDTH = 600;
/**
 * How far (a fraction of the grid's width) a chart's width may settle from
 * the width its grid was made for before the grid is made again: below it,
 * groups a little wider or narrower than a pixel look the same, and a new
 * grid costs a history request.
 */
export const REGRID_FRACTION = 0.25;

/** The grid's width for a chart measured at clientWidth px (0 when not laid out). */
export function gridWidth(clientWidth: number): number {
  return Math.max(MIN_GRID_WIDTH, Math.floor(clientWidth || UNMEASURED_WIDTH));
}

/** Whether a chart now w px wide (w > 0) should leave a grid made for n px and start over. */
export function needsRegrid(n: number, w: number): boolean {
  return Math.abs(Math.max(MIN_GRID_WIDTH, w) - n) > REGRID_FRACTION * n;
}

export interface Grid {
  /** Group width, ms. */
  G: number;
  /** Origin: a multiple of G at or before the window's start. */
  O: number;
  /** Groups per chart: the chart's width in px. */
  n: number;
}

/**
 * The grid for a window [from, to] on a chart n px wide, with buckets of tw
 * ms (0 for raw): (n-1) groups cover the span, so that n groups from the
 * aligned origin (O <= from) always reach `to`, and history can be asked
 * with maxPoints = n.
 */
export function makeGrid(from: number, to: number, n: number, tw: number): Grid {
  const span = Math.max(1000, to - from);
  const g0 = Math.ceil(span / (n - 1));
  const G = tw > 0 ? Math.ceil(g0 / tw) * tw : Math.max(1, g0);
  return { G, O: Math.floor(from / G) * G, n };
}

/** A history request: [from, to) in at most maxPoints groups (all points when undefined). */
export interface HistoryRequest {
  interval: Interval;
  from: number;
  to: number;
  maxPoints?: number;
}

/**
 * What to fetch again after a gap: for raw panels, groups for the part
 * older than REFETCH_RAW_MAX_MS (if any) and raw samples after it; for
 * aggregated panels, the panel's buckets.
 */
export type RefetchPlan = { groups: HistoryRequest | null; raw: HistoryRequest } | { buckets: HistoryRequest };

type HistoryPoint = HistoryResponse['series'][number]['points'][number];

export class PanelModel {
  readonly spec: PanelSpec;
  readonly tags: string[];
  readonly tagIndex = new Map<string, number>();
  readonly interval: Interval;
  /** Bucket width of the interval (0 for raw). */
  readonly tw: number;
  readonly liveWindow: boolean;

  G = 1000;
  O = 0;
  n = 0;
  /** Group index of xs[0]. */
  base = 0;
  xs: number[] = [];
  groups: (Agg | null)[][] = [];
  ys: (number | null)[][] = [];
  /** Group index from which a tag's groups are built from live data (history before). */
  liveFrom: (number | undefined)[] = [];
  raw: RawBuf[] = [];
  buckets: Map<number, Agg>[] = [];
  lastRawT: number[] = [];

  history: 'loading' | 'ready' | 'error' = 'loading';
  historyError = '';
  histTo = 0;
  liveCount = 0;
  /** Something changed since the view last drew: the view clears it. */
  dirty = true;
  private lastTrim = 0;
  private readonly clock: () => number;

  /** clock: the present, ms since the epoch (whether a sample is in the window, how far history reaches). */
  constructor(spec: PanelSpec, clock: () => number = Date.now) {
    this.spec = spec;
    this.clock = clock;
    this.tags = spec.tags.slice();
    this.tags.forEach((t, i) => this.tagIndex.set(t, i));
    this.interval = spec.interval;
    this.tw = INTERVAL_MS[spec.interval];
    this.liveWindow = typeof spec.window === 'string' || spec.window.to === null;
    this.clear();
  }

  /** The window's span at `now`: [from, to]. */
  range(now: number): [number, number] {
    const w = this.spec.window;
    if (typeof w === 'string') return [now - WINDOW_MS[w], now];
    if (w.to === null) return [w.from, now];
    return [w.from, w.to];
  }

  windowMs(now: number): number {
    const [a, b] = this.range(now);
    return b - a;
  }

  /** Forgets everything held and lays a new grid, one group per pixel of a chart `width` px wide. */
  regrid(width: number, now: number) {
    this.clear();
    const [from, to] = this.range(now);
    const g = makeGrid(from, to, width, this.tw);
    this.G = g.G;
    this.O = g.O;
    this.n = g.n;
  }

  private clear() {
    this.base = 0;
    this.xs = [];
    this.groups = [];
    this.ys = [];
    this.liveFrom = [];
    this.raw = [];
    this.buckets = [];
    this.lastRawT = [];
    for (let i = 0; i < this.tags.length; i++) {
      this.groups.push([]);
      this.ys.push([]);
      this.liveFrom.push(undefined);
      this.raw.push(new RawBuf());
      this.buckets.push(new Map());
      this.lastRawT.push(-Infinity);
    }
    this.history = 'loading';
    this.historyError = '';
    this.histTo = 0;
    this.lastTrim = 0;
    this.dirty = true;
  }

  idx(t: number): number {
    return Math.floor((t - this.O) / this.G);
  }

  /** Makes group index gi addressable. */
  private ensure(gi: number) {
    if (this.xs.length === 0) {
      this.base = gi;
    }
    if (gi < this.base) {
      const c = this.base - gi;
      const pad = <T>(a: T[]) => (new Array(c).fill(null) as T[]).concat(a);
      this.base = gi;
      this.groups = this.groups.map(pad);
      this.ys = this.ys.map(pad);
      const xs = new Array(c);
      for (let i = 0; i < c; i++) xs[i] = this.O + (gi + i) * this.G;
      this.xs = xs.concat(this.xs);
    }
    while (this.base + this.xs.length <= gi) {
      this.xs.push(this.O + (this.base + this.xs.length) * this.G);
      for (let k = 0; k < this.tags.length; k++) {
        this.groups[k].push(null);
        this.ys[k].push(null);
      }
    }
  }

  private setGroup(ti: number, gi: number, a: Agg | null) {
    this.ensure(gi);
    const i = gi - this.base;
    this.groups[ti][i] = a;
    this.ys[ti][i] = a && a.count > 0 ? aggAvg(a) : null;
    this.dirty = true;
  }

  /**
   * Whether live data owns group gi of tag ti. The first live group of a tag
   * makes it and every later group live (what history put there is cleared);
   * groups before it stay history's.
   */
  private takeLive(ti: number, gi: number): boolean {
    const lf = this.liveFrom[ti];
    if (lf === undefined) {
      this.liveFrom[ti] = gi;
      this.ensure(gi);
      this.clearFrom(ti, gi);
      return true;
    }
    return gi >= lf;
  }

  private clearFrom(ti: number, gi: number) {
    for (let i = Math.max(0, gi - this.base); i < this.xs.length; i++) {
      this.groups[ti][i] = null;
      this.ys[ti][i] = null;
    }
  }

  /** Whether a sample at t belongs in the window (now or later: the window slides). */
  private accepts(t: number): boolean {
    const [from, to] = this.range(this.clock());
    // Far-future samples (a wrong clock) are kept out of the grid: it would grow to reach them.
    return t >= from - this.G && t <= to + (this.liveWindow ? Math.max(600000, 2 * this.G) : 0);
  }

  // --- live data ---

  /** A raw sample from the stream, a poll or a gap refetch. */
  addRaw(tag: string, t: number, v: number, q: number) {
    const ti = this.tagIndex.get(tag);
    if (ti === undefined) return;
    if (this.tw > 0) {
      this.addRawToBucket(ti, t, v, q);
      return;
    }
    if (!this.raw[ti].insert(t, v, q)) return; // duplicate
    this.liveCount++;
    if (!this.accepts(t)) return;
    const gi = this.idx(t);
    if (!this.takeLive(ti, gi)) return; // history's span
    this.ensure(gi);
    const i = gi - this.base;
    const g = this.groups[ti][i];
    if (g) {
      aggAddSample(g, t, v, q);
      this.ys[ti][i] = aggAvg(g);
      this.dirty = true;
    } else {
      this.setGroup(ti, gi, aggFromSample(this.O + gi * this.G, t, v, q));
    }
  }

  /** A raw sample for an aggregated panel: updates its bucket client-side. */
  private addRawToBucket(ti: number, t: number, v: number, q: number) {
    if (t <= this.lastRawT[ti]) return; // seen (dedupe by timestamp), or older than what is applied
    this.lastRawT[ti] = t;
    const bt = Math.floor(t / this.tw) * this.tw;
    const m = this.buckets[ti];
    let b = m.get(bt);
    if (b && b.seededTo !== undefined && t <= b.seededTo) return; // history's bucket holds it
    if (!b) {
      b = aggFromSample(bt, t, v, q);
      m.set(bt, b);
    } else {
      aggAddSample(b, t, v, q);
    }
    this.liveCount++;
    this.bucketChanged(ti, bt);
  }

  /** A bucket from a stream of this panel's interval or a poll: replaces the bucket in place. */
  addBucket(p: AggPoint) {
    const ti = this.tagIndex.get(p.tag);
    if (ti === undefined) return;
    const b = aggFromPoint(p);
    this.buckets[ti].set(p.t, b);
    this.lastRawT[ti] = Math.max(this.lastRawT[ti], p.t);
    this.liveCount++;
    this.bucketChanged(ti, p.t);
  }

  private bucketChanged(ti: number, bt: number) {
    if (!this.accepts(bt + this.tw - 1)) return;
    const gi = this.idx(bt);
    if (this.G === this.tw) {
      this.setGroup(ti, gi, this.buckets[ti].get(bt) || null);
      return;
    }
    if (!this.takeLive(ti, gi)) return;
    this.regroup(ti, gi);
  }

  /** Recomputes group gi from the buckets in it. */
  private regroup(ti: number, gi: number) {
    const start = this.O + gi * this.G;
    let g: Agg | null = null;
    const m = this.buckets[ti];
    for (let t = start; t < start + this.G; t += this.tw) {
      const b = m.get(t);
      if (b) g = aggMerge(g, b, start);
    }
    this.setGroup(ti, gi, g);
  }

  // --- history ---

  /** The history that fills the grid: exactly its groups. */
  historyRequest(): HistoryRequest {
    return { interval: this.interval, from: this.O, to: this.O + this.n * this.G, maxPoints: this.n };
  }

  /** The answer to historyRequest(), asked at askedAt. */
  applyHistory(h: HistoryResponse, askedAt: number) {
    this.histTo = Math.min(Date.parse(h.to) || askedAt, this.clock());
    for (const s of h.series) {
      const ti = this.tagIndex.get(s.tag);
      if (ti === undefined || s.points.length === 0) continue;
      this.ensure(this.idx(s.points[0].t));
      this.ensure(this.idx(s.points[s.points.length - 1].t));
      const asBucket = this.tw > 0 && this.G === this.tw;
      for (const p of s.points) this.applyHistoryPoint(ti, p, this.histTo, asBucket);
    }
    this.history = 'ready';
    this.dirty = true;
  }

  historyFailed(message: string) {
    this.history = 'error';
    this.historyError = message;
    this.dirty = true;
  }

  /**
   * A point of history: a group on the grid, or (asBucket) one bucket of the
   * panel's interval, which replaces the held bucket unless that has as
   * many samples (live state is newer).
   */
  private applyHistoryPoint(ti: number, p: HistoryPoint, seededTo: number, asBucket: boolean) {
    const gi = this.idx(p.t);
    if (asBucket) {
      const m = this.buckets[ti];
      const cur = m.get(p.t);
      if (cur && cur.count >= (p.count ?? 1)) return;
      const b = aggFromPoint(p);
      b.seededTo = seededTo;
      m.set(p.t, b);
      if (this.G === this.tw) this.setGroup(ti, gi, b);
      else if (this.liveFrom[ti] !== undefined && gi >= this.liveFrom[ti]!) this.regroup(ti, gi);
      return;
    }
    const lf = this.liveFrom[ti];
    if (lf !== undefined && gi >= lf) return; // live data holds it
    this.ensure(gi);
    if (this.groups[ti][gi - this.base]) return;
    this.setGroup(ti, gi, aggFromPoint(p));
  }

  /**
   * Changes after sinceMs may be missing (history_lost, or back from
   * polling): what to fetch again at `now`, null when nothing.
   */
  refetchPlan(sinceMs: number, now: number): RefetchPlan | null {
    const [wFrom] = this.range(now);
    const from = Math.max(wFrom, sinceMs - 2000);
    if (from >= now) return null;
    if (this.tw > 0) {
      const bFrom = Math.max(Math.floor(from / this.tw) * this.tw, now - 20000 * this.tw);
      return { buckets: { interval: this.interval, from: bFrom, to: now + 1000 } };
    }
    const rawFrom = Math.max(from, now - REFETCH_RAW_MAX_MS);
    let groups: HistoryRequest | null = null;
    if (rawFrom > from) {
      const O = Math.floor(from / this.G) * this.G;
      const n = Math.max(1, Math.ceil((rawFrom - O) / this.G));
      groups = { interval: 'raw', from: O, to: O + n * this.G, maxPoints: n };
    }
    return { groups, raw: { interval: 'raw', from: rawFrom, to: now + 1000 } };
  }

  /** Groups of a refetch, where none are held. */
  mergeGroups(h: HistoryResponse) {
    for (const s of h.series) {
      const ti = this.tagIndex.get(s.tag);
      if (ti === undefined) continue;
      for (const p of s.points) {
        const gi = this.idx(p.t);
        this.ensure(gi);
        if (!this.groups[ti][gi - this.base]) this.setGroup(ti, gi, aggFromPoint(p));
      }
    }
  }

  /** Raw samples of a refetch, as live samples (duplicates dropped). */
  mergeRaw(h: HistoryResponse) {
    for (const s of h.series) for (const p of s.points) if (p.v !== undefined) this.addRaw(s.tag, p.t, p.v, Q_CODE[p.q] ?? 0);
  }

  /** Buckets of a refetch asked at askedAt: each replaces the held one unless that has as many samples. */
  mergeBuckets(h: HistoryResponse, askedAt: number) {
    const to = Math.min(Date.parse(h.to) || askedAt, this.clock());
    for (const s of h.series) {
      const ti = this.tagIndex.get(s.tag);
      if (ti === undefined) continue;
      for (const p of s.points) {
        if (!this.accepts(p.t + this.tw - 1)) continue;
        this.applyHistoryPoint(ti, p, to, true);
      }
    }
  }

  // --- memory ---

  /** Drops what slid out of the window. */
  trim(now: number) {
    if (!this.liveWindow) return;
    const [from] = this.range(now);
    const keepFrom = this.idx(from) - 1;
    const c = keepFrom - this.base;
    if (c > 0 && this.xs.length > 0) {
      const k = Math.min(c, this.xs.length);
      this.xs.splice(0, k);
      for (let t = 0; t < this.tags.length; t++) {
        this.groups[t].splice(0, k);
        this.ys[t].splice(0, k);
      }
      this.base += k;
      this.dirty = true;
    }
    const rawFrom = Math.max(from - this.G, now - RAW_KEEP_MS);
    for (const r of this.raw) r.trim(rawFrom, RAW_KEEP_MAX);
    if (this.tw > 0) {
      const bFrom = from - this.tw;
      for (const m of this.buckets) {
        for (const t of m.keys()) if (t < bFrom) m.delete(t);
        if (m.size > BUCKETS_KEEP_MAX) {
          const keys = [...m.keys()].sort((a, b) => a - b);
          for (let i = 0; i < keys.length - BUCKETS_KEEP_MAX; i++) m.delete(keys[i]);
        }
      }
    }
  }

  /**
   * Keeps memory bounded while nothing is drawn (a hidden tab gets no
   * animation frames, but its timers still run now and then).
   */
  maintain(now: number) {
    if (now - this.lastTrim > 1000) {
      this.trim(now);
      this.lastTrim = now;
    }
  }

  // --- what is held ---

  /** Raw samples per tag (raw panels), or buckets per tag (aggregated panels), in time order. */
  get points(): Record<string, { t: number; v?: number; q: string; [k: string]: unknown }[]> {
    const out: Record<string, any[]> = {};
    this.tags.forEach((tag, ti) => {
      if (this.tw === 0) {
        out[tag] = this.raw[ti].toPoints();
      } else {
        out[tag] = [...this.buckets[ti].values()]
          .sort((a, b) => a.t - b.t)
          .map((b) => ({ t: b.t, avg: aggAvg(b), min: b.min, max: b.max, first: b.first, last: b.last, count: b.count, q: Q_NAME[b.q] }));
      }
    });
    return out;
  }

  /** The drawn series: group start times and averages. */
  get display(): { xs: number[]; ys: (number | null)[][] } {
    return { xs: this.xs.slice(), ys: this.ys.map((y) => y.slice()) };
  }
}
