// The REST endpoints the dashboard reads (docs/API.md). Every URL is
// relative to the page's origin.
import type { HistoryResponse, Interval, TagInfo } from './types';

export function tagsQuery(tags: string[]): string {
  return tags.map((t) => 'tags[]=' + encodeURIComponent(t)).join('&');
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  if (!res.ok) {
    let msg = res.status + ' ' + res.statusText;
    try {
      const body = await res.json();
      if (body && body.message) msg += ': ' + body.message;
    } catch {
      /* not JSON */
    }
    throw new Error(msg);
  }
  return (await res.json()) as T;
}

export function fetchTags(): Promise<{ tags: TagInfo[]; total: number }> {
  return json('/api/tags?limit=100000', { cache: 'no-store' });
}

/**
 * History of `tags` between from and to (epoch ms). With maxPoints the
 * server merges rows into groups of (to-from)/maxPoints aligned on `from`.
 */
export function fetchHistory(
  tags: string[],
  interval: Interval,
  from: number,
  to: number,
  maxPoints?: number,
  signal?: AbortSignal,
): Promise<HistoryResponse> {
  let url = `/api/data/history?${tagsQuery(tags)}&interval=${interval}&from=${Math.floor(from)}&to=${Math.ceil(to)}`;
  if (maxPoints) url += `&maxPoints=${maxPoints}`;
  return json(url, { cache: 'no-store', signal });
}

export interface LatestResult {
  status: number;
  etag: string | null;
  body: { interval: Interval; points: any[] } | null;
}

export async function fetchLatest(tags: string[], interval: Interval, etag: string | null): Promise<LatestResult> {
  const headers: Record<string, string> = {};
  if (etag) headers['If-None-Match'] = etag;
  const res = await fetch(`/api/data/latest?${tagsQuery(tags)}&interval=${interval}`, { headers, cache: 'no-store' });
  if (res.status === 304) return { status: 304, etag, body: null };
  if (!res.ok) throw new Error('latest: ' + res.status);
  return { status: res.status, etag: res.headers.get('ETag'), body: await res.json() };
}

export interface Stats {
  uptimeSeconds: number;
  streams: { open: number; opened: number; closed: number; slowDropped?: number };
  events: { total: number; perSecond: number };
  bytes: { total: number; perSecond: number; queued?: number };
  ingest: { samplesTotal: number; samplesPerSecond: number; requestsTotal: number; rejectedLines?: number };
  store: { pendingSamples: number; committedSamples: number };
  tags: { name: string; updatesPerSecond: number }[];
}

export function fetchStats(): Promise<Stats> {
  return json('/api/stats', { cache: 'no-store' });
}
