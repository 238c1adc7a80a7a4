// The dashboard: wires the tag table, the panels, the one stream and the
// status page, keeps the view in the URL, and paints at most once per frame.
// With authentication on, the sign-in form comes first (signin.ts) and the
// dashboard stops when the session ends.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { fetchAuth, fetchLayout, fetchLayouts, fetchTag, logout, saveLayout } from './api';
import { config } from './config';
import { formatTime } from './format';
import { Overview } from './overview';
import { Panel } from './panel';
import { panelKey, parsePanel, parseWindow } from './panel_spec';
import { isStreamLeader, sourceFactory, streamShared, streamSharing } from './shared_stream';
import { TagTree } from './tree';
import { formatHash, parseHash, type ViewState } from './state';
import { authView, principalLabel, session, sessionEndedMessage, SIGNED_OUT, type AuthInfo } from './session';
import { SignInForm } from './signin';
import { StatusPage } from './status';
import { StreamManager, type StreamSpec } from './stream';
import { Q_CODE, type AggPoint, type ConnectedInfo, type Interval, type PanelSpec, type RawPoint, type StreamPoint, type TagInfo } from './types';

const $ = <T extends HTMLElement>(sel: string) => document.querySelector(sel) as T;

class App {
  tags = new Map<string, TagInfo>();
  panels: Panel[] = [];
  tagPanels = new Map<string, Panel[]>();
  state: ViewState;
  stream: StreamManager;
  overview: Overview;
  tree: TagTree;
  status: StatusPage;
  tagsLoaded = false;
  /** Started and not stopped (signed out): nothing opens a stream or polls otherwise. */
  running = false;
  /** A stream attempt was refused (set by the sign-in logic: is the session still valid?). */
  onRefused: () => void = () => {};
  /** Performance counters, for tests and bench/dashboard. */
  frames = 0;
  dataEvents = 0;
  points = 0;
  gaps: { since: number; reason: string; at: number }[] = [];
  private rafPending = false;
  private statusEl = $('#status');
  private timesEl = $('#last-times');
  private panelsEl = $('#panels');
  private timers: number[] = [];

  constructor() {
    this.state = parseHash(location.hash);
    this.stream = new StreamManager(
      {
        onConnected: (info) => this.onConnected(info),
        onData: (iv, pts, polled) => this.onData(iv, pts, polled),
        onGap: (since, reason) => this.onGap(since, reason),
        onStatus: () => this.schedule(),
        onRefused: () => this.onRefused(),
      },
      sourceFactory(),
    );
    this.overview = new Overview($('#browser'), {
      onSelect: () => this.onSelectionChanged(),
      onSearch: () => {
        this.state.q = this.overview.filterText;
        this.writeUrl();
      },
      onVisible: () => this.updateStreamSpec(),
      // Only what the panels and the selection need: the overview keeps its own, a few pages' worth.
      onTags: (tags) => {
        for (const t of tags)
          if (this.tags.has(t.name) || this.overview?.selected.has(t.name)) this.tags.set(t.name, { ...this.tags.get(t.name), ...t });
      },
      requestPaint: () => this.schedule(),
    });
    this.tree = new TagTree($('#tag-tree'), (filter) => {
      this.overview.setFilter(filter);
      this.state.q = filter;
      this.writeUrl();
    });
    $('#layout-load').addEventListener('click', () => void this.loadLayout($<HTMLSelectElement>('#layout-select').value));
    $('#layout-save').addEventListener('click', () => void this.saveLayout());
    this.status = new StatusPage($('#status-page'), this.stream);

    $('#add-panel').addEventListener('submit', (e) => {
      e.preventDefault();
      this.addPanelFromForm();
    });
    const wSel = $<HTMLSelectElement>('#panel-window');
    const ivSel = $<HTMLSelectElement>('#panel-interval');
    wSel.addEventListener('change', () => {
      $('#custom-range').hidden = wSel.value !== 'custom';
      if (wSel.value === 'custom' && !$<HTMLInputElement>('#custom-from').value) {
        $<HTMLInputElement>('#custom-from').value = toLocalInput(Date.now() - 3600000);
      }
      if (wSel.value !== 'custom') {
        this.state.w = wSel.value as ViewState['w'];
        this.writeUrl();
      }
    });
    ivSel.addEventListener('change', () => {
      this.state.iv = ivSel.value as Interval;
      this.writeUrl();
    });
    $<HTMLInputElement>('#ov-toggle').addEventListener('change', (e) => {
      this.state.ov = (e.target as HTMLInputElement).checked;
      this.writeUrl();
      this.updateStreamSpec();
    });
    $('#reconnect').addEventListener('click', () => this.stream.reconnectNow());
    window.addEventListener('hashchange', () => {
      if (this.running) this.applyState(parseHash(location.hash));
    });
  }

