import type { Instant } from '../domain/time.js';
import { html } from '../web/html.js';
import { csrfField, page } from '../web/page-layout.js';
import { longDate } from './wording.js';

export interface ConsentRefusedView {
  readonly uid: string;
  readonly csrfToken: string;
  readonly appName: string;
  readonly partnerName: string;
  /** When the agreement stopped taking new consents. */
  readonly since: Instant;
}

/** Why consent cannot be given: the partner's agreement is winding down (`no_new_grants` or later). */
export function consentRefusedPage(view: ConsentRefusedView): string {
  return page(`${view.appName} cannot be connected`, html`
<h1>${view.appName} cannot be connected</h1>
<p role="alert">The agreement under which ${view.partnerName} receives member data is winding down: it stopped accepting new consents on <time datetime="${new Date(view.since).toISOString()}">${longDate(view.since)}</time>, so you cannot give consent to ${view.appName} now.</p>
<p>Nothing about you has been shared through this request.</p>
<form method="post" action="/interaction/${view.uid}/abort">
  ${csrfField(view.csrfToken)}
  <button type="submit" class="primary">Return to ${view.appName}</button>
</form>
`);
}

/** A page for a request that cannot go on and has nowhere safe to go back to. */
export function errorPage(title: string, message: string, detail?: string): string {
  return page(title, html`
<h1>${title}</h1>
<p role="alert">${message}</p>
${detail ? html`<p class="note">${detail}</p>` : ''}
`);
}
