// The overview and tag browser: every tag with its live value, unit,
// quality (by colour) and description; search, select, add a panel.
// Rows are built once per tag; live updates change text nodes in place,
// at most a few times a second, and only for the tags that changed.
import { formatTime } from './format';
import type { TagInfo } from './types';
import { Q_NAME } from './types';

interface Row {
  tag: TagInfo;
  tr: HTMLTableRowElement;
  check: HTMLInputElement;
  value: Text;
  time: Text;
  unit: Text;
  desc: Text;
  q: number;
  v: number | null;
  t: number;
  hay: string;
}

const RENDER_EVERY_MS = 250;

export function formatValue(v: number | null, type: string): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (type === 'boolean') return v ? 'on' : 'off';
  if (type === 'integer') return String(Math.round(v));
  const a = Math.abs(v);
  if (a !== 0 && a < 0.01) return v.toExponential(2);
  return a >= 1000 ? v.toFixed(1) : v.toFixed(2);
}

export class Overview {
  readonly el: HTMLElement;
  rows = new Map<string, Row>();
  selected = new Set<string>();
  updates = 0;
  renders = 0;
  private tbody: HTMLTableSectionElement;
  private search: HTMLInputElement;
  private countEl: HTMLElement;
  private dirty = new Set<string>();
  private lastRender = 0;
  private filter = '';
  private onSelect: () => void;
  private onSearch: () => void;

  constructor(container: HTMLElement, onSelect: () => void, onSearch: () => void) {
    this.onSelect = onSelect;
    this.onSearch = onSearch;
    this.el = container;
    this.search = container.querySelector('#tag-search') as HTMLInputElement;
    this.countEl = container.querySelector('#tag-count') as HTMLElement;
    this.tbody = container.querySelector('#tags tbody') as HTMLTableSectionElement;
    this.search.addEventListener('input', () => {
      this.setFilter(this.search.value);
      this.onSearch();
    });
    const all = container.querySelector('#select-visible') as HTMLInputElement;
    all.addEventListener('change', () => {
      for (const r of this.rows.values()) {
        if (r.tr.hidden) continue;
        r.check.checked = all.checked;
        if (all.checked) this.selected.add(r.tag.name);
        else this.selected.delete(r.tag.name);
      }
      this.onSelect();
    });
  }

  get filterText(): string {
    return this.filter;
  }

  setFilter(text: string) {
    this.filter = text;
    if (this.search.value !== text) this.search.value = text;
    const needle = text.trim().toLowerCase();
    let shown = 0;
    let re: RegExp | null = null;
    if (/[*?]/.test(needle)) {
      const src = needle.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
      re = new RegExp('^' + src + '$');
    }
    for (const r of this.rows.values()) {
      const hit = !needle || (re ? re.test(r.tag.name.toLowerCase()) : r.hay.includes(needle));
      if (r.tr.hidden === hit) r.tr.hidden = !hit;
      if (hit) shown++;
    }
    this.countEl.textContent = `${shown} of ${this.rows.size} tags`;
  }

  setSelected(names: string[]) {
    this.selected = new Set(names);
    for (const r of this.rows.values()) r.check.checked = this.selected.has(r.tag.name);
  }

  /** Adds rows for new tags and refreshes descriptions; keeps rows in name order. */
  setTags(tags: TagInfo[]) {
    let added = false;
    for (const t of tags) {
      const r = this.rows.get(t.name);
      if (r) {
        if (t.unit !== r.tag.unit) r.unit.nodeValue = t.unit || '';
        if (t.description !== r.tag.description) r.desc.nodeValue = t.description || '';
        r.tag = { ...r.tag, ...t, value: r.tag.value };
        r.hay = (t.name + ' ' + (t.unit || '') + ' ' + (t.description || '')).toLowerCase();
        continue;
      }
      this.rows.set(t.name, this.makeRow(t));
      added = true;
    }
    if (added) {
      const names = [...this.rows.keys()].sort();
      const frag = document.createDocumentFragment();
      for (const n of names) frag.appendChild(this.rows.get(n)!.tr);
      this.tbody.appendChild(frag);
      this.setFilter(this.filter);
    }
  }

  private makeRow(t: TagInfo): Row {
    const tr = document.createElement('tr');
    tr.dataset.tag = t.name;
    const td = (cls: string) => {
      const c = document.createElement('td');
      c.className = cls;
      tr.appendChild(c);
      return c;
    };
    const checkTd = td('sel');
    const check = document.createElement('input');
    check.type = 'checkbox';
    check.setAttribute('aria-label', 'select ' + t.name);
    check.checked = this.selected.has(t.name);
    check.addEventListener('change', () => {
      if (check.checked) this.selected.add(t.name);
      else this.selected.delete(t.name);
      this.onSelect();
    });
    checkTd.appendChild(check);
    const nameTd = td('name');
    const dot = document.createElement('span');
    dot.className = 'qdot';
    nameTd.append(dot, document.createTextNode(t.name));
    const valueTd = td('value');
    const value = document.createTextNode('–');
    valueTd.appendChild(value);
    const unit = document.createTextNode(t.unit || '');
    td('unit').appendChild(unit);
    const time = document.createTextNode('–');
    td('time').appendChild(time);
    const desc = document.createTextNode(t.description || '');
    td('desc').appendChild(desc);
    const row: Row = {
      tag: t,
      tr,
      check,
      value,
      time,
      unit,
      desc,
      q: -1,
      v: null,
      t: 0,
      hay: (t.name + ' ' + (t.unit || '') + ' ' + (t.description || '')).toLowerCase(),
    };
    if (t.value !== undefined && t.value !== null && t.t) {
      row.v = t.value;
      row.t = t.t;
      row.q = t.quality ? ['good', 'uncertain', 'bad'].indexOf(t.quality) : 0;
      this.paint(row);
    } else {
      tr.className = 'q-none';
    }
    return row;
  }

  /** A new value for a tag (newest wins). */
  update(tag: string, v: number, q: number, t: number) {
    const r = this.rows.get(tag);
    if (!r || t < r.t) return;
    if (t === r.t && v === r.v && q === r.q) return;
    r.v = v;
    r.t = t;
    r.q = q;
    this.dirty.add(tag);
    this.updates++;
  }

  private paint(r: Row) {
    const text = formatValue(r.v, r.tag.type);
    if (r.value.nodeValue !== text) r.value.nodeValue = text;
    const tt = formatTime(r.t);
    if (r.time.nodeValue !== tt) r.time.nodeValue = tt;
    const cls = 'q-' + (Q_NAME[r.q] || 'none');
    if (r.tr.className !== cls) {
      r.tr.className = cls;
      r.tr.title = Q_NAME[r.q] || '';
    }
  }

  /** Paints the tags that changed, at most every RENDER_EVERY_MS. */
  render(now: number) {
    if (this.dirty.size === 0 || now - this.lastRender < RENDER_EVERY_MS) return;
    this.lastRender = now;
    for (const tag of this.dirty) {
      const r = this.rows.get(tag);
      if (r) this.paint(r);
    }
    this.dirty.clear();
    this.renders++;
  }

  /** Current value of a tag, for tests. */
  value(tag: string): { v: number | null; q: string; t: number } | null {
    const r = this.rows.get(tag);
    return r ? { v: r.v, q: Q_NAME[r.q] || 'none', t: r.t } : null;
  }
}