  /** Once per page: a new session after stop() reloads the page. */
  async start() {
    this.running = true;
    // Keeps the status countdown and sliding charts moving without data.
    this.timers.push(
      window.setInterval(() => {
        const now = Date.now();
        for (const p of this.panels) p.maintain(now);
        this.schedule();
      }, 500),
      window.setInterval(() => this.overview.refresh(), config.tagsRefreshMs),
    );
    this.applyFormState();
    this.overview.setFilter(this.state.q);
    this.route();
    void this.listLayouts();
    // Trends on the first screen: a link without panels opens the saved default layout.
    if (this.state.panels.length === 0 && !/[?&]p=/.test(location.hash)) {
      try {
        const layout = await fetchLayout('default');
        if (layout) this.state.panels = layoutPanels(layout.panels);
      } catch (e) {
        console.warn('layout:', e);
      }
    }
    await this.loadTags();
    this.applyState(this.state, true);
    // After what the first screen needs: at 100,000 tags the tree's root is
    // a pass over every tag on the server's reader pool.
    this.tree.start();
  }

  /** The session ended: no stream, no polling, nothing shown. */
  stop() {
    this.running = false;
    for (const t of this.timers) window.clearInterval(t);
    this.timers = [];
    this.stream.signOut();
    this.status.hide();
    $('#dash').hidden = true;
    $('#status-page').hidden = true;
    this.schedule();
  }

  /**
   * The metadata of the panels' and the selection's tags (the overview
   * fetches its own a page at a time): one request per tag not known yet;
   * a tag the server does not have is dropped from the panels.
   */
  private async loadTags(): Promise<void> {
    if (!this.running) return;
    const names = new Set([...this.state.panels.flatMap((p) => p.tags), ...this.state.sel]);
    try {
      await Promise.all(
        [...names]
          .filter((n) => !this.tags.has(n))
          .map(async (n) => {
            const t = await fetchTag(n);
            if (t) this.tags.set(n, { ...this.tags.get(n), ...t });
          }),
      );
      this.overview.setSelected(this.state.sel);
      this.tagsLoaded = true;
    } catch (e) {
      console.warn('tags:', e);
      await new Promise((r) => window.setTimeout(r, 2000));
      return this.loadTags();
    }
  }

  // --- layouts ---

  private async listLayouts() {
    try {
      const r = await fetchLayouts();
      const sel = $<HTMLSelectElement>('#layout-select');
      const keep = sel.value;
      sel.replaceChildren(
        ...r.layouts.map((l) => {
          const o = document.createElement('option');
          o.value = o.textContent = l.name;
          return o;
        }),
      );
      if (keep) sel.value = keep;
    } catch (e) {
      console.warn('layouts:', e);
    }
  }

  private async loadLayout(name: string) {
    if (!name) return;
    this.layoutMessage('');
    try {
      const layout = await fetchLayout(name);
      if (!layout) {
        this.layoutMessage(`no layout "${name}"`);
        return;
      }
      this.state.panels = layoutPanels(layout.panels);
      await this.loadTags();
      this.applyState({ ...this.state }, true);
      this.layoutMessage(`loaded "${name}"`);
    } catch (e) {
      this.layoutMessage(String((e as Error).message || e));
    }
  }

