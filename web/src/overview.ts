// The overview and tag browser at plant scale: a virtual list over the
// server's tag list (GET /api/tags, natural order, filtered by q=, a page at
// a time), so its cost follows what is on screen, not what exists:
// - only the rows in view (and a few around) are in the DOM, a fixed pool
//   reused as the list scrolls;
// - pages of the list are fetched as they come into view and dropped when
//   far away; the search is answered by the server as the operator types;
// - live values: the page streams only the visible rows' tags
//   (visibleTags(), which the app puts in its stream); a row that comes
//   into view gets its current value from a fresh page fetch;
// - sparklines of the last minutes: one history request for the visible
//   rows at a time, extended by the live values.
import { fetchSparks, fetchTagPage } from './api';
import { formatTime } from './format';
import type { TagInfo } from './types';
import { Q_CODE, Q_NAME } from './types';

/** Height of a row in px (style.css sets the same). */
export const ROW_H = 26;
const PAGE = 200;
/** Pages kept; farther ones are dropped (bounded memory at 100,000 tags). */
const MAX_PAGES = 40;
/** Rows rendered above and below the viewport. */
const OVERSCAN = 6;
/** A page older than this is fetched again when it comes into view (its values may be stale). */
const PAGE_FRESH_MS = 3000;
const SPARK_MS = 10 * 60000;
const SPARK_POINTS = 60;
const SPARK_REFRESH_MS = 30000;

export function formatValue(v: number | null, type: string): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (type === 'boolean') return v ? 'on' : 'off';
  if (type === 'integer') return String(Math.round(v));
  const a = Math.abs(v);
  if (a !== 0 && a < 0.01) return v.toExponential(2);
  return a >= 1000 ? v.toFixed(1) : v.toFixed(2);
}

interface Live {
  v: number | null;
  q: number; // -1: no value yet
  t: number;
}

interface Spark {
  t: number[];
  v: number[];
  fetched: number;
  dirty: boolean;
}

interface RowEl {
  tr: HTMLTableRowElement;
  check: HTMLInputElement;
  name: Text;
  value: Text;
  unit: Text;
  time: Text;
  desc: Text;
  path: SVGPathElement;
  tag: string | null;
  shownKey: string;
}

interface Page {
  tags: TagInfo[];
  at: number;
}

export class Overview {
  readonly el: HTMLElement;
  selected = new Set<string>();
  updates = 0;
  renders = 0;
  /** Tags of the current filter (the server's count). */
  total = 0;
  /** Every tag this page may read (the count without a filter). */
  allTotal = 0;
  /** The first page of the current filter has arrived. */
  loaded = false;
  private pages = new Map<number, Page>();
  private fetching = new Set<number>();
  private gen = 0;
  private live = new Map<string, Live>();
  private sparks = new Map<string, Spark>();
  private info = new Map<string, TagInfo>();
  private pool: RowEl[] = [];
  private wrap: HTMLElement;
  private sizer: HTMLElement;
  private table: HTMLTableElement;
  private tbody: HTMLTableSectionElement;
  private search: HTMLInputElement;
  private countEl: HTMLElement;
  private filter = '';
  private first = 0;
  private count = 0;
  private dirty = true;
  private visibleKey = '';
  private visibleTimer = 0;
  private searchTimer = 0;
  private sparkTimer = 0;
  private sparkBusy = false;
  private onSelect: () => void;
  private onSearch: () => void;
  private onVisible: () => void;
  private onTags: (tags: TagInfo[]) => void;
  private requestPaint: () => void;

