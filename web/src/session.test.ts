import { describe, expect, it } from 'vitest';
import {
  authView,
  loginErrorMessage,
  parseAuthInfo,
  principalLabel,
  SESSION_ENDED,
  sessionEndedMessage,
  sessionEndOf,
  SessionSignal,
  type Principal,
} from './session';

const operator: Principal = {
  id: 'operator',
  kind: 'api_key',
  scopes: { read: ['*'], write: ['area1.*'] },
  expires: null,
};

describe('GET /api/auth', () => {
  it('auth off: the dashboard as always', () => {
    expect(authView(parseAuthInfo(200, { enabled: false, principal: null }))).toBe('open');
  });

  it('auth on, no session: the sign-in form', () => {
    expect(authView(parseAuthInfo(200, { enabled: true, principal: null }))).toBe('signin');
  });

  it('auth on, signed in (the cookie): the dashboard', () => {
    const info = parseAuthInfo(200, { enabled: true, principal: operator });
    expect(authView(info)).toBe('signedin');
    expect(info.principal?.id).toBe('operator');
  });

  it('a server without the endpoint has no authentication', () => {
    expect(authView(parseAuthInfo(404, null))).toBe('open');
  });

  it('a malformed principal counts as none; other errors throw (the page retries)', () => {
    expect(authView(parseAuthInfo(200, { enabled: true, principal: { kind: 'x' } }))).toBe('signin');
    expect(() => parseAuthInfo(502, null)).toThrow();
    expect(() => parseAuthInfo(200, 'nope')).toThrow();
  });
});

describe('what ends a session', () => {
  it('any 401, whatever its code', () => {
    expect(sessionEndOf(401, { code: 'unauthorized', message: 'no credential' })).toEqual({ code: 'unauthorized', message: 'no credential' });
    expect(sessionEndOf(401, { code: 'token_expired', message: 'expired' })?.code).toBe('token_expired');
    expect(sessionEndOf(401, null)).toEqual({ code: 'unauthorized', message: '' });
  });

  it('not a 403 (valid credential, not this tag) nor other errors', () => {
    expect(sessionEndOf(403, { code: 'forbidden' })).toBeNull();
    expect(sessionEndOf(404, { code: 'unknown_tag' })).toBeNull();
    expect(sessionEndOf(503, null)).toBeNull();
  });

  it("the stream's error events: token_expired and unauthorized, not the others", () => {
    expect(sessionEndOf(0, { code: 'token_expired', message: 'revoked' })).toEqual({ code: 'token_expired', message: 'revoked' });
    expect(sessionEndOf(0, { code: 'unauthorized' })?.code).toBe('unauthorized');
    expect(sessionEndOf(0, { code: 'history_lost' })).toBeNull();
    expect(sessionEndOf(0, { code: 'server_shutdown' })).toBeNull();
    expect(sessionEndOf(0, {})).toBeNull();
  });
});

describe('messages', () => {
  it('session ended', () => {
    expect(sessionEndedMessage({ code: 'unauthorized', message: '' })).toBe(SESSION_ENDED);
    expect(sessionEndedMessage({ code: 'token_expired', message: '' })).toMatch(/^Your session has ended: sign in again\..*expired or was revoked/);
  });

  it('sign-in errors say what went wrong', () => {
    expect(loginErrorMessage(401, { code: 'unauthorized', message: 'unknown API key' })).toMatch(/not accepted/);
    expect(loginErrorMessage(401, { code: 'token_expired' })).toMatch(/expired/);
    expect(loginErrorMessage(0, null)).toMatch(/cannot be reached/);
    expect(loginErrorMessage(400, null)).toMatch(/enter a token/);
    expect(loginErrorMessage(500, { message: 'boom' })).toBe('Sign-in failed: the server answered 500: boom.');
  });

  it('who is signed in: the id, with scopes and expiry in the tooltip', () => {
    const l = principalLabel({ ...operator, expires: '2027-01-01T00:00:00Z' });
    expect(l.text).toBe('operator');
    expect(l.title).toBe('operator (api_key)\nread: *\nwrite: area1.*\nexpires 2027-01-01T00:00:00Z');
  });
});

describe('SessionSignal', () => {
  const end = { code: 'token_expired', message: '' };

  it('reports once per session: many requests fail together when a key is revoked', () => {
    const s = new SessionSignal();
    const seen: string[] = [];
    s.listen((e) => seen.push(e.code));
    s.arm();
    expect(s.end(end)).toBe(true);
    expect(s.end({ code: 'unauthorized', message: '' })).toBe(false);
    expect(seen).toEqual(['token_expired']);
    s.arm();
    expect(s.end(end)).toBe(true);
    expect(seen).toEqual(['token_expired', 'token_expired']);
  });

  it('silent until signed in (auth off never arms it) and after a sign-out', () => {
    const s = new SessionSignal();
    let n = 0;
    s.listen(() => n++);
    expect(s.end(end)).toBe(false);
    s.arm();
    expect(s.active).toBe(true);
    s.disarm();
    expect(s.end(end)).toBe(false);
    expect(n).toBe(0);
  });
});
