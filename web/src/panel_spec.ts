// A panel's spec as text, `interval~window~tag,tag,...`: the form a panel
// takes in the URL and the key that tells two panels apart. Window:
// 15m|1h|24h|7d or c<fromMs>_<toMs> (custom; toMs empty = until now).
import { INTERVALS, type Interval, type PanelSpec, type WindowSpec } from './types';

export function windowKey(w: WindowSpec): string {
  return typeof w === 'string' ? w : `c${w.from}_${w.to ?? ''}`;
}

export function panelKey(s: PanelSpec): string {
  return `${s.interval}~${windowKey(s.window)}~${s.tags.join(',')}`;
}

export function parseWindow(s: string | null): WindowSpec | null {
  if (!s) return null;
  if (s === '15m' || s === '1h' || s === '24h' || s === '7d') return s;
  const m = /^c(\d+)_(\d*)$/.exec(s);
  if (m) {
    const from = Number(m[1]);
    const to = m[2] ? Number(m[2]) : null;
    if (to !== null && to <= from) return null;
    return { from, to };
  }
  return null;
}

export function parsePanel(s: string): PanelSpec | null {
  const parts = s.split('~');
  if (parts.length !== 3) return null;
  const interval = parts[0] as Interval;
  if (!INTERVALS.includes(interval)) return null;
  const window = parseWindow(parts[1]);
  if (!window) return null;
  const tags = parts[2].split(',').filter((t) => /^[A-Za-z0-9_.:-]+$/.test(t));
  if (tags.length === 0) return null;
  return { interval, window, tags: [...new Set(tags)] };
}
