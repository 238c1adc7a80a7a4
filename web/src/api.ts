// The REST endpoints the dashboard reads (docs/API.md). Every URL is
// relative to the page's origin.
import { parseAuthInfo, session, sessionEndOf, type AuthInfo } from './session';
import type { ConnectorStatus } from './connectors_view';
import type { HistoryResponse, Interval, TagInfo } from './types';

export function tagsQuery(tags: string[]): string {
  return tags.map((t) => 'tags[]=' + encodeURIComponent(t)).join('&');
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  if (!res.ok) {
    let msg = res.status + ' ' + res.statusText;
    let body: any = null;
    try {
      body = await res.json();
      if (body && body.message) msg += ': ' + body.message;
    } catch {
      /* not JSON */
    }
    reportSessionEnd(res.status, body);
    throw new Error(msg);
  }
  return (await res.json()) as T;
}

/** A 401: the credential is gone (revoked, expired, signed out elsewhere). */
function reportSessionEnd(status: number, body: unknown) {
  const end = sessionEndOf(status, body);
  if (end) session.end(end);
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
  if (!res.ok) {
    if (res.status === 401) reportSessionEnd(401, await res.json().catch(() => null));
    throw new Error('latest: ' + res.status);
  }
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
  connectors?: ConnectorStatus[];
  deadband?: { suppressedTotal: number; tags: { name: string; suppressed: number }[] };
}

export function fetchStats(): Promise<Stats> {
  return json('/api/stats', { cache: 'no-store' });
}

// --- signing in (no token needed for these three) ---

export async function fetchAuth(): Promise<AuthInfo> {
  const res = await fetch('/api/auth', { cache: 'no-store' });
  return parseAuthInfo(res.status, await res.json().catch(() => null));
}

export type LoginResult = { ok: true; info: AuthInfo } | { ok: false; status: number; body: unknown };

/** POST /api/auth/login: on success the server sets the session cookie (HttpOnly). */
export async function login(token: string): Promise<LoginResult> {
  let res: Response;
  try {
    res = await fetch('/api/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token }),
      cache: 'no-store',
    });
  } catch {
    return { ok: false, status: 0, body: null };
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) return { ok: false, status: res.status, body };
  return { ok: true, info: parseAuthInfo(200, body) };
}

/** POST /api/auth/logout: clears the cookie. */
export async function logout(): Promise<void> {
  const res = await fetch('/api/auth/logout', { method: 'POST', cache: 'no-store' });
  if (!res.ok) throw new Error('logout: ' + res.status);
}