  constructor(
    container: HTMLElement,
    hooks: {
      onSelect: () => void;
      onSearch: () => void;
      /** The visible tags changed (after scrolling stopped): the stream should follow. */
      onVisible: () => void;
      /** Tags whose metadata arrived with a page. */
      onTags: (tags: TagInfo[]) => void;
      /** Something to paint: the app paints at the next frame. */
      requestPaint: () => void;
    },
  ) {
    this.onSelect = hooks.onSelect;
    this.onSearch = hooks.onSearch;
    this.onVisible = hooks.onVisible;
    this.onTags = hooks.onTags;
    this.requestPaint = hooks.requestPaint;
    this.el = container;
    this.search = container.querySelector('#tag-search') as HTMLInputElement;
    this.countEl = container.querySelector('#tag-count') as HTMLElement;
    this.wrap = container.querySelector('.table-wrap') as HTMLElement;
    this.sizer = container.querySelector('.vsizer') as HTMLElement;
    this.table = container.querySelector('#tags') as HTMLTableElement;
    this.tbody = this.table.querySelector('tbody') as HTMLTableSectionElement;
    this.search.addEventListener('input', () => {
      window.clearTimeout(this.searchTimer);
      // The server answers each keystroke's query; a short pause saves the ones typed over.
      this.searchTimer = window.setTimeout(() => {
        this.setFilter(this.search.value);
        this.onSearch();
      }, 120);
    });
    this.wrap.addEventListener('scroll', () => this.markDirty(), { passive: true });
    new ResizeObserver(() => this.markDirty()).observe(this.wrap);
    const all = container.querySelector('#select-visible') as HTMLInputElement;
    all.addEventListener('change', () => {
      for (const r of this.pool) {
        if (!r.tag || r.tr.hidden) continue;
        r.check.checked = all.checked;
        if (all.checked) this.selected.add(r.tag);
        else this.selected.delete(r.tag);
      }
      this.onSelect();
    });
    this.sparkTimer = window.setInterval(() => void this.loadSparks(), SPARK_REFRESH_MS / 3);
  }

  get filterText(): string {
    return this.filter;
  }

  /** A new search: the server filters; the list starts at the top. */
  setFilter(text: string) {
    if (this.search.value !== text) this.search.value = text;
    // Already shown, or on its way (a first paint may have asked for it).
    if (text === this.filter && (this.loaded || this.fetching.has(0))) return;
    this.filter = text;
    this.gen++;
    this.pages.clear();
    this.fetching.clear();
    this.loaded = false;
    this.wrap.scrollTop = 0;
    void this.fetchPage(0);
  }

  /** Fetches the visible pages again (new tags, current values). */
  refresh() {
    for (const p of this.pageRange()) void this.fetchPage(p);
  }

  setSelected(names: string[]) {
    this.selected = new Set(names);
    for (const r of this.pool) if (r.tag) r.check.checked = this.selected.has(r.tag);
  }

  /** The tags of the rows in view, in order (what the stream should carry for the overview). */
  visibleTags(): string[] {
    const out: string[] = [];
    const end = Math.min(this.total, this.first + this.count);
    for (let i = Math.max(0, this.first); i < end; i++) {
      const t = this.tagAt(i);
      if (t) out.push(t.name);
    }
    return out;
  }

  /** Metadata of a tag seen in a page. */
  tagInfo(name: string): TagInfo | undefined {
    return this.info.get(name);
  }

  /** A new value for a tag (newest wins). */
  update(tag: string, v: number, q: number, t: number) {
    let l = this.live.get(tag);
    if (!l) {
      // Only tags on a kept page are tracked: the stream may carry others (panels).
      if (!this.info.has(tag)) return;
      l = { v: null, q: -1, t: 0 };
      this.live.set(tag, l);
    }
    if (t < l.t) return;
    if (t === l.t && v === l.v && q === l.q) return;
    l.v = v;
    l.t = t;
    l.q = q;
    this.updates++;
    const s = this.sparks.get(tag);
    if (s && (s.t.length === 0 || t > s.t[s.t.length - 1])) {
      s.t.push(t);
      s.v.push(v);
      const cut = t - SPARK_MS;
      let k = 0;
      while (k < s.t.length && s.t[k] < cut) k++;
      if (k > 0 || s.t.length > SPARK_POINTS * 2) {
        const drop = Math.max(k, s.t.length - SPARK_POINTS * 2);
        s.t.splice(0, drop);
        s.v.splice(0, drop);
      }
      s.dirty = true;
    }
    this.dirty = true;
  }

  /** Current value of a tag, for tests. */
  value(tag: string): { v: number | null; q: string; t: number } | null {
    const l = this.live.get(tag);
    return l ? { v: l.v, q: Q_NAME[l.q] || 'none', t: l.t } : null;
  }

  /** Rows in the DOM, for tests and benchmarks. */
  get domRows(): number {
    return this.tbody.rows.length;
  }

  private markDirty() {
    this.dirty = true;
    this.requestPaint();
  }

  private tagAt(i: number): TagInfo | undefined {
    return this.pages.get(Math.floor(i / PAGE))?.tags[i % PAGE];
  }

  private pageRange(): number[] {
    const end = Math.min(this.total, this.first + this.count);
    const out: number[] = [];
    if (end <= this.first) return this.total === 0 ? [0] : out;
    for (let p = Math.floor(this.first / PAGE); p <= Math.floor((end - 1) / PAGE); p++) out.push(p);
    return out;
  }

