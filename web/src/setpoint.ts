// The setpoint control: one panel, opened from a writable tag's row, that
// takes a value, shows the tag's limits, asks the operator to confirm
// ("from 20 to 42.5 %"), sends it and shows the device's answer. Nothing
// leaves the page before the confirm, and nothing out of range at all.
import { checkSetpoint, describeReply, limitsText, postSetpoint, type Writable } from './setpoint_model';

export interface WritableTag {
  name: string;
  unit: string;
  value?: number | null;
  writable: Writable;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls = '', text = ''): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text) e.textContent = text;
  return e;
}

export class SetpointPanel {
  readonly el: HTMLElement;
  private title = el('h3');
  private current = el('div', 'sp-current');
  private limits = el('div', 'sp-limits');
  private input = el('input');
  private error = el('div', 'sp-error');
  private confirmText = el('div', 'sp-confirm-text');
  private result = el('div', 'sp-result');
  private writeBtn = el('button', 'sp-write', 'Write…');
  private confirmBtn = el('button', 'sp-confirm', 'Confirm');
  private cancelBtn = el('button', 'sp-cancel', 'Cancel');
  private closeBtn = el('button', 'sp-close', 'Close');
  private tag: WritableTag | null = null;
  private pending: number | null = null;
  private busy = false;

  constructor(parent: HTMLElement = document.body) {
    this.el = el('div', 'setpoint-panel');
    this.el.id = 'setpoint';
    this.el.hidden = true;
    this.el.setAttribute('role', 'dialog');
    this.el.setAttribute('aria-label', 'Write a setpoint');
    this.input.id = 'setpoint-value';
    this.input.autocomplete = 'off';
    this.input.setAttribute('inputmode', 'decimal');
    const row = el('div', 'sp-row');
    row.append(this.input, this.writeBtn);
    const confirmRow = el('div', 'sp-row sp-confirm-row');
    confirmRow.append(this.confirmText, this.confirmBtn, this.cancelBtn);
    confirmRow.hidden = true;
    this.el.append(this.title, this.current, this.limits, row, this.error, confirmRow, this.result, this.closeBtn);
    parent.appendChild(this.el);

    this.writeBtn.addEventListener('click', () => this.ask());
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') this.ask();
      if (e.key === 'Escape') this.close();
    });
    this.confirmBtn.addEventListener('click', () => void this.send());
    this.cancelBtn.addEventListener('click', () => this.showConfirm(false));
    this.closeBtn.addEventListener('click', () => this.close());
  }

  open(tag: WritableTag) {
    this.tag = tag;
    this.pending = null;
    this.title.textContent = tag.name;
    this.updateCurrent(tag.value);
    this.limits.textContent = 'Limits: ' + limitsText(tag.writable, tag.unit);
    this.input.value = '';
    this.input.placeholder = tag.writable.boolean ? 'on or off' : 'new value';
    this.error.textContent = '';
    this.result.textContent = '';
    this.result.dataset.ok = '';
    this.showConfirm(false);
    this.el.hidden = false;
    this.input.focus();
  }

  /** The live value, kept current while the panel is open. */
  updateCurrent(v: number | null | undefined) {
    if (!this.tag) return;
    const u = this.tag.unit ? ' ' + this.tag.unit : '';
    this.current.textContent = 'Now: ' + (v === null || v === undefined ? '–' : this.fmt(v) + u);
    this.tag.value = v;
  }

  get openTag(): string | null {
    return this.el.hidden ? null : (this.tag?.name ?? null);
  }

  close() {
    this.el.hidden = true;
    this.tag = null;
  }

  private fmt(v: number): string {
    if (this.tag?.writable.boolean) return v ? 'on' : 'off';
    return String(Number(v.toPrecision(8)));
  }

  private ask() {
    if (!this.tag || this.busy) return;
    const checked = checkSetpoint(this.input.value, this.tag.writable);
    if (!checked.ok) {
      this.error.textContent = checked.error;
      this.showConfirm(false);
      return;
    }
    this.error.textContent = '';
    this.pending = checked.value;
    const u = this.tag.unit ? ' ' + this.tag.unit : '';
    const from = this.tag.value === null || this.tag.value === undefined ? '–' : this.fmt(this.tag.value);
    this.confirmText.textContent = `Set ${this.tag.name} from ${from} to ${this.fmt(checked.value)}${u}?`;
    this.showConfirm(true);
    this.confirmBtn.focus();
  }

  private showConfirm(on: boolean) {
    (this.confirmBtn.parentElement as HTMLElement).hidden = !on;
    this.writeBtn.disabled = on;
    this.input.disabled = on;
    if (!on) this.pending = null;
  }

  private async send() {
    if (!this.tag || this.pending === null || this.busy) return;
    const tag = this.tag;
    const value = this.pending;
    this.busy = true;
    this.confirmBtn.disabled = true;
    this.result.textContent = 'Writing…';
    this.result.dataset.ok = '';
    try {
      const reply = await postSetpoint(tag.name, value, !!tag.writable.boolean);
      const verdict = describeReply(reply, tag.unit);
      this.result.textContent = verdict.text;
      this.result.dataset.ok = verdict.ok ? 'yes' : 'no';
    } catch (e) {
      this.result.textContent = 'Write failed: ' + (e instanceof Error ? e.message : String(e));
      this.result.dataset.ok = 'no';
    } finally {
      this.busy = false;
      this.confirmBtn.disabled = false;
      this.showConfirm(false);
    }
  }
}