  private async saveLayout() {
    const name = $<HTMLInputElement>('#layout-name').value.trim();
    if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/.test(name)) {
      this.layoutMessage('a name is 1-64 letters, digits, _ . -');
      return;
    }
    try {
      await saveLayout(name, { title: name, panels: this.state.panels.map(panelKey) });
      this.layoutMessage(`saved "${name}"`);
      await this.listLayouts();
      $<HTMLSelectElement>('#layout-select').value = name;
    } catch (e) {
      // 403: saving needs the admin scope.
      this.layoutMessage('not saved: ' + String((e as Error).message || e));
    }
  }

  private layoutMessage(text: string) {
    $('#layout-msg').textContent = text;
  }

  // --- view state ---

  private writeUrl() {
    const h = formatHash(this.state);
    if (h !== location.hash) history.replaceState(null, '', location.pathname + location.search + h);
  }

  private applyFormState() {
    $<HTMLSelectElement>('#panel-interval').value = this.state.iv;
    const w = this.state.w;
    $<HTMLSelectElement>('#panel-window').value = typeof w === 'string' ? w : 'custom';
    $('#custom-range').hidden = typeof w === 'string';
    if (typeof w !== 'string') {
      $<HTMLInputElement>('#custom-from').value = toLocalInput(w.from);
      $<HTMLInputElement>('#custom-to').value = w.to ? toLocalInput(w.to) : '';
    }
    $<HTMLInputElement>('#ov-toggle').checked = this.state.ov;
  }

  private applyState(s: ViewState, first = false) {
    const prevKeys = this.panels.map((p) => p.key).join('|');
    this.state = s;
    if (!first) {
      this.applyFormState();
      if (this.overview.filterText !== s.q) this.overview.setFilter(s.q);
      this.overview.setSelected(s.sel);
    }
    this.route();
    if (this.tagsLoaded) {
      // Unknown tags are dropped: the stream would refuse them.
      s.panels = s.panels
        .map((p) => ({ ...p, tags: p.tags.filter((t) => this.tags.has(t)) }))
        .filter((p) => p.tags.length > 0);
      if (s.panels.map(panelKey).join('|') !== prevKeys || first) this.syncPanels();
      this.updateStreamSpec();
    }
    this.onSelectionChanged(false);
    this.writeUrl();
  }

  private route() {
    const status = this.state.route === 'status';
    $('#dash').hidden = status;
    $('#status-page').hidden = !status;
    $('#nav-dash').classList.toggle('active', !status);
    $('#nav-status').classList.toggle('active', status);
    if (status) this.status.show();
    else this.status.hide();
  }

  /** Makes the panels match state.panels, keeping the ones that did not change. */
  private syncPanels() {
    const keep = new Map<string, Panel[]>();
    for (const p of this.panels) {
      const l = keep.get(p.key) || [];
      l.push(p);
      keep.set(p.key, l);
    }
    const next: Panel[] = [];
    const fresh: Panel[] = [];
    for (const spec of this.state.panels) {
      const key = panelKey(spec);
      const old = keep.get(key)?.shift();
      if (old) {
        next.push(old);
        continue;
      }
      const p = new Panel(
        spec,
        (n) => this.tags.get(n),
        (panel) => this.removePanel(panel),
        (panel, s) => this.changePanel(panel, s),
      );
      next.push(p);
      fresh.push(p);
    }
    for (const l of keep.values()) for (const p of l) p.destroy();
    this.panels = next;
    for (const p of next) this.panelsEl.appendChild(p.el); // order
    for (const p of fresh) p.start((n) => this.tags.get(n));
    $('#no-panels').hidden = next.length > 0;
    this.tagPanels.clear();
    for (const p of next)
      for (const t of p.tags) {
        const l = this.tagPanels.get(t) || [];
        l.push(p);
        this.tagPanels.set(t, l);
      }
    this.schedule();
  }

  private addPanelFromForm() {
    for (const t of this.overview.selected) {
      const info = this.overview.tagInfo(t);
      if (info && !this.tags.has(t)) this.tags.set(t, info);
    }
    const tags = [...this.overview.selected].filter((t) => this.tags.has(t)).sort();
    if (tags.length === 0) return;
    const interval = $<HTMLSelectElement>('#panel-interval').value as Interval;
    let window: PanelSpec['window'];
    const wv = $<HTMLSelectElement>('#panel-window').value;
    if (wv === 'custom') {
      const from = Date.parse($<HTMLInputElement>('#custom-from').value);
      const toText = $<HTMLInputElement>('#custom-to').value;
      const to = toText ? Date.parse(toText) : null;
      const w = parseWindow(`c${Number.isFinite(from) ? from : Date.now() - 3600000}_${to ?? ''}`);
      if (!w) {
        alert('Custom window: "from" must be before "to".');
        return;
      }
      window = w;
    } else {
      window = wv as PanelSpec['window'];
    }
    this.state.panels = [...this.state.panels, { tags, interval, window }];
    this.state.iv = interval;
    this.state.w = window;
    this.syncPanels();
    this.updateStreamSpec();
    this.writeUrl();
  }

  private removePanel(p: Panel) {
    const i = this.panels.indexOf(p);
    if (i < 0) return;
    this.state.panels = this.state.panels.filter((_, k) => k !== i);
    this.syncPanels();
    this.updateStreamSpec();
    this.writeUrl();
  }

  private changePanel(p: Panel, spec: PanelSpec) {
    const i = this.panels.indexOf(p);
    if (i < 0) return;
    this.state.panels = this.state.panels.map((s, k) => (k === i ? spec : s));
    this.syncPanels();
    this.updateStreamSpec();
    this.writeUrl();
  }

  private onSelectionChanged(write = true) {
    const n = this.overview.selected.size;
    $<HTMLButtonElement>('#add-panel-btn').disabled = n === 0;
    $('#sel-count').textContent = n === 0 ? 'no tags selected' : `${n} selected`;
    if (write) {
      this.state.sel = [...this.overview.selected].sort();
      this.writeUrl();
    }
  }

  // --- the stream ---

  /**
   * One stream for the page: every tag while the overview is on (it shows
   * them all), else the union of the panels' tags; at the panels' interval
   * when they all share one and the overview is off, else raw (aggregated
   * panels then update their open bucket from raw samples).
   */
  streamSpecFor(): StreamSpec | null {
    if (!this.tagsLoaded) return null;
    const intervals = new Set(this.panels.map((p) => p.interval));
    const panelTags = this.panels.filter((p) => p.liveWindow).flatMap((p) => p.tags);
    const rate = Number.isNaN(config.displayRate) ? undefined : config.displayRate;
    if (this.state.ov) {
      // The rows in view are known once the overview's first page is in:
      // opening before would open twice.
      if (!this.overview.loaded) return null;
      const tags = [...new Set([...this.overview.visibleTags(), ...panelTags])].sort();
      if (tags.length === 0) return null;
      return { tags, interval: 'raw', rate };
    }
    const tags = [...new Set(panelTags)].sort();
    if (tags.length === 0) return null;
    const interval: Interval = intervals.size === 1 ? [...intervals][0] : 'raw';
    return { tags, interval, rate };
  }

  private updateStreamSpec() {
    if (!this.running) return;
    this.stream.setSpec(this.streamSpecFor());
  }

  private onConnected(info: ConnectedInfo) {
    for (const t of info.tags || []) this.tags.set(t.name, { ...this.tags.get(t.name), ...t });
  }

  private onData(interval: Interval, points: StreamPoint[], _polled: boolean) {
    this.dataEvents++;
    this.points += points.length;
    if (interval === 'raw') {
      for (const p of points as RawPoint[]) {
        const q = Q_CODE[p.q] ?? 0;
        if (typeof p.v !== 'number') continue;
        this.overview.update(p.tag, p.v, q, p.t);
        const ps = this.tagPanels.get(p.tag);
        if (ps) for (const panel of ps) panel.addRaw(p.tag, p.t, p.v, q);
      }
    } else {
      for (const p of points as AggPoint[]) {
        this.overview.update(p.tag, p.last, Q_CODE[p.q] ?? 0, p.t);
        const ps = this.tagPanels.get(p.tag);
        if (ps) for (const panel of ps) if (panel.interval === interval) panel.addBucket(p);
      }
    }
    this.schedule();
  }

  private onGap(since: number, reason: string) {
    this.gaps.push({ since, reason, at: Date.now() });
    for (const p of this.panels) if (p.liveWindow) void p.refetch(since);
  }

  // --- painting ---

  schedule() {
    if (this.rafPending) return;
    this.rafPending = true;
    requestAnimationFrame(() => this.frame());
  }

  private frame() {
    this.rafPending = false;
    this.frames++;
    const now = Date.now();
    if (this.state.route === 'dash') {
      this.overview.render(now);
      for (const p of this.panels) p.render(now);
    }
    this.paintStatus(now);
  }

  private paintStatus(now: number) {
    const st = this.stream;
    let text: string;
    let mode: string = st.mode;
    switch (st.mode) {
      case 'live':
        text = 'live';
        break;
      case 'connecting':
        text = 'connecting…';
        break;
      case 'reconnecting':
        text = `reconnecting in ${Math.max(0, Math.ceil((st.reconnectAt - now) / 1000))} s`;
        break;
      case 'polling':
        text = `polling fallback (SSE retry in ${Math.max(0, Math.ceil((st.reconnectAt - now) / 1000))} s)`;
        break;
      case 'offline':
        text = `offline (retry in ${Math.max(0, Math.ceil((st.reconnectAt - now) / 1000))} s)`;
        break;
      case 'signedout':
        text = 'signed out';
        break;
      default:
        text = this.tagsLoaded ? 'idle' : 'loading…';
    }
    if (!navigator.onLine && st.mode !== 'live') {
      text = 'offline';
      mode = 'offline';
    }
    if (this.statusEl.textContent !== text) this.statusEl.textContent = text;
    if (this.statusEl.dataset.mode !== mode) this.statusEl.dataset.mode = mode;
    const lastEvent = st.mode === 'polling' || st.mode === 'offline' ? Math.max(st.lastEventAt, st.lastPollAt) : st.lastEventAt;
    const times = `last event ${formatTime(lastEvent)} · heartbeat ${formatTime(st.lastHeartbeatAt)}`;
    if (this.timesEl.textContent !== times) this.timesEl.textContent = times;
  }
}