  private async fetchPage(p: number) {
    if (this.fetching.has(p)) return;
    this.fetching.add(p);
    const gen = this.gen;
    try {
      const r = await fetchTagPage(this.filter, p * PAGE, PAGE);
      if (gen !== this.gen) return;
      this.pages.set(p, { tags: r.tags, at: Date.now() });
      this.total = r.total;
      if (!this.filter) this.allTotal = r.total;
      this.loaded = true;
      for (const t of r.tags) {
        this.info.set(t.name, t);
        const cur = this.live.get(t.name);
        if (t.value !== undefined && t.value !== null && t.t && (!cur || t.t >= cur.t)) {
          this.live.set(t.name, { v: t.value, q: Q_CODE[t.quality || 'good'] ?? 0, t: t.t });
        } else if (!cur) {
          this.live.set(t.name, { v: null, q: -1, t: 0 });
        }
      }
      this.onTags(r.tags);
      this.evict();
      this.markDirty();
    } catch (e) {
      console.warn('tags:', e);
    } finally {
      if (gen === this.gen) this.fetching.delete(p);
    }
  }

  /** Drops the pages farthest from the view, and what was known of their tags. */
  private evict() {
    if (this.pages.size <= MAX_PAGES) return;
    const here = Math.floor(this.first / PAGE);
    const far = [...this.pages.keys()].sort((a, b) => Math.abs(b - here) - Math.abs(a - here));
    for (const p of far.slice(0, this.pages.size - MAX_PAGES)) {
      for (const t of this.pages.get(p)!.tags) {
        if (this.selected.has(t.name)) continue;
        this.live.delete(t.name);
        this.sparks.delete(t.name);
        this.info.delete(t.name);
      }
      this.pages.delete(p);
    }
  }

  /** Paints the rows in view; cheap when nothing changed. */
  render(_now: number) {
    const h = this.wrap.clientHeight || 600;
    const first = Math.max(0, Math.floor(this.wrap.scrollTop / ROW_H) - OVERSCAN);
    const count = Math.ceil(h / ROW_H) + 2 * OVERSCAN;
    if (first !== this.first || count !== this.count) {
      this.first = first;
      this.count = count;
      this.dirty = true;
    }
    if (!this.dirty) return;
    this.dirty = false;
    this.renders++;
    const sizerH = this.total * ROW_H + 'px';
    if (this.sizer.style.height !== sizerH) this.sizer.style.height = sizerH;
    const top = this.first * ROW_H + 'px';
    if (this.table.style.top !== top) this.table.style.top = top;
    const rows = Math.max(0, Math.min(this.count, this.total - this.first));
    while (this.pool.length < rows) this.pool.push(this.makeRow());
    while (this.pool.length > rows) this.pool.pop()!.tr.remove();
    const now = Date.now();
    for (let k = 0; k < rows; k++) {
      const r = this.pool[k];
      if (r.tr.parentNode !== this.tbody) this.tbody.appendChild(r.tr);
      this.paintRow(r, this.tagAt(this.first + k), now);
    }
    for (const p of this.pageRange()) {
      const page = this.pages.get(p);
      if (!page) void this.fetchPage(p);
    }
    const text = this.filter ? `${this.total} of ${this.allTotal || this.total} tags` : `${this.total} tags`;
    if (this.countEl.textContent !== text) this.countEl.textContent = text;
    // The stream and the sparklines follow the view once it settles.
    const key = this.visibleTags().join(',');
    if (key !== this.visibleKey && this.loaded) {
      const firstView = this.visibleKey === '';
      this.visibleKey = key;
      window.clearTimeout(this.visibleTimer);
      // The first view goes to the stream at once; later ones once scrolling pauses.
      if (firstView) this.settled();
      else this.visibleTimer = window.setTimeout(() => this.settled(), 250);
    }
  }

  private settled() {
    // Pages fetched a while ago have old values: fetch the visible ones again
    // (the stream carries changes from now on).
    const now = Date.now();
    for (const p of this.pageRange()) {
      const page = this.pages.get(p);
      if (page && now - page.at > PAGE_FRESH_MS) void this.fetchPage(p);
    }
    this.onVisible();
    void this.loadSparks();
  }

