import { html } from '../web/html.js';
import { csrfField, page } from '../web/page-layout.js';

export interface LoginView {
  readonly uid: string;
  readonly csrfToken: string;
  readonly appName: string;
  readonly partnerName: string;
  /** The member id typed before, shown again after a failed attempt (never the password). */
  readonly memberId?: string;
  /** Set after a failed attempt. */
  readonly failed?: boolean;
}

/** The sign-in form, posting `member_id` and `password` (and the CSRF token) to `/interaction/:uid/login`. */
export function loginPage(view: LoginView): string {
  const failed = view.failed === true;
  const described = failed ? 'login-error' : undefined;
  return page(`Log in to continue to ${view.appName}`, html`
<h1>Log in to continue to ${view.appName}</h1>
<p>${view.appName}, an app of ${view.partnerName}, asks to read some of your data. Log in first; you will see exactly what it asks for before anything is shared.</p>
${failed ? html`<p class="error" role="alert" id="login-error">Member id or password is wrong.</p>` : ''}
<form method="post" action="/interaction/${view.uid}/login">
  ${csrfField(view.csrfToken)}
  <label for="member_id">Member id
    <input type="text" id="member_id" name="member_id" value="${view.memberId ?? ''}" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="200"${failed ? html` aria-invalid="true" aria-describedby="${described}"` : ''}>
  </label>
  <label for="password">Password
    <input type="password" id="password" name="password" autocomplete="current-password" required maxlength="200"${failed ? html` aria-invalid="true" aria-describedby="${described}"` : ''}>
  </label>
  <button type="submit" class="primary">Log in</button>
</form>
<form method="post" action="/interaction/${view.uid}/abort">
  ${csrfField(view.csrfToken)}
  <button type="submit">Cancel and return to ${view.appName}</button>
</form>
`);
}
