// A trend panel: a uPlot chart of a few tags at one interval over one window.
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
import uPlot from 'uplot';
import { fetchHistory } from './api';
import { panelKey, windowKey } from './panel_spec';
import { Agg, aggAddSample, aggAvg, aggFromPoint, aggFromSample, aggMerge, RawBuf } from './series';
import {
  INTERVAL_MS,
  PanelSpec,
  Q_CODE,
  Q_NAME,
  TagInfo,
  WINDOW_MS,
  type AggPoint,
  type Interval,
} from './types';

export const COLORS = ['#4fc3f7', '#ffb74d', '#81c784', '#e57373', '#ba68c8', '#fff176', '#4db6ac', '#f06292', '#a1887f', '#90a4ae'];

/** Raw samples kept per tag at most (dedupe and tests); the display keeps groups. */
const RAW_KEEP_MAX = 50000;
const RAW_KEEP_MS = 3600000;
/** Buckets kept per tag at most (in place updates, tests); older groups stay drawn. */
const BUCKETS_KEEP_MAX = 5000;
/** Gap refetches take raw samples for at most this span; older gaps are filled with groups. */
const REFETCH_RAW_MAX_MS = 15 * 60000;

let nextId = 1;

function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

export class Panel {
  readonly id = nextId++;
  readonly spec: PanelSpec;
  readonly key: string;
  readonly el: HTMLElement;
  readonly tags: string[];
  readonly tagIndex = new Map<string, number>();
  readonly interval: Interval;
  /** Bucket width of the interval (0 for raw). */
  readonly tw: number;
  readonly liveWindow: boolean;

  /** The grid: group width and origin (epoch ms), groups per chart. */
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
  redraws = 0;
  /** Times the grid was rebuilt for a new width. */
  regrids = 0;
  dirty = true;

  private plot: uPlot | null = null;
  private plotEl: HTMLElement;
  private infoEl: HTMLElement;
  private lastDraw = 0;
  private lastTrim = 0;
  private drawnRangeEnd = 0;
  private abort = new AbortController();
  private resizeObs: ResizeObserver | null = null;
  private regridTimer: ReturnType<typeof setTimeout> | undefined;
  private tagInfo: (name: string) => TagInfo | undefined = () => undefined;
  private onRemove: (p: Panel) => void;
  private onChange: (p: Panel, spec: PanelSpec) => void;

  constructor(
    spec: PanelSpec,
    tagInfo: (name: string) => TagInfo | undefined,
    onRemove: (p: Panel) => void,
    onChange: (p: Panel, spec: PanelSpec) => void,
  ) {
    this.spec = spec;
    this.key = panelKey(spec);
    this.tags = spec.tags.slice();
    this.tags.forEach((t, i) => this.tagIndex.set(t, i));
    this.interval = spec.interval;
    this.tw = INTERVAL_MS[spec.interval];
    this.liveWindow = typeof spec.window === 'string' || spec.window.to === null;
    this.onRemove = onRemove;
    this.onChange = onChange;
    for (let i = 0; i < this.tags.length; i++) {
      this.groups.push([]);
      this.ys.push([]);
      this.liveFrom.push(undefined);
      this.raw.push(new RawBuf());
      this.buckets.push(new Map());
      this.lastRawT.push(-Infinity);
    }

    this.el = document.createElement('section');
    this.el.className = 'panel';
    this.el.dataset.panel = String(this.id);
    const head = document.createElement('div');
    head.className = 'panel-head';
    const names = document.createElement('div');
    names.className = 'panel-tags';
    this.tags.forEach((t, i) => {
      const chip = document.createElement('span');
      chip.className = 'chip';
      chip.style.borderColor = COLORS[i % COLORS.length];
      const info = tagInfo(t);
      chip.title = info?.description || t;
      chip.textContent = t + (info?.unit ? ` (${info.unit})` : '');
      names.appendChild(chip);
    });
    head.appendChild(names);

    const controls = document.createElement('div');
    controls.className = 'panel-controls';
    const ivSel = document.createElement('select');
    ivSel.setAttribute('aria-label', 'interval');
    for (const iv of ['raw', 'second', 'minute', 'hour', 'day']) ivSel.add(new Option(iv, iv, false, iv === spec.interval));
    ivSel.onchange = () => this.onChange(this, { ...this.spec, interval: ivSel.value as Interval });
    const wSel = document.createElement('select');
    wSel.setAttribute('aria-label', 'window');
    const wk = typeof spec.window === 'string' ? spec.window : 'custom';
    for (const w of ['15m', '1h', '24h', '7d']) wSel.add(new Option(w, w, false, w === wk));
    if (wk === 'custom') wSel.add(new Option('custom', 'custom', false, true));
    wSel.onchange = () => {
      if (wSel.value !== 'custom') this.onChange(this, { ...this.spec, window: wSel.value as PanelSpec['window'] });
    };
    const close = document.createElement('button');
    close.className = 'icon';
    close.title = 'Remove panel';
    close.textContent = '×';
    close.onclick = () => this.onRemove(this);
    controls.append(ivSel, wSel, close);
    head.appendChild(controls);

    this.plotEl = document.createElement('div');
    this.plotEl.className = 'plot';
    this.infoEl = document.createElement('div');
    this.infoEl.className = 'panel-info';
    this.el.append(head, this.plotEl, this.infoEl);
  }

