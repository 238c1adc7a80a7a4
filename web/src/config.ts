// Settings read from the page URL's query string (location.search), for
// operators and tests: ?maxReconnect=2&poll=1000&sseRetry=3000 ...
const params = new URLSearchParams(location.search);

function num(name: string, def: number): number {
  const s = params.get(name);
  if (s === null || s === '') return def;
  const n = Number(s);
  return Number.isFinite(n) && n >= 0 ? n : def;
}

export const config = {
  /** Failed SSE attempts before polling; NaN: the server's maxReconnectAttempts (default 10). */
  maxReconnect: num('maxReconnect', NaN),
  /** First reconnect delay; doubles per failed attempt up to backoffMax, with jitter. */
  backoffMs: num('backoff', 1000),
  backoffMaxMs: num('backoffMax', 30000),
  /** Polling period of /api/data/latest in the fallback. */
  pollMs: num('poll', 2000),
  /** While polling, how often to try SSE again in the background. */
  sseRetryMs: num('sseRetry', 15000),
  /** An attempt with no `connected` event by then has failed (a proxy that hangs or buffers). */
  connectTimeoutMs: num('connectTimeout', 8000),
  /** /api/stats polling period on the status page. */
  statsMs: num('statsPoll', 1000),
  /** /api/tags refresh period (new tags appear in the overview). */
  tagsRefreshMs: num('tagsRefresh', 30000),
  /** The display rate asked of the stream (ms between events, `rate=`); NaN: the server's. */
  displayRate: num('rate', NaN),
};

export const DEFAULT_MAX_RECONNECT = 10;
