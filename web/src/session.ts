// Signing in (docs/API.md#authentication): what GET /api/auth says, the
// messages the sign-in form shows, and the one signal that the session
// ended (a 401 from any endpoint, or the stream's `token_expired` event).
// Pure logic, no DOM: session.test.ts covers it.

export interface Principal {
  id: string;
  kind: string;
  scopes: { read?: string[]; write?: string[]; admin?: string[] };
  expires: string | null;
}

export interface AuthInfo {
  enabled: boolean;
  principal: Principal | null;
}

/** What the page shows: the dashboard as always (auth off), the sign-in form, or the dashboard signed in. */
export type AuthView = 'open' | 'signin' | 'signedin';

export function authView(info: AuthInfo): AuthView {
  if (!info.enabled) return 'open';
  return info.principal ? 'signedin' : 'signin';
}

/** The answer of GET /api/auth, checked; a server without the endpoint (404) has no authentication. */
export function parseAuthInfo(status: number, body: unknown): AuthInfo {
  if (status === 404) return { enabled: false, principal: null };
  if (status !== 200 || !body || typeof body !== 'object') throw new Error('auth: ' + status);
  const b = body as { enabled?: unknown; principal?: unknown };
  const p = b.principal as Principal | null | undefined;
  const principal = p && typeof p === 'object' && typeof p.id === 'string' ? p : null;
  return { enabled: b.enabled === true, principal };
}

/** The error codes that mean "no valid credential": sign in again rather than retry. */
export const SESSION_END_CODES = ['unauthorized', 'token_expired'];

export interface SessionEnd {
  code: string;
  message: string;
}

/**
 * Whether an answer (an HTTP status and its JSON body, or 0 and the data of
 * an SSE `error` event) ends the session; 403 (valid, but not this tag or
 * scope) does not.
 */
export function sessionEndOf(status: number, body: unknown): SessionEnd | null {
  const b = (body && typeof body === 'object' ? body : {}) as { code?: unknown; message?: unknown };
  const code = typeof b.code === 'string' ? b.code : '';
  const message = typeof b.message === 'string' ? b.message : '';
  if (status === 401) return { code: code || 'unauthorized', message };
  if (status === 0 && SESSION_END_CODES.includes(code)) return { code, message };
  return null;
}

export const SESSION_ENDED = 'Your session has ended: sign in again.';
export const SIGNED_OUT = 'Signed out.';

/** The notice above the form when a session ended while the page was open. */
export function sessionEndedMessage(end: SessionEnd): string {
  return end.code === 'token_expired' ? SESSION_ENDED + ' (The key or token has expired or was revoked.)' : SESSION_ENDED;
}

/** The error under the form after a failed POST /api/auth/login (status 0: no answer). */
export function loginErrorMessage(status: number, body: unknown): string {
  const b = (body && typeof body === 'object' ? body : {}) as { code?: unknown; message?: unknown };
  if (status === 0) return 'Sign-in failed: the server cannot be reached.';
  if (status === 401) {
    if (b.code === 'token_expired') return 'Sign-in failed: this token has expired.';
    return 'Sign-in failed: the token was not accepted (mistyped, revoked or expired).';
  }
  if (status === 400) return 'Sign-in failed: enter a token.';
  if (status === 404) return 'This server has no authentication: reload the page.';
  const detail = typeof b.message === 'string' && b.message ? ': ' + b.message : '';
  return `Sign-in failed: the server answered ${status}${detail}.`;
}

/** The header's "who is signed in", and its tooltip (scopes, expiry). */
export function principalLabel(p: Principal): { text: string; title: string } {
  const scopes = (['read', 'write', 'admin'] as const)
    .filter((s) => p.scopes?.[s]?.length)
    .map((s) => `${s}: ${p.scopes[s]!.join(', ')}`);
  const parts = [`${p.id} (${p.kind})`, ...scopes];
  if (p.expires) parts.push('expires ' + p.expires);
  return { text: p.id, title: parts.join('\n') };
}

/**
 * The one place a session end is reported: by the REST helpers on a 401 and
 * by the stream on `token_expired`. Reported once until `arm()` (the next
 * sign-in): the requests in flight when a key is revoked all fail together.
 */
export class SessionSignal {
  private handler: ((end: SessionEnd) => void) | null = null;
  private armed = false;

  listen(fn: (end: SessionEnd) => void) {
    this.handler = fn;
  }

  /** Signed in: the next session end is reported. */
  arm() {
    this.armed = true;
  }

  /** Signed out by the user: nothing to report until the next sign-in. */
  disarm() {
    this.armed = false;
  }

  get active(): boolean {
    return this.armed;
  }

  /** Returns whether this call reported the end (the first since arm()). */
  end(e: SessionEnd): boolean {
    if (!this.armed) return false;
    this.armed = false;
    this.handler?.(e);
    return true;
  }
}

export const session = new SessionSignal();
