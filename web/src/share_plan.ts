// Pure parts of the shared stream (shared_stream.ts, stream_worker.ts):
// what one stream for every tab asks for, and which points go to which tab.
import type { Interval } from './types';

/** A tab's stream, as its URL says. */
export interface TabSpec {
  tags: string[];
  interval: Interval;
  rate?: number;
  lastEventId?: string;
}

/** Reads /api/sse/stream?tags[]=..&interval=..&rate=..&lastEventId=.. */
export function parseStreamUrl(url: string): TabSpec {
  const q = new URLSearchParams(url.slice(url.indexOf('?') + 1));
  const tags: string[] = [];
  for (const [k, v] of q) if (k === 'tags[]' || k === 'tags') tags.push(...v.split(',').filter(Boolean));
  const rate = q.get('rate');
  return {
    tags,
    interval: (q.get('interval') || 'raw') as Interval,
    rate: rate !== null && rate !== '' && Number.isFinite(Number(rate)) ? Number(rate) : undefined,
    lastEventId: q.get('lastEventId') || undefined,
  };
}

/**
 * The one stream for several tabs: the union of their tags (sorted), their
 * interval when they share one, else raw (a tab builds its buckets from raw
 * samples), and the fastest display rate any tab asks for (none if one asks
 * for none: every change then goes out at the server's rate).
 */
export function unionSpec(specs: TabSpec[]): { tags: string[]; interval: Interval; rate?: number } | null {
  if (specs.length === 0) return null;
  const tags = [...new Set(specs.flatMap((s) => s.tags))].sort();
  if (tags.length === 0) return null;
  const intervals = new Set(specs.map((s) => s.interval));
  const interval: Interval = intervals.size === 1 ? specs[0].interval : 'raw';
  const rate = specs.some((s) => s.rate === undefined) ? undefined : Math.min(...specs.map((s) => s.rate!));
  return { tags, interval, rate };
}

export function unionUrl(u: { tags: string[]; interval: Interval; rate?: number }, lastEventId: string | null): string {
  let url = `/api/sse/stream?${u.tags.map((t) => 'tags[]=' + encodeURIComponent(t)).join('&')}&interval=${u.interval}`;
  if (u.rate !== undefined) url += '&rate=' + Math.round(u.rate);
  if (lastEventId) url += '&lastEventId=' + encodeURIComponent(lastEventId);
  return url;
}

/** A test of tag names against a tab's names and glob patterns (* and ?). */
export function tagMatcher(tags: string[]): (name: string) => boolean {
  const names = new Set(tags.filter((t) => !/[*?]/.test(t)));
  const globs = tags
    .filter((t) => /[*?]/.test(t))
    .map((t) => new RegExp('^' + t.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$'));
  if (globs.length === 0) return (n) => names.has(n);
  return (n) => names.has(n) || globs.some((g) => g.test(n));
}
