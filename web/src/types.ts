export type Interval = 'raw' | 'second' | 'minute' | 'hour' | 'day';
export const INTERVALS: Interval[] = ['raw', 'second', 'minute', 'hour', 'day'];
export const INTERVAL_MS: Record<Interval, number> = {
  raw: 0,
  second: 1000,
  minute: 60000,
  hour: 3600000,
  day: 86400000,
};

export type Quality = 'good' | 'uncertain' | 'bad';
/** Quality as a number: the worst of several is the maximum. */
export const Q_CODE: Record<string, number> = { good: 0, uncertain: 1, bad: 2 };
export const Q_NAME: Quality[] = ['good', 'uncertain', 'bad'];

export interface TagInfo {
  name: string;
  unit: string;
  description: string;
  type: string;
  value?: number | null;
  quality?: Quality;
  t?: number;
}

/** A raw point of a `data` event or /api/data/latest. */
export interface RawPoint {
  tag: string;
  t: number;
  v: number;
  q: Quality;
}

/** An aggregated point (bucket start `t`). */
export interface AggPoint {
  tag: string;
  t: number;
  avg: number;
  min: number;
  max: number;
  first: number;
  last: number;
  count: number;
  q: Quality;
}

export type StreamPoint = RawPoint | AggPoint;

export interface ConnectedInfo {
  streamId: string;
  interval: Interval;
  tags: TagInfo[];
  heartbeatInterval: number;
  dataCheckInterval: number;
  /** The stream's display rate in force, ms between events. */
  rate?: number;
  retry: number;
  maxReconnectAttempts: number;
  resumed: boolean;
  serverTime?: string;
}

export interface HistoryResponse {
  interval: string;
  tier: string;
  bucketMs: number;
  from: string;
  to: string;
  series: { tag: string; unit: string; points: Array<Partial<AggPoint> & { t: number; v?: number; q: Quality }> }[];
}

export type WindowSpec = '15m' | '1h' | '24h' | '7d' | { from: number; to: number | null };

export const WINDOW_MS: Record<string, number> = {
  '15m': 15 * 60000,
  '1h': 3600000,
  '24h': 24 * 3600000,
  '7d': 7 * 24 * 3600000,
};

export interface PanelSpec {
  tags: string[];
  interval: Interval;
  window: WindowSpec;
}
