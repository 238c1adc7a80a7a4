// Operator writes, the part without a page: what the operator typed checked
// against the tag's limits before anything is sent, and the server's answer
// (POST /api/tags/{name}/value, docs/API.md) in an operator's words.

/** How a tag may be written, as GET /api/tags reports it. */
export interface Writable {
  min?: number | null;
  max?: number | null;
  boolean?: boolean;
  connector?: string;
}

export type Checked = { ok: true; value: number } | { ok: false; error: string };

function num(x: number): string {
  return String(Number(x.toPrecision(12)));
}

/** The limits in words: "0 – 100 %", "≥ 0", "on/off". */
export function limitsText(w: Writable, unit = ''): string {
  if (w.boolean) return 'on/off';
  const u = unit ? ' ' + unit : '';
  const hasMin = w.min !== undefined && w.min !== null;
  const hasMax = w.max !== undefined && w.max !== null;
  if (hasMin && hasMax) return `${num(w.min!)} – ${num(w.max!)}${u}`;
  if (hasMin) return `≥ ${num(w.min!)}${u}`;
  if (hasMax) return `≤ ${num(w.max!)}${u}`;
  return 'no limits';
}

/** Checks what the operator typed: a number within the limits, or on/off for a boolean. */
export function checkSetpoint(text: string, w: Writable): Checked {
  const t = text.trim().toLowerCase();
  if (w.boolean) {
    if (['1', 'on', 'true', 'open', 'start'].includes(t)) return { ok: true, value: 1 };
    if (['0', 'off', 'false', 'closed', 'stop'].includes(t)) return { ok: true, value: 0 };
    return { ok: false, error: 'choose on or off' };
  }
  if (t === '') return { ok: false, error: 'enter a value' };
  // Number('') is 0 and Number('0x10') is 16: accept decimal notation only.
  if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/.test(t)) return { ok: false, error: 'not a number' };
  const v = Number(t);
  if (!Number.isFinite(v)) return { ok: false, error: 'not a finite number' };
  if (w.min !== undefined && w.min !== null && v < w.min) return { ok: false, error: `below the minimum ${num(w.min)}` };
  if (w.max !== undefined && w.max !== null && v > w.max) return { ok: false, error: `above the maximum ${num(w.max)}` };
  return { ok: true, value: v };
}

export interface SetpointReply {
  status: number;
  body: any;
}

export interface SetpointVerdict {
  ok: boolean;
  text: string;
}

/** The device's answer as the operator reads it. */
export function describeReply(r: SetpointReply, unit = ''): SetpointVerdict {
  const b = r.body && typeof r.body === 'object' ? r.body : {};
  const u = unit ? ' ' + unit : '';
  const msg = typeof b.message === 'string' && b.message ? `: ${b.message}` : '';
  switch (b.outcome ?? '') {
    case 'accepted':
      return {
        ok: true,
        text:
          typeof b.readback === 'number'
            ? `Accepted; the device reads back ${num(b.readback)}${u}`
            : 'Accepted by the device',
      };
    case 'refused':
      return { ok: false, text: `Refused by the device${msg}` };
    case 'timeout':
      return { ok: false, text: 'No answer from the device in time: the value may or may not be applied' };
    case 'unavailable':
      return { ok: false, text: `The device is not connected; nothing was sent${msg}` };
    case 'out_of_range':
      return { ok: false, text: `Out of range; nothing was sent${msg}` };
    case 'not_writable':
      return { ok: false, text: `This tag is not writable${msg}` };
  }
  if (r.status === 401) return { ok: false, text: 'Signed out: sign in again to write' };
  if (r.status === 403) return { ok: false, text: 'This sign-in may not write this tag' };
  if (r.status === 429) return { ok: false, text: 'Too many writes: try again in a moment' };
  return { ok: false, text: `Write failed (${r.status})${msg}` };
}

/** Sends one write and waits for the device's answer. */
export async function postSetpoint(tag: string, value: number, boolean = false): Promise<SetpointReply> {
  const res = await fetch(`/api/tags/${encodeURIComponent(tag)}/value`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ value: boolean ? value === 1 : value }),
    cache: 'no-store',
  });
  let body: any = null;
  try {
    body = await res.json();
  } catch {
    /* not JSON */
  }
  return { status: res.status, body };
}
