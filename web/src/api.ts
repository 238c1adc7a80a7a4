// The REST endpoints the dashboard reads (docs/API.md). Every URL is
// relative to the page's origin.
import { parseAuthInfo, session, sessionEndOf, type AuthInfo } from './session';
import type { ConnectorStatus } from './connectors_view';
import type { HistoryResponse, Interval, Quality, TagInfo } from './types';

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

/** A page of the tag list: natural order, filtered by q (glob, or a substring of name, unit, description). */
export function fetchTagPage(q: string, offset: number, limit: number): Promise<{ tags: TagInfo[]; total: number }> {
  return json(`/api/tags?q=${encodeURIComponent(q)}&offset=${offset}&limit=${limit}`, { cache: 'no-store' });
}

/** One tag's metadata and value; null when there is no such tag. */
export async function fetchTag(name: string): Promise<TagInfo | null> {
  const res = await fetch('/api/tags/' + encodeURIComponent(name), { cache: 'no-store' });
  if (res.status === 404 || res.status === 403) return null;
  if (!res.ok) {
    reportSessionEnd(res.status, await res.json().catch(() => null));
    throw new Error('tag: ' + res.status);
  }
  return (await res.json()) as TagInfo;
}

/** Sparklines: the average of each of `points` groups over [from, to], for many tags in one request. */
export function fetchSparks(tags: string[], from: number, to: number, points: number): Promise<HistoryResponse> {
  return json(
    `/api/data/history?${tagsQuery(tags)}&from=${Math.floor(from)}&to=${Math.ceil(to)}&maxPoints=${points}&fn=avg`,
    { cache: 'no-store' },
  );
}

export interface TreeNode {
  name: string;
  label: string;
  count: number;
  noValue: number;
  worst: Quality | null;
  tag: boolean;
  branch: boolean;
}

export interface TreeLevel {
  prefix: string;
  count: number;
  noValue: number;
  worst: Quality | null;
  childCount: number;
  children: TreeNode[];
}

/** A level of the tag tree (GET /api/tree): the children of `prefix` with counts and worst quality. */
export function fetchTree(prefix: string): Promise<TreeLevel> {
  return json(`/api/tree?prefix=${encodeURIComponent(prefix)}`, { cache: 'no-store' });
}

export interface Layout {
  title?: string;
  /** Panels as panel keys (panel_spec.ts): interval~window~tags. */
  panels: string[];
}

export function fetchLayouts(): Promise<{ layouts: { name: string; bytes: number; modified: number }[] }> {
  return json('/api/layouts', { cache: 'no-store' });
}

/** A saved layout; null when there is none by that name. */
export async function fetchLayout(name: string): Promise<Layout | null> {
  const res = await fetch('/api/layouts/' + encodeURIComponent(name), { cache: 'no-store' });
  if (res.status === 404) return null;
  if (!res.ok) throw new Error('layout: ' + res.status);
  return (await res.json()) as Layout;
}

export async function saveLayout(name: string, layout: Layout): Promise<void> {
  await json('/api/layouts/' + encodeURIComponent(name), {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(layout),
  });
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