  /** The window's span now: [from, to]. */
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

  /** Call once the element is in the document: measures, draws, fetches history. */
  start(tagInfo: (name: string) => TagInfo | undefined) {
    this.tagInfo = tagInfo;
    const now = Date.now();
    const width = Math.max(200, Math.floor(this.plotEl.clientWidth || 600));
    this.n = width;
    const [from, to] = this.range(now);
    const span = Math.max(1000, to - from);
    // (n-1) groups cover the span, so that n groups on the aligned grid
    // (O <= from) always reach `to`: history is asked with maxPoints = n.
    const g0 = Math.ceil(span / (this.n - 1));
    this.G = this.tw > 0 ? Math.ceil(g0 / this.tw) * this.tw : Math.max(1, g0);
    this.O = Math.floor(from / this.G) * this.G;

    const units = [...new Set(this.tags.map((t) => tagInfo(t)?.unit || ''))];
    const scaleOf = (t: string) => {
      const u = tagInfo(t)?.unit || '';
      const i = units.indexOf(u);
      return i <= 0 ? 'y' : 'y2';
    };
    const axisStyle = { stroke: '#9aa4b2', grid: { stroke: '#252a33', width: 1 }, ticks: { stroke: '#252a33', width: 1 } };
    const axes: uPlot.Axis[] = [
      { ...axisStyle },
      { ...axisStyle, scale: 'y', size: 56, label: units[0] || undefined, labelSize: units[0] ? 16 : 0 },
    ];
    const scales: uPlot.Scales = {
      x: { time: true, range: () => this.range(Date.now()) as uPlot.Range.MinMax },
      y: { auto: true },
    };
    if (units.length > 1) {
      scales.y2 = { auto: true };
      axes.push({ ...axisStyle, scale: 'y2', side: 1, size: 56, grid: { show: false }, label: units.slice(1).join(', '), labelSize: 16 });
    }
    const opts: uPlot.Options = {
      width,
      height: 220,
      ms: 1,
      pxAlign: 0,
      scales,
      axes,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false, setScale: false }, points: { size: 6 } },
      series: [
        { label: 'time' },
        ...this.tags.map((t, i) => ({
          label: t,
          scale: scaleOf(t),
          stroke: COLORS[i % COLORS.length],
          width: 1.5,
          spanGaps: true,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? '–' : fmtNum(v)),
        })),
      ],
    };
    this.plot = new uPlot(opts, this.data(), this.plotEl);
    this.resizeObs = new ResizeObserver(() => {
      const w = Math.floor(this.plotEl.clientWidth);
      if (!this.plot || w <= 0) return;
      if (Math.abs(w - this.plot.width) > 1) this.plot.setSize({ width: w, height: 220 });
      // The grid is one group per pixel of the width the panel started
      // with: once the width has settled far from it, start over at the
      // new width (history again at one group per pixel), as a new panel.
      clearTimeout(this.regridTimer);
      const n = Math.max(200, w);
      if (Math.abs(n - this.n) > 0.25 * this.n) this.regridTimer = setTimeout(() => this.regrid(), 500);
    });
    this.resizeObs.observe(this.plotEl);
    void this.loadHistory(now);
  }

  /** Forgets the grid and what is drawn, and starts again at the present width. */
  private regrid() {
    if (!this.plot) return;
    this.abort.abort();
    this.abort = new AbortController();
    this.resizeObs?.disconnect();
    this.plot.destroy();
    this.plot = null;
    this.base = 0;
    this.xs = [];
    for (let i = 0; i < this.tags.length; i++) {
      this.groups[i] = [];
      this.ys[i] = [];
      this.liveFrom[i] = undefined;
      this.raw[i] = new RawBuf();
      this.buckets[i] = new Map();
      this.lastRawT[i] = -Infinity;
    }
    this.history = 'loading';
    this.historyError = '';
    this.histTo = 0;
    this.lastDraw = 0;
    this.lastTrim = 0;
    this.drawnRangeEnd = 0;
    this.dirty = true;
    this.regrids++;
    this.start(this.tagInfo);
  }

  destroy() {
    clearTimeout(this.regridTimer);
    this.abort.abort();
    this.resizeObs?.disconnect();
    this.plot?.destroy();
    this.plot = null;
    this.el.remove();
  }

  idx(t: number): number {
    return Math.floor((t - this.O) / this.G);
  }

  private data(): uPlot.AlignedData {
    return [this.xs, ...this.ys] as uPlot.AlignedData;
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

  private clearFrom(ti: number, gi: number) {
    for (let i = Math.max(0, gi - this.base); i < this.xs.length; i++) {
      this.groups[ti][i] = null;
      this.ys[ti][i] = null;
    }
  }

  /** Whether a sample at t belongs in the window (now or later: the window slides). */
  private accepts(t: number): boolean {
    const [from, to] = this.range(Date.now());
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
    const lf = this.liveFrom[ti];
    if (lf === undefined) {
      this.liveFrom[ti] = gi;
      this.ensure(gi);
      this.clearFrom(ti, gi);
    } else if (gi < lf) {
      return; // history's span
    }
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
    const b = aggFromPoint(p, this.tw);
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
    const lf = this.liveFrom[ti];
    if (lf === undefined) {
      this.liveFrom[ti] = gi;
      this.ensure(gi);
      this.clearFrom(ti, gi);
    } else if (gi < lf) {
      return;
    }
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

  private async loadHistory(now: number) {
    const [from, to] = this.range(now);
    const O = Math.floor(from / this.G) * this.G;
    const n = this.n; // the chart's width in px
    const reqTo = O + n * this.G;
    // The panel's signal now: a regrid replaces this.abort, and what was
    // asked for the old grid must not land on the new one.
    const signal = this.abort.signal;
    try {
      const h = await fetchHistory(this.tags, this.interval, O, reqTo, n, signal);
      if (signal.aborted) return;
      this.histTo = Math.min(Date.parse(h.to) || now, Date.now());
      for (const s of h.series) {
        const ti = this.tagIndex.get(s.tag);
        if (ti === undefined || s.points.length === 0) continue;
        this.ensure(this.idx(s.points[0].t));
        this.ensure(this.idx(s.points[s.points.length - 1].t));
        const asBucket = this.tw > 0 && this.G === this.tw;
        for (const p of s.points) this.applyHistoryPoint(ti, p, this.histTo, asBucket);
      }
      this.history = 'ready';
    } catch (e) {
      if (signal.aborted) return;
      this.history = 'error';
      this.historyError = String((e as Error).message || e);
    }
    this.dirty = true;
  }

  /**
   * A point of history: a group on the grid, or (asBucket) one bucket of the
   * panel's interval, which replaces the held bucket unless that has as
   * many samples (live state is newer).
   */
  private applyHistoryPoint(ti: number, p: any, seededTo: number, asBucket: boolean) {
    const gi = this.idx(p.t);
    if (asBucket) {
      const m = this.buckets[ti];
      const cur = m.get(p.t);
      if (cur && cur.count >= (p.count ?? 1)) return;
      const b = aggFromPoint(p, this.tw);
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
    this.setGroup(ti, gi, aggFromPoint(p, this.G));
  }

  /**
   * Changes after sinceMs may be missing (history_lost, or back from
   * polling): fetch that span again and merge it (duplicates dropped).
   */
  async refetch(sinceMs: number) {
    const now = Date.now();
    const [wFrom] = this.range(now);
    const from = Math.max(wFrom, sinceMs - 2000);
    if (from >= now) return;
    const signal = this.abort.signal;
    try {
      if (this.tw === 0) {
        // Older than REFETCH_RAW_MAX_MS: groups where none are held.
        const rawFrom = Math.max(from, now - REFETCH_RAW_MAX_MS);
        if (rawFrom > from) {
          const O = Math.floor(from / this.G) * this.G;
          const n = Math.max(1, Math.ceil((rawFrom - O) / this.G));
          const h = await fetchHistory(this.tags, 'raw', O, O + n * this.G, n, signal);
          if (signal.aborted) return;
          for (const s of h.series) {
            const ti = this.tagIndex.get(s.tag);
            if (ti === undefined) continue;
            for (const p of s.points) {
              const gi = this.idx(p.t);
              this.ensure(gi);
              if (!this.groups[ti][gi - this.base]) this.setGroup(ti, gi, aggFromPoint(p, this.G));
            }
          }
        }
        const h = await fetchHistory(this.tags, 'raw', rawFrom, now + 1000, undefined, signal);
        if (signal.aborted) return;
        for (const s of h.series) for (const p of s.points) if (p.v !== undefined) this.addRaw(s.tag, p.t, p.v, Q_CODE[p.q] ?? 0);
      } else {
        const bFrom = Math.max(Math.floor(from / this.tw) * this.tw, now - 20000 * this.tw);
        const h = await fetchHistory(this.tags, this.interval, bFrom, now + 1000, undefined, signal);
        if (signal.aborted) return;
        const to = Math.min(Date.parse(h.to) || now, Date.now());
        for (const s of h.series) {
          const ti = this.tagIndex.get(s.tag);
          if (ti === undefined) continue;
          for (const p of s.points) {
            if (!this.accepts(p.t + this.tw - 1)) continue;
            this.applyHistoryPoint(ti, p, to, true);
          }
        }
      }
    } catch (e) {
      if (!signal.aborted) console.warn('refetch failed', e);
    }
    this.dirty = true;
  }

  // --- drawing ---

  /** Drops what slid out of the window. */
  private trim(now: number) {
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
   * Keeps memory bounded while nothing is painted (a hidden tab gets no
   * animation frames, but its timers still run now and then).
   */
  maintain(now: number) {
    if (now - this.lastTrim > 1000) {
      this.trim(now);
      this.lastTrim = now;
    }
  }

  /** Redraws if something changed or the window slid by a pixel; at most every minInterval. */
  render(now: number) {
    if (!this.plot) return;
    const minInterval = Math.max(100, Math.min(1000, this.G / 2));
    if (now - this.lastDraw < minInterval) return;
    const slid = this.liveWindow && now - this.drawnRangeEnd >= this.G;
    if (!this.dirty && !slid) return;
    this.maintain(now);
    this.plot.setData(this.data(), true);
    this.lastDraw = now;
    this.drawnRangeEnd = now;
    this.dirty = false;
    this.redraws++;
    let info = '';
    if (this.history === 'loading') info = 'loading history…';
    else if (this.history === 'error') info = 'history: ' + this.historyError;
    const groupText = this.G >= 1000 ? `${+(this.G / 1000).toFixed(1)} s` : `${this.G} ms`;
    info += `${info ? ' · ' : ''}${this.interval}, ${windowKey(this.spec.window)} · ${groupText} per point`;
    if (this.infoEl.textContent !== info) this.infoEl.textContent = info;
  }

  /** For tests and the status page: what the panel holds. */
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
