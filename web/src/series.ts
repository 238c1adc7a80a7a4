// Aggregates and raw point buffers, kept in flat form for speed.
import { Q_CODE } from './types';

/** A bucket or a display group: what the server's rollups carry, plus sum and first/last times. */
export interface Agg {
  t: number; // start
  count: number;
  sum: number;
  min: number;
  max: number;
  first: number;
  firstT: number;
  last: number;
  lastT: number;
  q: number; // 0 good, 1 uncertain, 2 bad: the worst wins
  /** Built from history up to this time: later samples are still to be added. */
  seededTo?: number;
}

export function aggFromSample(start: number, t: number, v: number, q: number): Agg {
  return { t: start, count: 1, sum: v, min: v, max: v, first: v, firstT: t, last: v, lastT: t, q };
}

export function aggAddSample(a: Agg, t: number, v: number, q: number) {
  a.count++;
  a.sum += v;
  if (v < a.min) a.min = v;
  if (v > a.max) a.max = v;
  if (t < a.firstT) {
    a.firstT = t;
    a.first = v;
  }
  if (t >= a.lastT) {
    a.lastT = t;
    a.last = v;
  }
  if (q > a.q) a.q = q;
}

/** From a point of the history or the stream ({t,avg,min,max,first,last,count,q}, or {t,v,q}). */
export function aggFromPoint(p: any): Agg {
  if (p.v !== undefined && p.avg === undefined) return aggFromSample(p.t, p.t, p.v, Q_CODE[p.q] ?? 0);
  const count = p.count ?? 1;
  const avg = p.avg ?? p.last ?? p.v;
  return {
    t: p.t,
    count,
    sum: avg * count,
    min: p.min ?? avg,
    max: p.max ?? avg,
    first: p.first ?? avg,
    firstT: p.t,
    last: p.last ?? avg,
    // When its last sample came is not sent: the start stands for it, so a live
    // sample that lands in the bucket later replaces `last`, as it is newer.
    lastT: p.t,
    q: Q_CODE[p.q] ?? 0,
  };
}

/** Merges b into a (a copy of a when a is null). */
export function aggMerge(a: Agg | null, b: Agg, start: number): Agg {
  if (!a) return { ...b, t: start, seededTo: undefined };
  a.count += b.count;
  a.sum += b.sum;
  if (b.min < a.min) a.min = b.min;
  if (b.max > a.max) a.max = b.max;
  if (b.firstT < a.firstT) {
    a.firstT = b.firstT;
    a.first = b.first;
  }
  if (b.lastT >= a.lastT) {
    a.lastT = b.lastT;
    a.last = b.last;
  }
  if (b.q > a.q) a.q = b.q;
  return a;
}

export function aggAvg(a: Agg): number {
  return a.count > 0 ? a.sum / a.count : NaN;
}

/**
 * Raw samples of one tag in time order, unique by timestamp: what dedupe
 * by timestamp checks against. Trimmed from the front as the window slides.
 */
export class RawBuf {
  t: number[] = [];
  v: number[] = [];
  q: number[] = [];
  head = 0;

  get length(): number {
    return this.t.length - this.head;
  }

  get lastT(): number {
    return this.t.length > this.head ? this.t[this.t.length - 1] : -Infinity;
  }

  /** Inserts a sample; false when one with that timestamp is already held. */
  insert(t: number, v: number, q: number): boolean {
    const n = this.t.length;
    if (n === this.head || t > this.t[n - 1]) {
      this.t.push(t);
      this.v.push(v);
      this.q.push(q);
      return true;
    }
    // Out of order (a replay or a gap refetch): binary search.
    let lo = this.head,
      hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.t[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    if (lo < n && this.t[lo] === t) return false;
    if (lo === this.head && this.head > 0) {
      // Older than everything held: it was trimmed, or is new and old.
      this.head--;
      this.t[this.head] = t;
      this.v[this.head] = v;
      this.q[this.head] = q;
      return true;
    }
    this.t.splice(lo, 0, t);
    this.v.splice(lo, 0, v);
    this.q.splice(lo, 0, q);
    return true;
  }

  /** Drops samples older than tMin and keeps at most maxLen. */
  trim(tMin: number, maxLen: number) {
    const n = this.t.length;
    while (this.head < n && (this.t[this.head] < tMin || n - this.head > maxLen)) this.head++;
    if (this.head > 1024 && this.head > n / 2) {
      this.t = this.t.slice(this.head);
      this.v = this.v.slice(this.head);
      this.q = this.q.slice(this.head);
      this.head = 0;
    }
  }

  toPoints(): { t: number; v: number; q: string }[] {
    const out = [];
    for (let i = this.head; i < this.t.length; i++)
      out.push({ t: this.t[i], v: this.v[i], q: ['good', 'uncertain', 'bad'][this.q[i]] });
    return out;
  }
}