function toLocalInput(t: number): string {
  const d = new Date(t - new Date(t).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 19);
}

const app = new App();

// --- signing in (GET /api/auth first; with authentication off, the dashboard starts as it always did) ---

const signIn = new SignInForm($('#signin'), (info) => signedIn(info));
let started = false;

function signedIn(info: AuthInfo) {
  if (started) {
    // A new session on a page whose dashboard was stopped: start afresh
    // (another key may see other tags); the view is kept in the URL.
    location.reload();
    return;
  }
  session.arm();
  const who = principalLabel(info.principal!);
  $('#who-name').textContent = who.text;
  $('#who').title = who.title;
  $('#who').hidden = false;
  $('#sign-out').hidden = false;
  signIn.hide();
  document.body.dataset.auth = 'signedin';
  started = true;
  void app.start();
}

function signedOut(notice: string) {
  session.disarm();
  app.stop();
  $('#who').hidden = true;
  $('#sign-out').hidden = true;
  document.body.dataset.auth = 'signin';
  signIn.show(notice);
}

// A 401 from any endpoint, or the stream's token_expired.
session.listen((end) => signedOut(sessionEndedMessage(end)));

// A refused stream attempt: the stream says nothing more (no status), so
// ask whether this page is still signed in.
app.onRefused = () => {
  if (!session.active) return;
  fetchAuth().then(
    (info) => {
      if (info.enabled && !info.principal) session.end({ code: 'unauthorized', message: 'the session is no longer valid' });
    },
    () => {
      /* the server is unreachable: the stream keeps retrying */
    },
  );
};

