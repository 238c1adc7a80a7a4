// The view lives in the URL's hash, so a link shares it:
//   #/?p=raw~15m~boiler1.temperature,boiler1.pressure&p=minute~24h~tank1.level
//     &sel=pump1.flow&iv=raw&w=1h&q=boiler&ov=0
//   #/status
// p: one panel each (interval~window~tags, see panel_spec.ts); sel: the tags
// ticked in the browser; iv/w: the interval and window the next panel gets;
// q: the search; ov=0: the overview stops streaming every tag.
import { panelKey, parsePanel, parseWindow, windowKey } from './panel_spec';
import { INTERVALS, type Interval, type PanelSpec, type WindowSpec } from './types';

export interface ViewState {
  route: 'dash' | 'status';
  panels: PanelSpec[];
  sel: string[];
  iv: Interval;
  w: WindowSpec;
  q: string;
  ov: boolean;
}

export function parseHash(hash: string): ViewState {
  const h = hash.replace(/^#/, '');
  const qi = h.indexOf('?');
  const path = qi >= 0 ? h.slice(0, qi) : h;
  const q = new URLSearchParams(qi >= 0 ? h.slice(qi + 1) : '');
  const panels = q
    .getAll('p')
    .map(parsePanel)
    .filter((p): p is PanelSpec => p !== null);
  const iv = q.get('iv') as Interval;
  return {
    route: path === '/status' || path === 'status' ? 'status' : 'dash',
    panels,
    sel: (q.get('sel') || '').split(',').filter(Boolean),
    iv: INTERVALS.includes(iv) ? iv : 'raw',
    w: parseWindow(q.get('w')) || '15m',
    q: q.get('q') || '',
    ov: q.get('ov') !== '0',
  };
}

export function formatHash(s: ViewState): string {
  const parts: string[] = [];
  for (const p of s.panels) parts.push('p=' + encodeURIComponent(panelKey(p)).replace(/%2C/g, ',').replace(/%7E/gi, '~'));
  if (s.sel.length) parts.push('sel=' + s.sel.map(encodeURIComponent).join(','));
  if (s.iv !== 'raw') parts.push('iv=' + s.iv);
  if (windowKey(s.w) !== '15m') parts.push('w=' + windowKey(s.w));
  if (s.q) parts.push('q=' + encodeURIComponent(s.q));
  if (!s.ov) parts.push('ov=0');
  const path = s.route === 'status' ? '/status' : '/';
  return '#' + path + (parts.length ? '?' + parts.join('&') : '');
}
