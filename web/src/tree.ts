// The tag tree: the dotted names as a hierarchy (site → area → unit → tag),
// a level at a time from GET /api/tree, each branch with its tag count and
// the worst quality under it, so an operator opens an area instead of
// scrolling 100,000 rows. Choosing a branch filters the overview to it
// (`prefix.*`), choosing a tag to that tag. Open levels refresh every few
// seconds (qualities change).
import { fetchTree, type TreeLevel, type TreeNode } from './api';

const REFRESH_MS = 5000;

export class TagTree {
  readonly el: HTMLElement;
  /** Levels shown, by prefix ('' = the root). */
  levels = new Map<string, TreeLevel>();
  private open = new Set<string>(['']);
  private timer = 0;
  private onPick: (filter: string) => void;

  constructor(el: HTMLElement, onPick: (filter: string) => void) {
    this.el = el;
    this.onPick = onPick;
    el.addEventListener('click', (e) => {
      const li = (e.target as HTMLElement).closest('li[data-name]') as HTMLElement | null;
      if (!li) return;
      const name = li.dataset.name!;
      if ((e.target as HTMLElement).classList.contains('twisty')) {
        if (this.open.has(name)) this.open.delete(name);
        else this.open.add(name);
        void this.refresh();
        return;
      }
      this.onPick(li.dataset.branch === '1' ? name + '.*' : name);
    });
  }

  start() {
    void this.refresh();
    window.clearInterval(this.timer);
    this.timer = window.setInterval(() => void this.refresh(), REFRESH_MS);
  }

  stop() {
    window.clearInterval(this.timer);
  }

  async refresh() {
    try {
      const prefixes = [...this.open];
      const levels = await Promise.all(prefixes.map((p) => fetchTree(p).catch(() => null)));
      this.levels.clear();
      prefixes.forEach((p, i) => {
        if (levels[i]) this.levels.set(p, levels[i]!);
        else if (p) this.open.delete(p);
      });
      this.paint();
    } catch (e) {
      console.warn('tree:', e);
    }
  }

  private paint() {
    const root = this.levels.get('');
    if (!root) return;
    const ul = this.list(root);
    this.el.replaceChildren(ul);
  }

  private list(level: TreeLevel): HTMLUListElement {
    const ul = document.createElement('ul');
    for (const c of level.children) ul.appendChild(this.item(c));
    if (level.childCount > level.children.length) {
      const more = document.createElement('li');
      more.className = 'muted';
      more.textContent = `… ${level.childCount - level.children.length} more (search to narrow)`;
      ul.appendChild(more);
    }
    return ul;
  }

  private item(n: TreeNode): HTMLLIElement {
    const li = document.createElement('li');
    li.dataset.name = n.name;
    li.dataset.branch = n.branch ? '1' : '0';
    li.dataset.count = String(n.count);
    li.dataset.worst = n.worst ?? 'none';
    const twisty = document.createElement('span');
    twisty.className = 'twisty';
    twisty.textContent = n.branch ? (this.open.has(n.name) ? '▾' : '▸') : ' ';
    const dot = document.createElement('span');
    dot.className = 'qdot q-' + (n.worst ?? 'none');
    dot.title = n.worst ? `worst quality: ${n.worst}` : 'no value yet';
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = n.label;
    const count = document.createElement('span');
    count.className = 'count muted';
    count.textContent = n.branch ? String(n.count) : '';
    li.append(twisty, dot, label, count);
    const sub = this.levels.get(n.name);
    if (n.branch && this.open.has(n.name) && sub) li.appendChild(this.list(sub));
    return li;
  }
}
