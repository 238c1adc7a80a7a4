import { describe, expect, it } from 'vitest';
import { naturalCompare } from './natural';
import { parseStreamUrl, tagMatcher, unionSpec, unionUrl } from './share_plan';

describe('naturalCompare', () => {
  it('orders digit runs by value', () => {
    const names = ['area0.t10', 'area0.t2', 'area10.t1', 'area2.t1', 'area0.t1', 'area0.t02'];
    expect([...names].sort(naturalCompare)).toEqual(['area0.t1', 'area0.t2', 'area0.t02', 'area0.t10', 'area2.t1', 'area10.t1']);
  });
  it('is zero only for equal names', () => {
    expect(naturalCompare('a1', 'a1')).toBe(0);
    expect(naturalCompare('a01', 'a1')).not.toBe(0);
    expect(naturalCompare('a', 'a0')).toBeLessThan(0);
    expect(naturalCompare('b', 'a9')).toBeGreaterThan(0);
  });
  it('handles numbers longer than any integer type', () => {
    expect(naturalCompare('x99999999999999999999999', 'x100000000000000000000000')).toBeLessThan(0);
  });
});

describe('shared stream plan', () => {
  it('unions the tabs: tags, a common interval or raw, the fastest rate', () => {
    const a = parseStreamUrl('/api/sse/stream?tags[]=b&tags[]=a&interval=minute&rate=1000&lastEventId=7');
    expect(a).toEqual({ tags: ['b', 'a'], interval: 'minute', rate: 1000, lastEventId: '7' });
    const b = parseStreamUrl('/api/sse/stream?tags[]=c&interval=minute&rate=250');
    expect(unionSpec([a, b])).toEqual({ tags: ['a', 'b', 'c'], interval: 'minute', rate: 250 });
    const c = parseStreamUrl('/api/sse/stream?tags[]=c&interval=raw');
    expect(unionSpec([a, c])).toEqual({ tags: ['a', 'b', 'c'], interval: 'raw', rate: undefined });
    expect(unionSpec([])).toBeNull();
    expect(unionUrl({ tags: ['a', 'b'], interval: 'raw', rate: 500 }, '9')).toBe(
      '/api/sse/stream?tags[]=a&tags[]=b&interval=raw&rate=500&lastEventId=9',
    );
  });
  it('matches names and globs', () => {
    const m = tagMatcher(['boiler1.temperature', 'tank*']);
    expect(m('boiler1.temperature')).toBe(true);
    expect(m('tank1.level')).toBe(true);
    expect(m('boiler1.pressure')).toBe(false);
  });
});