$('#sign-out').addEventListener('click', async () => {
  const btn = $<HTMLButtonElement>('#sign-out');
  btn.disabled = true;
  try {
    await logout();
    signedOut(SIGNED_OUT);
  } catch (e) {
    alert('Sign-out failed (the server could not clear the session): ' + String((e as Error).message || e));
  } finally {
    btn.disabled = false;
  }
});

async function boot() {
  for (;;) {
    try {
      const info = await fetchAuth();
      switch (authView(info)) {
        case 'open':
          document.body.dataset.auth = 'open';
          started = true;
          void app.start();
          return;
        case 'signin':
          signedOut('');
          return;
        case 'signedin':
          signedIn(info);
          return;
      }
    } catch (e) {
      console.warn('auth:', e);
      await new Promise((r) => window.setTimeout(r, 2000));
    }
  }
}

/** Panel keys of a layout, the ones that parse. */
function layoutPanels(keys: unknown): PanelSpec[] {
  if (!Array.isArray(keys)) return [];
  return keys
    .filter((k): k is string => typeof k === 'string')
    .map(parsePanel)
    .filter((p): p is PanelSpec => p !== null);
}

// For tests and benchmarks (tests/browser, bench/dashboard).
(window as any).__tagstream = {
  app,
  get shared() {
    return streamShared;
  },
  /** 'own', 'worker' (SharedWorker) or 'leader' (a leader tab over BroadcastChannel). */
  get sharing() {
    return streamSharing;
  },
  get streamLeader() {
    return isStreamLeader();
  },
  get tree() {
    return app.tree;
  },
  signIn,
  session,
  get panels() {
    return app.panels;
  },
  get stream() {
    return app.stream;
  },
  get overview() {
    return app.overview;
  },
  get statusPage() {
    return app.status;
  },
};
void boot();
