import type { Agreement } from '../domain/agreement.js';
import type { App, AppClass } from '../domain/app.js';
import { fieldsOf, type Field, type FieldMask } from '../domain/field-catalog.js';
import type { Partner } from '../domain/partner.js';
import type { Purpose } from '../domain/purposes.js';
import { fieldLabel, PURPOSE_WORDING } from '../web/field-labels.js';
import { html, type Html } from '../web/html.js';
import { csrfField, page, PLATFORM_NAME, PRIVACY_CENTER_PATH } from '../web/page-layout.js';
import { friendScope } from './scopes.js';
import { countryName, longDate, retentionWording, storageWording } from './wording.js';

export interface ConsentView {
  readonly uid: string;
  readonly csrfToken: string;
  readonly memberId: string;
  readonly app: App;
  readonly partner: Partner;
  readonly agreement: Agreement;
  readonly purpose: Purpose;
  /** Fields about the member asked for, `id` excluded. */
  readonly memberFields: FieldMask;
  /** Fields about friends asked for that can ever leave. */
  readonly friendFields: FieldMask;
  /** Fields about friends asked for that never leave (sensitive). */
  readonly neverSharedFriendFields: FieldMask;
  /** Set when the member allowed without ticking anything: the page is shown again, saying so. */
  readonly nothingTicked?: boolean;
}

/** The note the issue asks for next to every field about friends. */
export const FRIENDS_OPT_IN_NOTE = 'Only friends who have turned on sharing through friends are shared.';

/** Never ticked beforehand: consent is something the member does, field by field (PRODUCT.md §9). */
function checkbox(name: string, value: string, label: string, id: string): Html {
  return html`<label for="${id}"><input type="checkbox" id="${id}" name="${name}" value="${value}"> ${label}</label>`;
}

/** A field about the member: the friend list is theirs, and through a third-party app it is narrower. */
function memberFieldLabel(field: Field, appClass: AppClass): string {
  if (field !== 'friends') return fieldLabel(field);
  return appClass === 'third_party'
    ? 'Your friend list (only friends who also use this app, and only their name and picture)'
    : 'Your friend list';
}

function memberFieldBoxes(view: ConsentView): Html[] {
  return fieldsOf(view.memberFields).map((field) => checkbox('scope', field, memberFieldLabel(field, view.app.class), `scope-${field}`));
}

function friendSection(view: ConsentView): Html | '' {
  if (view.friendFields === 0 && view.neverSharedFriendFields === 0) return '';
  const never = fieldsOf(view.neverSharedFriendFields).map(fieldLabel);
  return html`
  <fieldset>
    <legend>About your friends</legend>
    <p class="note" id="friends-note">${FRIENDS_OPT_IN_NOTE} Friends of your friends are never shared.</p>
    ${fieldsOf(view.friendFields).map((field) => checkbox('scope', friendScope(field), fieldLabel(field), `scope-friends-${field}`))}
    ${never.length > 0 ? html`<p class="note">Also asked for, and never shared: ${never.join(', ')} (sensitive information about your friends never leaves the platform).</p>` : ''}
  </fieldset>`;
}

function privacyPolicy(partner: Partner): Html {
  return partner.privacyPolicyUrl === null
    ? html`${partner.legalName} has not given the platform a privacy policy.`
    : html`<a href="${partner.privacyPolicyUrl}" rel="noopener noreferrer" target="_blank">${partner.legalName}’s privacy policy</a> (opens in a new tab)`;
}

/**
 * The consent page: who asks (legal name, country, privacy policy), where the data will be kept
 * and for how long, why, which fields about the member and about friends (each a checkbox, none
 * ticked: `id` is fixed), and when the agreement ends. Posts the ticked scopes and
 * `decision=allow|deny`.
 */
export function consentPage(view: ConsentView): string {
  const { app, partner, agreement } = view;
  return page(`Share your data with ${app.name}?`, html`
<h1>Share your data with ${app.name}?</h1>
<p>You are logged in as <strong>${view.memberId}</strong>. ${app.name} asks to read the data below. Nothing is shared unless you tick it.</p>
${view.nothingTicked && html`<p class="error" role="alert" id="consent-error">You allowed without ticking anything. Tick what you want to share, or choose Deny.</p>`}
<dl>
  <dt>Company</dt><dd>${partner.legalName}, ${countryName(partner.country)}</dd>
  <dt>Privacy policy</dt><dd>${privacyPolicy(partner)}</dd>
  <dt>Where your data is kept</dt><dd>${storageWording(agreement.storage, partner.legalName)}</dd>
  <dt>How long it is kept</dt><dd>${retentionWording(agreement.retentionDays)}</dd>
  <dt>Purpose</dt><dd>${PURPOSE_WORDING[view.purpose]} (<code>${view.purpose}</code>)</dd>
  <dt>Agreement ends</dt><dd><time datetime="${new Date(agreement.endsAt).toISOString()}">${longDate(agreement.endsAt)}</time></dd>
</dl>
<form method="post" action="/interaction/${view.uid}/consent">
  ${csrfField(view.csrfToken)}
  <fieldset>
    <legend>About you</legend>
    <label for="scope-id"><input type="checkbox" id="scope-id" checked disabled aria-describedby="id-note"> ${fieldLabel('id')}</label>
    <p class="note" id="id-note">Your member id is always shared: without it the app cannot tell who you are.</p>
    ${memberFieldBoxes(view)}
  </fieldset>
  ${friendSection(view)}
  <p class="note">Tick only what you want to share. You can see what ${app.name} reads, remove a single permission or revoke it all at any time in your <a href="${PRIVACY_CENTER_PATH}" target="_blank" rel="noopener">privacy center</a> (opens in a new tab); if ${app.name} does not use it for 90 days, it stops working by itself.</p>
  <button type="submit" name="decision" value="allow" class="primary">Allow</button>
  <button type="submit" name="decision" value="deny">Deny</button>
</form>
`, { header: { site: PLATFORM_NAME } });
}
