import { describe, expect, it } from 'vitest';
import { ago, connectorRows, type ConnectorStatus } from './connectors_view';

const base: ConnectorStatus = {
  name: 'plant-broker',
  kind: 'mqtt',
  endpoint: '10.0.0.5:1883',
  connected: true,
  state: 'connected',
  lastMessage: 1_000_000,
  messages: 10,
  messagesPerSecond: 12.345,
  samples: 10,
  errors: 0,
  reconnects: 0,
  lastError: '',
};

describe('connectorRows', () => {
  it('shows a healthy broker', () => {
    const [r] = connectorRows([base], 1_003_000);
    expect(r).toMatchObject({ kind: 'MQTT', state: 'connected', ok: true, last: '3 s ago', rate: '12.3', errors: '0' });
  });
  it('shows an outage with its error and reconnects', () => {
    const [r] = connectorRows(
      [{ ...base, kind: 'modbus', connected: false, state: 'backoff', errors: 4, reconnects: 3, lastError: 'timed out' }],
      1_000_000 + 125_000,
    );
    expect(r).toMatchObject({ kind: 'Modbus TCP', ok: false, state: 'backoff', last: '2 min ago', errors: '4 (3 reconnects)' });
    expect(r.lastError).toBe('timed out');
  });
});

describe('ago', () => {
  it('says never before the first message', () => {
    expect(ago(null, 5)).toBe('never');
    expect(ago(0, 90_000_000_000)).toBe('1041 d ago');
  });
});
