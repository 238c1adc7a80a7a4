// The status page's connector table: each MQTT broker and Modbus server
// with its state, when it last said something, its message rate and its
// errors, from /api/stats's `connectors` (docs/API.md).

export interface ConnectorStatus {
  name: string;
  kind: string;
  endpoint: string;
  connected: boolean;
  state: string;
  lastMessage: number | null;
  messages: number;
  messagesPerSecond: number;
  samples: number;
  errors: number;
  reconnects: number;
  lastError: string;
}

export interface ConnectorRow {
  name: string;
  kind: string;
  endpoint: string;
  state: string;
  ok: boolean;
  last: string;
  rate: string;
  errors: string;
  lastError: string;
}

/** "3 s ago", "2 min ago", "never". */
export function ago(ms: number | null, now: number): string {
  if (ms === null || !Number.isFinite(ms)) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function connectorRows(list: ConnectorStatus[], now: number): ConnectorRow[] {
  return list.map((c) => ({
    name: c.name,
    kind: c.kind === 'mqtt' ? 'MQTT' : c.kind === 'modbus' ? 'Modbus TCP' : c.kind,
    endpoint: c.endpoint,
    state: c.state || (c.connected ? 'connected' : 'disconnected'),
    ok: c.connected,
    last: ago(c.lastMessage, now),
    rate: c.messagesPerSecond >= 100 ? c.messagesPerSecond.toFixed(0) : c.messagesPerSecond.toFixed(1),
    errors: String(c.errors) + (c.reconnects ? ` (${c.reconnects} reconnects)` : ''),
    lastError: c.lastError,
  }));
}

/** Rewrites the table body in place: a row per connector, keyed by name. */
export function renderConnectors(section: HTMLElement, list: ConnectorStatus[] | undefined, now: number) {
  section.hidden = !list || list.length === 0;
  if (!list || list.length === 0) return;
  const tbody = section.querySelector('tbody') as HTMLTableSectionElement;
  const rows = connectorRows(list, now);
  while (tbody.rows.length > rows.length) tbody.deleteRow(-1);
  rows.forEach((r, i) => {
    const tr = tbody.rows[i] ?? tbody.insertRow();
    tr.dataset.connector = r.name;
    tr.dataset.ok = r.ok ? 'yes' : 'no';
    const cells = [r.name, r.kind, r.endpoint, r.state, r.last, r.rate, r.errors, r.lastError];
    cells.forEach((text, j) => {
      const td = tr.cells[j] ?? tr.insertCell();
      if (td.textContent !== text) td.textContent = text;
      if (j === 5 || j === 6) td.className = 'num';
    });
  });
}
