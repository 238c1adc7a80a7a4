import { describe, expect, it } from 'vitest';
import { checkSetpoint, describeReply, limitsText } from './setpoint_model';

describe('checkSetpoint', () => {
  const valve = { min: 0, max: 100 };
  it('accepts a number within the limits, edges included', () => {
    expect(checkSetpoint('42.5', valve)).toEqual({ ok: true, value: 42.5 });
    expect(checkSetpoint(' 0 ', valve)).toEqual({ ok: true, value: 0 });
    expect(checkSetpoint('100', valve)).toEqual({ ok: true, value: 100 });
    expect(checkSetpoint('1e1', valve)).toEqual({ ok: true, value: 10 });
  });
  it('refuses values outside the limits before anything is sent', () => {
    expect(checkSetpoint('100.01', valve)).toEqual({ ok: false, error: 'above the maximum 100' });
    expect(checkSetpoint('-1', valve)).toEqual({ ok: false, error: 'below the minimum 0' });
  });
  it('refuses what is not a decimal number', () => {
    for (const t of ['', 'abc', '0x10', '1,5', 'Infinity', '1e999', '--1'])
      expect(checkSetpoint(t, valve).ok, t).toBe(false);
  });
  it('takes one open bound', () => {
    expect(checkSetpoint('1e6', { min: 0 })).toEqual({ ok: true, value: 1e6 });
    expect(checkSetpoint('-5', { max: 10 })).toEqual({ ok: true, value: -5 });
    expect(checkSetpoint('-5', {})).toEqual({ ok: true, value: -5 });
  });
  it('reads on/off for a boolean and nothing else', () => {
    expect(checkSetpoint('on', { boolean: true })).toEqual({ ok: true, value: 1 });
    expect(checkSetpoint('OFF', { boolean: true })).toEqual({ ok: true, value: 0 });
    expect(checkSetpoint('0.5', { boolean: true }).ok).toBe(false);
  });
});

describe('limitsText', () => {
  it('says the range the operator may write', () => {
    expect(limitsText({ min: 0, max: 100 }, '%')).toBe('0 – 100 %');
    expect(limitsText({ min: 0.1 })).toBe('≥ 0.1');
    expect(limitsText({ max: 5, min: null })).toBe('≤ 5');
    expect(limitsText({ boolean: true })).toBe('on/off');
    expect(limitsText({})).toBe('no limits');
  });
});

describe('describeReply', () => {
  it('reports the read-back value of an accepted write', () => {
    expect(describeReply({ status: 200, body: { outcome: 'accepted', readback: 42.5 } }, 'degC')).toEqual({
      ok: true,
      text: 'Accepted; the device reads back 42.5 degC',
    });
    expect(describeReply({ status: 200, body: { outcome: 'accepted', readback: null } }).text).toBe(
      'Accepted by the device',
    );
  });
  it('says plainly what went wrong', () => {
    expect(describeReply({ status: 502, body: { outcome: 'refused', message: 'Illegal data address' } })).toEqual({
      ok: false,
      text: 'Refused by the device: Illegal data address',
    });
    expect(describeReply({ status: 504, body: { outcome: 'timeout' } }).text).toMatch(/may or may not/);
    expect(describeReply({ status: 503, body: { outcome: 'unavailable' } }).text).toMatch(/not connected/);
    expect(describeReply({ status: 403, body: { code: 'forbidden' } }).text).toMatch(/may not write/);
    expect(describeReply({ status: 500, body: null })).toEqual({ ok: false, text: 'Write failed (500)' });
  });
});
