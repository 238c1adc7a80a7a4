// A trend panel on the page: its header, a uPlot chart of what its model
// (panel_model.ts) holds, history fetched for the model's grid, and a new
// grid when the chart's width settles far from the one it was made for.
import uPlot from 'uplot';
import { fetchHistory } from './api';
import { gridWidth, needsRegrid, PanelModel } from './panel_model';
import { panelKey, windowKey } from './panel_spec';
import type { AggPoint, Interval, PanelSpec, TagInfo } from './types';

export const COLORS = ['#4fc3f7', '#ffb74d', '#81c784', '#e57373', '#ba68c8', '#fff176', '#4db6ac', '#f06292', '#a1887f', '#90a4ae'];

/** How long a new width must hold before the grid is made again (a window being dragged). */
const REGRID_SETTLE_MS = 500;

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
  readonly model: PanelModel;

  redraws = 0;
  /** Times the grid was rebuilt for a new width. */
  regrids = 0;
  /** The chart's width when the resize observer last ran, and whether a regrid waits for it to hold (tests). */
  observedWidth = 0;
  regridPending = false;

  private plot: uPlot | null = null;
  private plotEl: HTMLElement;
  private infoEl: HTMLElement;
  private lastDraw = 0;
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
    this.model = new PanelModel(spec);
    this.onRemove = onRemove;
    this.onChange = onChange;

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

  // What the page and the tests (window.__tagstream.panels) read.
  get tags(): string[] {
    return this.model.tags;
  }
  get interval(): Interval {
    return this.model.interval;
  }
  get liveWindow(): boolean {
    return this.model.liveWindow;
  }
  get G(): number {
    return this.model.G;
  }
  get n(): number {
    return this.model.n;
  }
  get history(): PanelModel['history'] {
    return this.model.history;
  }
  get liveCount(): number {
    return this.model.liveCount;
  }
  get points(): PanelModel['points'] {
    return this.model.points;
  }
  get display(): PanelModel['display'] {
    return this.model.display;
  }

  /** Call once the element is in the document: measures, draws, fetches history. */
  start(tagInfo: (name: string) => TagInfo | undefined) {
    this.tagInfo = tagInfo;
    const now = Date.now();
    const width = gridWidth(this.plotEl.clientWidth);
    this.model.regrid(width, now);

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
      x: { time: true, range: () => this.model.range(Date.now()) as uPlot.Range.MinMax },
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
      this.regridPending = needsRegrid(this.model.n, w);
      if (this.regridPending) this.regridTimer = setTimeout(() => this.regrid(), REGRID_SETTLE_MS);
      this.observedWidth = w;
    });
    this.resizeObs.observe(this.plotEl);
    void this.loadHistory(now);
  }

  /** Forgets the grid and what is drawn, and starts again at the present width. */
  private regrid() {
    this.regridPending = false;
    if (!this.plot) return;
    this.abort.abort();
    this.abort = new AbortController();
    this.resizeObs?.disconnect();
    this.plot.destroy();
    this.plot = null;
    this.lastDraw = 0;
    this.drawnRangeEnd = 0;
    this.regrids++;
    this.start(this.tagInfo);
  }

  destroy() {
    clearTimeout(this.regridTimer);
    this.regridPending = false;
    this.abort.abort();
    this.resizeObs?.disconnect();
    this.plot?.destroy();
    this.plot = null;
    this.el.remove();
  }

  private data(): uPlot.AlignedData {
    return [this.model.xs, ...this.model.ys] as uPlot.AlignedData;
  }

  /** A raw sample from the stream, a poll or a gap refetch. */
  addRaw(tag: string, t: number, v: number, q: number) {
    this.model.addRaw(tag, t, v, q);
  }

  /** A bucket from a stream of this panel's interval or a poll. */
  addBucket(p: AggPoint) {
    this.model.addBucket(p);
  }

  private async loadHistory(now: number) {
    const r = this.model.historyRequest();
    // The panel's signal now: a regrid replaces this.abort, and what was
    // asked for the old grid must not land on the new one.
    const signal = this.abort.signal;
    try {
      const h = await fetchHistory(this.model.tags, r.interval, r.from, r.to, r.maxPoints, signal);
      if (signal.aborted) return;
      this.model.applyHistory(h, now);
    } catch (e) {
      if (signal.aborted) return;
      this.model.historyFailed(String((e as Error).message || e));
    }
  }

  /**
   * Changes after sinceMs may be missing (history_lost, or back from
   * polling): fetch that span again and merge it (duplicates dropped).
   */
  async refetch(sinceMs: number) {
    const now = Date.now();
    const plan = this.model.refetchPlan(sinceMs, now);
    if (!plan) return;
    const tags = this.model.tags;
    const signal = this.abort.signal;
    try {
      if ('buckets' in plan) {
        const r = plan.buckets;
        const h = await fetchHistory(tags, r.interval, r.from, r.to, r.maxPoints, signal);
        if (signal.aborted) return;
        this.model.mergeBuckets(h, now);
      } else {
        if (plan.groups) {
          const r = plan.groups;
          const h = await fetchHistory(tags, r.interval, r.from, r.to, r.maxPoints, signal);
          if (signal.aborted) return;
          this.model.mergeGroups(h);
        }
        const r = plan.raw;
        const h = await fetchHistory(tags, r.interval, r.from, r.to, r.maxPoints, signal);
        if (signal.aborted) return;
        this.model.mergeRaw(h);
      }
    } catch (e) {
      if (!signal.aborted) console.warn('refetch failed', e);
    }
    this.model.dirty = true;
  }

  /** Keeps memory bounded while nothing is painted. */
  maintain(now: number) {
    this.model.maintain(now);
  }

  /** Redraws if something changed or the window slid by a group; at most every minInterval. */
  render(now: number) {
    if (!this.plot) return;
    const m = this.model;
    const minInterval = Math.max(100, Math.min(1000, m.G / 2));
    if (now - this.lastDraw < minInterval) return;
    const slid = m.liveWindow && now - this.drawnRangeEnd >= m.G;
    if (!m.dirty && !slid) return;
    m.maintain(now);
    this.plot.setData(this.data(), true);
    this.lastDraw = now;
    this.drawnRangeEnd = now;
    m.dirty = false;
    this.redraws++;
    let info = '';
    if (m.history === 'loading') info = 'loading history…';
    else if (m.history === 'error') info = 'history: ' + m.historyError;
    const groupText = m.G >= 1000 ? `${+(m.G / 1000).toFixed(1)} s` : `${m.G} ms`;
    info += `${info ? ' · ' : ''}${m.interval}, ${windowKey(this.spec.window)} · ${groupText} per point`;
    if (this.infoEl.textContent !== info) this.infoEl.textContent = info;
  }
}
