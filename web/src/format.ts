// Text for values shown on more than one page.

/** Local time of day, hh:mm:ss; '–' for no time (0). */
export function formatTime(t: number): string {
  if (!t) return '–';
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
