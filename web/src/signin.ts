// The sign-in form (#signin), shown instead of the dashboard while
// authentication is on and the page has no session: a token (an API key or
// a JWT) is posted once to /api/auth/login, which sets an HttpOnly cookie
// that every later request and the EventSource carry. The token itself is
// not kept by the page.
import { login } from './api';
import { loginErrorMessage, type AuthInfo } from './session';

export class SignInForm {
  readonly el: HTMLElement;
  /** Counters, for tests. */
  attempts = 0;
  failures = 0;
  private form: HTMLFormElement;
  private token: HTMLInputElement;
  private button: HTMLButtonElement;
  private notice: HTMLElement;
  private error: HTMLElement;

  constructor(el: HTMLElement, onSignedIn: (info: AuthInfo) => void) {
    this.el = el;
    this.form = el.querySelector('form') as HTMLFormElement;
    this.token = el.querySelector('#signin-token') as HTMLInputElement;
    this.button = el.querySelector('#signin-btn') as HTMLButtonElement;
    this.notice = el.querySelector('#signin-notice') as HTMLElement;
    this.error = el.querySelector('#signin-error') as HTMLElement;
    this.form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const token = this.token.value.trim();
      if (!token) {
        this.setError(loginErrorMessage(400, null));
        return;
      }
      this.attempts++;
      this.button.disabled = true;
      this.setError('');
      const r = await login(token);
      this.button.disabled = false;
      if (r.ok && r.info.principal) {
        this.token.value = '';
        onSignedIn(r.info);
        return;
      }
      this.failures++;
      this.setError(r.ok ? loginErrorMessage(500, null) : loginErrorMessage(r.status, r.body));
      this.token.select();
    });
  }

  /** Shows the form; `notice` says why (the session ended, signed out), or nothing. */
  show(notice: string) {
    this.notice.textContent = notice;
    this.notice.hidden = !notice;
    this.setError('');
    this.token.value = '';
    this.button.disabled = false;
    this.el.hidden = false;
    this.token.focus();
  }

  hide() {
    this.el.hidden = true;
    this.notice.hidden = true;
    this.setError('');
  }

  private setError(text: string) {
    this.error.textContent = text;
    this.error.hidden = !text;
  }
}