  private paintRow(r: RowEl, t: TagInfo | undefined, now: number) {
    if (!t) {
      if (r.tag !== null) {
        r.tag = null;
        r.tr.removeAttribute('data-tag');
        r.name.nodeValue = '…';
        r.value.nodeValue = r.unit.nodeValue = r.time.nodeValue = r.desc.nodeValue = '';
        r.path.setAttribute('d', '');
        r.tr.className = 'q-none';
        r.shownKey = '';
      }
      return;
    }
    const l = this.live.get(t.name);
    const s = this.sparks.get(t.name);
    const key = `${l?.t}|${l?.v}|${l?.q}|${s ? s.t.length + ':' + s.t[s.t.length - 1] : ''}`;
    if (r.tag === t.name && r.shownKey === key) return;
    if (r.tag !== t.name) {
      r.tag = t.name;
      r.tr.dataset.tag = t.name;
      r.name.nodeValue = t.name;
      r.unit.nodeValue = t.unit || '';
      r.desc.nodeValue = t.description || '';
      r.check.checked = this.selected.has(t.name);
    }
    r.shownKey = key;
    const text = formatValue(l ? l.v : null, t.type);
    if (r.value.nodeValue !== text) r.value.nodeValue = text;
    const tt = l && l.t ? formatTime(l.t) : '–';
    if (r.time.nodeValue !== tt) r.time.nodeValue = tt;
    const qn = l && l.q >= 0 ? Q_NAME[l.q] : 'none';
    const cls = 'q-' + qn;
    if (r.tr.className !== cls) {
      r.tr.className = cls;
      r.tr.title = l && l.q >= 0 ? qn : '';
    }
    r.path.setAttribute('d', s ? sparkPath(s, now) : '');
  }

  private makeRow(): RowEl {
    const tr = document.createElement('tr');
    const td = (cls: string) => {
      const c = document.createElement('td');
      c.className = cls;
      tr.appendChild(c);
      return c;
    };
    const check = document.createElement('input');
    check.type = 'checkbox';
    td('sel').appendChild(check);
    const nameTd = td('name');
    const dot = document.createElement('span');
    dot.className = 'qdot';
    const name = document.createTextNode('');
    nameTd.append(dot, name);
    const value = document.createTextNode('–');
    td('value').appendChild(value);
    const unit = document.createTextNode('');
    td('unit').appendChild(unit);
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', '0 0 60 16');
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.classList.add('spark');
    const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    svg.appendChild(path);
    td('spark').appendChild(svg);
    const time = document.createTextNode('–');
    td('time').appendChild(time);
    const desc = document.createTextNode('');
    td('desc').appendChild(desc);
    const row: RowEl = { tr, check, name, value, unit, time, desc, path, tag: null, shownKey: '' };
    check.addEventListener('change', () => {
      if (!row.tag) return;
      if (check.checked) this.selected.add(row.tag);
      else this.selected.delete(row.tag);
      this.onSelect();
    });
    check.setAttribute('aria-label', 'select');
    return row;
  }

  /** Sparklines of the visible rows that have none, or an old one: one history request. */
  private async loadSparks() {
    if (this.sparkBusy) return;
    const now = Date.now();
    const want = this.visibleTags().filter((n) => {
      const s = this.sparks.get(n);
      return !s || now - s.fetched > SPARK_REFRESH_MS;
    });
    if (want.length === 0) return;
    this.sparkBusy = true;
    try {
      const r = await fetchSparks(want, now - SPARK_MS, now, SPARK_POINTS);
      for (const series of r.series) {
        const s: Spark = { t: [], v: [], fetched: now, dirty: true };
        for (const p of series.points) {
          const v = p.avg ?? p.v;
          if (typeof v === 'number') {
            s.t.push(p.t);
            s.v.push(v);
          }
        }
        // Live values newer than the history go on the end.
        const l = this.live.get(series.tag);
        if (l && l.v !== null && (s.t.length === 0 || l.t > s.t[s.t.length - 1])) {
          s.t.push(l.t);
          s.v.push(l.v);
        }
        this.sparks.set(series.tag, s);
      }
      this.markDirty();
    } catch (e) {
      console.warn('sparklines:', e);
    } finally {
      this.sparkBusy = false;
    }
  }

  destroy() {
    window.clearInterval(this.sparkTimer);
  }
}

/** The sparkline as an SVG path in a 60x16 box: time across, value up. */
export function sparkPath(s: { t: number[]; v: number[] }, now: number): string {
  if (s.t.length < 2) return '';
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of s.v) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi - lo || 1;
  const t0 = now - SPARK_MS;
  let d = '';
  for (let i = 0; i < s.t.length; i++) {
    const x = Math.max(0, Math.min(60, ((s.t[i] - t0) / SPARK_MS) * 60));
    const y = 15 - ((s.v[i] - lo) / span) * 14;
    d += (i ? 'L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1);
  }
  return d;
}
