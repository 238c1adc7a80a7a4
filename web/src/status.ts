// The status page (#/status): the server's counters and rates from
// GET /api/stats, polled every second while the page is shown, and this
// page's own connection. Values are updated in place.
import { isStreamLeader, streamSharing } from './shared_stream';
import uPlot from 'uplot';
import { fetchStats, type Stats } from './api';
import { config } from './config';
import { renderConnectors } from './connectors_view';
import { formatTime } from './format';
import type { StreamManager } from './stream';

function fmtRate(x: number): string {
  if (!Number.isFinite(x)) return '–';
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

function fmtBytes(x: number): string {
  if (!Number.isFinite(x)) return '–';
  if (x >= 1048576) return (x / 1048576).toFixed(1) + ' MiB';
  if (x >= 1024) return (x / 1024).toFixed(1) + ' KiB';
  return x.toFixed(0) + ' B';
}

function fmtUptime(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return (d ? d + 'd ' : '') + (d || h ? h + 'h ' : '') + (d || h || m ? m + 'm ' : '') + sec + 's';
}

const HISTORY_POINTS = 180;

export class StatusPage {
  readonly el: HTMLElement;
  stats: Stats | null = null;
  fetches = 0;
  error = '';
  private fields = new Map<string, Text>();
  private tagRows = new Map<string, Text>();
  private tagBody: HTMLTableSectionElement;
  private timer = 0;
  private active = false;
  private stream: StreamManager;
  private plot: uPlot | null = null;
  private hist: [number[], number[], number[], number[]] = [[], [], [], []];
  private prevCommitted: { at: number; n: number } | null = null;
  /** Samples committed to the store per second (every source, the simulator too), from successive polls. */
  storedPerSecond = 0;

  constructor(el: HTMLElement, stream: StreamManager) {
    this.el = el;
    this.stream = stream;
    for (const node of el.querySelectorAll<HTMLElement>('[data-stat]')) {
      const t = document.createTextNode('–');
      node.textContent = '';
      node.appendChild(t);
      this.fields.set(node.dataset.stat!, t);
    }
    this.tagBody = el.querySelector('#tag-rates tbody') as HTMLTableSectionElement;
  }

  private set(key: string, text: string) {
    const t = this.fields.get(key);
    if (t && t.nodeValue !== text) t.nodeValue = text;
  }

  show() {
    if (this.active) return;
    this.active = true;
    void this.tick();
    if (!this.plot) {
      const holder = this.el.querySelector('#rate-plot') as HTMLElement;
      this.plot = new uPlot(
        {
          width: Math.max(300, holder.clientWidth || 600),
          height: 160,
          ms: 1,
          scales: { x: { time: true }, y: { auto: true, range: (_u, _a, b) => [0, Math.max(1, b * 1.1)] } },
          axes: [
            { stroke: '#9aa4b2', grid: { stroke: '#252a33' } },
            { stroke: '#9aa4b2', grid: { stroke: '#252a33' }, size: 56 },
          ],
          series: [
            {},
            { label: 'events/s', stroke: '#4fc3f7', width: 1.5 },
            { label: 'ingest samples/s', stroke: '#ffb74d', width: 1.5 },
            { label: 'stored samples/s', stroke: '#81c784', width: 1.5 },
          ],
          cursor: { drag: { x: false, y: false } },
        },
        this.hist,
        holder,
      );
    }
  }

  hide() {
    this.active = false;
    window.clearTimeout(this.timer);
  }

  private async tick() {
    window.clearTimeout(this.timer);
    if (!this.active) return;
    try {
      const s = await fetchStats();
      this.stats = s;
      this.fetches++;
      this.error = '';
      this.paint(s);
      renderConnectors(this.el.querySelector('#connectors') as HTMLElement, s.connectors, Date.now());
    } catch (e) {
      this.error = String((e as Error).message || e);
      this.set('error', 'stats unavailable: ' + this.error);
      (this.el.querySelector('.error') as HTMLElement).hidden = false;
    }
    this.paintClient();
    if (this.active) this.timer = window.setTimeout(() => void this.tick(), config.statsMs);
  }

  private paint(s: Stats) {
    this.set('error', '');
    (this.el.querySelector('.error') as HTMLElement).hidden = true;
    const now = Date.now();
    if (this.prevCommitted && now > this.prevCommitted.at) {
      this.storedPerSecond = Math.max(0, ((s.store.committedSamples - this.prevCommitted.n) * 1000) / (now - this.prevCommitted.at));
    }
    this.prevCommitted = { at: now, n: s.store.committedSamples };
    this.set('store.perSecond', fmtRate(this.storedPerSecond));
    this.set('uptime', fmtUptime(s.uptimeSeconds));
    this.set('streams.open', String(s.streams.open));
    this.set('streams.opened', String(s.streams.opened));
    this.set('streams.closed', String(s.streams.closed));
    this.set('events.perSecond', fmtRate(s.events.perSecond));
    this.set('events.total', String(s.events.total));
    this.set('bytes.perSecond', fmtBytes(s.bytes.perSecond) + '/s');
    this.set('bytes.total', fmtBytes(s.bytes.total));
    this.set('ingest.samplesPerSecond', fmtRate(s.ingest.samplesPerSecond));
    this.set('ingest.samplesTotal', String(s.ingest.samplesTotal));
    this.set('ingest.requestsTotal', String(s.ingest.requestsTotal));
    this.set('store.pendingSamples', String(s.store.pendingSamples));
    this.set('store.committedSamples', String(s.store.committedSamples));

    let added = false;
    for (const t of s.tags || []) {
      let text = this.tagRows.get(t.name);
      if (!text) {
        const tr = document.createElement('tr');
        const a = document.createElement('td');
        a.textContent = t.name;
        const b = document.createElement('td');
        b.className = 'num';
        text = document.createTextNode('');
        b.appendChild(text);
        tr.append(a, b);
        tr.dataset.tag = t.name;
        this.tagBody.appendChild(tr);
        this.tagRows.set(t.name, text);
        added = true;
      }
      const v = fmtRate(t.updatesPerSecond);
      if (text.nodeValue !== v) text.nodeValue = v;
    }
    if (added) {
      const rows = [...this.tagBody.rows].sort((x, y) => (x.dataset.tag! < y.dataset.tag! ? -1 : 1));
      for (const r of rows) this.tagBody.appendChild(r);
    }

    this.hist[0].push(now);
    this.hist[1].push(s.events.perSecond);
    this.hist[2].push(s.ingest.samplesPerSecond);
    this.hist[3].push(this.storedPerSecond);
    if (this.hist[0].length > HISTORY_POINTS) for (const a of this.hist) a.shift();
    this.plot?.setData(this.hist);
  }

  private paintClient() {
    const st = this.stream;
    this.set('client.mode', st.mode);
    this.set('client.streamId', st.info?.streamId || '–');
    this.set(
      'client.sharing',
      { own: 'no (a stream of its own)', worker: 'yes, through a SharedWorker', leader: isStreamLeader() ? 'yes, this tab leads' : 'yes, through the leader tab' }[
        streamSharing
      ],
    );
    this.set('client.rate', st.info && typeof st.info.rate === 'number' ? `${st.info.rate} ms` : '–');
    this.set('client.interval', st.spec ? st.spec.interval : '–');
    this.set('client.tags', st.spec ? String(st.spec.tags.join(', ')).slice(0, 200) : '–');
    this.set('client.events', String(st.events));
    this.set('client.opened', String(st.opened));
    this.set('client.lastEventId', st.lastEventId || '–');
    this.set('client.lastEvent', formatTime(st.lastEventAt));
    this.set('client.polls', String(st.polls));
    this.set('client.lastError', st.lastError || '–');
  }
}
