import type { NotInEffectCause } from '../../domain/agreement.js';
import { AUDIENCES, audienceIsEditable, type Audience } from '../../domain/audience.js';
import { FIELD_CLASS, OBJECT_FIELDS, type Field, type ObjectField, type SensitivityClass } from '../../domain/field-catalog.js';
import { AUDIENCE_LABELS, FIELD_LABELS } from '../../web/field-labels.js';
import { html, type Html } from '../../web/html.js';
import { csrfField, page } from '../../web/page-layout.js';
import type { ExclusionChoices, MemberAppStanding, NamedTarget, PrivacyView } from './member-privacy.js';
import type { AccessHistoryItem, MemberApp } from './privacy-schemas.js';

/**
 * The privacy center's pages: plain server-rendered HTML that works without JavaScript, with
 * labels for every control and every interpolated value escaped (see src/web/html.ts).
 */

export const PAGE_PATHS = {
  login: '/privacy/login',
  logout: '/privacy/logout',
  settings: '/privacy',
  saveSettings: '/privacy/settings',
  apps: '/privacy/apps',
  history: '/privacy/history',
  keepOut: '/privacy/exclusions',
  letBackIn: '/privacy/exclusions/remove',
} as const;

export function revokePath(appId: string): string {
  return `/privacy/apps/${encodeURIComponent(appId)}/revoke`;
}

const CLASS_LEGENDS: ReadonlyArray<[SensitivityClass, string]> = [
  ['contact', 'Contact details'],
  ['profile', 'Profile'],
  ['sensitive', 'Sensitive details (never shared about you through a friend, whatever you choose)'],
  ['activity', 'Activity'],
];

const STATUS_LABELS: Readonly<Record<MemberApp['status'], string>> = {
  active: 'Active',
  revoked: 'Revoked',
  expired: 'Expired (unused for 90 days)',
  ended: 'Ended',
};

/** Why an agreement is not in effect, as its members read it: `Active — but …: the app receives nothing`. */
const AGREEMENT_NOT_IN_EFFECT: Readonly<Record<NotInEffectCause, string>> = {
  no_agreement: 'there is no agreement with its partner',
  terminated: 'the agreement has been terminated',
  not_active: 'the agreement is not in force yet',
  not_started: 'the agreement has not started yet',
  expired: 'the agreement has expired',
  access_ended: 'the agreement has wound down',
  certification_overdue: 'the agreement has lapsed (its certification is overdue)',
  suspended: 'the agreement is suspended',
};

const SITE = 'Datapact privacy center';

/** A privacy center page; logged in, with the navigation and a log-out form. */
function layout(title: string, body: Html, nav?: { current: 'settings' | 'apps' | 'history'; csrf: string }): string {
  return page(title, body, {
    wide: true,
    header: {
      site: SITE,
      ...(nav && {
        nav: {
          label: 'Privacy center',
          links: [
            { href: PAGE_PATHS.settings, label: 'Privacy settings', current: nav.current === 'settings' },
            { href: PAGE_PATHS.apps, label: 'Apps and devices', current: nav.current === 'apps' },
            { href: PAGE_PATHS.history, label: 'Access history', current: nav.current === 'history' },
          ],
          after: html`<form method="post" action="${PAGE_PATHS.logout}">${csrfField(nav.csrf)}<button type="submit">Log out</button></form>`,
        },
      }),
    },
  });
}

export function loginPage(options: { csrf: string; memberId?: string; failed?: boolean }): string {
  return layout('Log in', html`
<h1>Log in to your privacy center</h1>
<p>See and change what apps and devices may learn about you, and which of them have your consent.</p>
${options.failed && html`<p class="error" role="alert">The member id or password is wrong.</p>`}
<form method="post" action="${PAGE_PATHS.login}">
${csrfField(options.csrf)}
<div class="row"><label for="member_id">Member id</label>
<input id="member_id" name="member_id" type="text" autocomplete="username" required maxlength="100" value="${options.memberId ?? ''}"></div>
<div class="row"><label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1000"></div>
<button type="submit">Log in</button>
</form>`);
}

function checkbox(name: 'platform_enabled' | 'share_via_friends', checked: boolean, label: string, help: string): Html {
  return html`<div class="row">
<input type="checkbox" id="${name}" name="${name}" value="on"${checked ? html` checked` : ''} aria-describedby="${name}_help">
<label for="${name}">${label}</label>
<p class="help" id="${name}_help">${help}</p>
</div>`;
}

function audienceSelect(field: ObjectField, current: Audience): Html {
  const id = `audience_${field}`;
  return html`<div class="row"><label for="${id}">${FIELD_LABELS[field]}</label>
<select id="${id}" name="${id}">
${AUDIENCES.map((audience) => html`<option value="${audience}"${audience === current ? html` selected` : ''}>${AUDIENCE_LABELS[audience]}</option>`)}
</select></div>`;
}

/** The value of a keep-out form's `target`: `app:<id>` or `partner:<id>`. */
export function exclusionTarget(kind: 'app' | 'partner', id: string): string {
  return `${kind}:${id}`;
}

function keptOutItem(kind: 'app' | 'partner', target: NamedTarget, csrf: string): Html {
  return html`<li>${target.name}${kind === 'partner' ? ' (every app of this partner)' : ''}
<form method="post" action="${PAGE_PATHS.letBackIn}" class="inline">${csrfField(csrf)}<input type="hidden" name="target" value="${exclusionTarget(kind, target.id)}"><button type="submit">Let ${target.name} see me again</button></form></li>`;
}

/** The apps and partners kept from seeing the member through friends, and the form to add one (PRODUCT.md §4, §9). */
function keepOutSection(exclusions: ExclusionChoices, csrf: string): Html {
  const kept = [
    ...exclusions.apps.map((target) => keptOutItem('app', target, csrf)),
    ...exclusions.partners.map((target) => keptOutItem('partner', target, csrf)),
  ];
  const keptIds = new Set([...exclusions.apps.map((t) => exclusionTarget('app', t.id)), ...exclusions.partners.map((t) => exclusionTarget('partner', t.id))]);
  const options = (kind: 'app' | 'partner', targets: readonly NamedTarget[]) => targets
    .filter((target) => !keptIds.has(exclusionTarget(kind, target.id)))
    .map((target) => html`<option value="${exclusionTarget(kind, target.id)}">${target.name}</option>`);
  return html`<section aria-labelledby="keep-out">
<h2 id="keep-out">Keep an app out</h2>
<p>The apps and partners below never see you through your friends, whatever your other settings say; the others still do if sharing through friends is on. They are not told: to them you look like a friend who turned sharing off. What you share with an app yourself is not affected (revoke it under Apps and devices).</p>
${kept.length === 0 ? html`<p>You keep no app or partner out.</p>` : html`<ul class="kept-out">${kept}</ul>`}
<form method="post" action="${PAGE_PATHS.keepOut}">
${csrfField(csrf)}
<div class="row"><label for="keep_out_target">App or partner to keep out</label>
<select id="keep_out_target" name="target" required>
<optgroup label="Apps">${options('app', exclusions.choices.apps)}</optgroup>
<optgroup label="Partners (all their apps)">${options('partner', exclusions.choices.partners)}</optgroup>
</select></div>
<button type="submit">Keep it out</button>
</form>
</section>`;
}

export function settingsPage(options: {
  memberId: string; privacy: PrivacyView; exclusions: ExclusionChoices; csrf: string; saved: boolean; notice?: string;
}): string {
  const { privacy } = options;
  const basic = OBJECT_FIELDS.filter((field) => !audienceIsEditable(field));
  return layout('Privacy settings', html`
<h1>Privacy settings</h1>
<p>Logged in as <strong>${options.memberId}</strong>.</p>
${options.saved && html`<p class="notice" role="status">Your settings were saved.</p>`}
${options.notice !== undefined && html`<p class="notice" role="status">${options.notice}</p>`}
<form method="post" action="${PAGE_PATHS.saveSettings}">
${csrfField(options.csrf)}
<fieldset>
<legend>Apps and devices</legend>
${checkbox('platform_enabled', privacy.platform_enabled, 'Let apps and devices receive data about me',
    'When this is off, no app, device or partner gets anything about you, not even through your friends.')}
${checkbox('share_via_friends', privacy.share_via_friends, 'Let apps and devices that my friends use see what I share with friends',
    'When this is off, the apps and devices your friends use learn nothing about you through them. An app you consented to yourself can still show your name and picture to friends who use it too.')}
</fieldset>
<h2>Who can see each part of your profile</h2>
<p>${basic.map((field, index) => html`${index > 0 ? ', ' : ''}${FIELD_LABELS[field]}`)}: always public; these cannot be changed.</p>
${CLASS_LEGENDS.map(([fieldClass, legend]) => html`<fieldset>
<legend>${legend}</legend>
${OBJECT_FIELDS.filter((field) => FIELD_CLASS[field] === fieldClass).map((field) => audienceSelect(field, privacy.audiences[field]))}
</fieldset>`)}
<button type="submit">Save settings</button>
</form>
${keepOutSection(options.exclusions, options.csrf)}`, { current: 'settings', csrf: options.csrf });
}

function when(iso: string | null): Html {
  if (iso === null) return html`never`;
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;
}

function fieldList(fields: readonly Field[]): Html | string {
  return fields.length === 0 ? 'none' : fields.map((field) => FIELD_LABELS[field]).join(', ');
}

/**
 * A grant's status. An ended grant says why (its agreement's access ended); an active grant whose
 * agreement is not in effect says so, for it then gives the app nothing.
 */
function statusLabel({ grant, agreementNotInEffect }: MemberAppStanding): string {
  if (grant.status === 'ended') return `${STATUS_LABELS.ended}: ${AGREEMENT_NOT_IN_EFFECT.access_ended}`;
  if (grant.status !== 'active' || agreementNotInEffect === null) return STATUS_LABELS[grant.status];
  return `${STATUS_LABELS.active} — but ${AGREEMENT_NOT_IN_EFFECT[agreementNotInEffect]}: the app receives nothing`;
}

export function appsPage(options: { apps: readonly MemberAppStanding[]; csrf: string; revoked: boolean }): string {
  const byApp = new Map<string, MemberAppStanding[]>();
  for (const standing of options.apps) {
    const appId = standing.grant.app.id;
    byApp.set(appId, [...(byApp.get(appId) ?? []), standing]);
  }
  const sections = [...byApp.values()].map((standings, index) => {
    const grants = standings.map(({ grant }) => grant);
    const first = grants[0]!;
    const headingId = `app-${index}`;
    // Only an active grant has anything left to revoke: an expired or ended one gives nothing already.
    const revocable = grants.some((grant) => grant.status === 'active');
    return html`<section aria-labelledby="${headingId}">
<h2 id="${headingId}">${first.app.name}</h2>
<p>Run by ${first.partner.name} (${first.partner.country}).</p>
<table>
<caption>What you consented to</caption>
<thead><tr><th scope="col">Purpose</th><th scope="col">About you</th><th scope="col">About your friends</th><th scope="col">Granted</th><th scope="col">Last used</th><th scope="col">Status</th></tr></thead>
<tbody>
${standings.map((standing) => {
    const { grant } = standing;
    return html`<tr><td>${grant.purpose.replaceAll('_', ' ')}</td><td>${fieldList(grant.member_fields)}</td><td>${fieldList(grant.friend_fields)}</td><td>${when(grant.granted_at)}</td><td>${when(grant.last_used_at)}</td><td>${statusLabel(standing)}</td></tr>`;
  })}
</tbody>
</table>
${revocable
    ? html`<form method="post" action="${revokePath(first.app.id)}">${csrfField(options.csrf)}<button type="submit">Revoke access for ${first.app.name}</button></form>`
    : html`<p>${first.app.name} has no access left to revoke. To read your data again it must ask for your consent.</p>`}
</section>`;
  });
  return layout('Apps and devices', html`
<h1>Apps and devices</h1>
<p>Every app and device you gave access to your data, and what you consented to. Revoking stops the app at once: every token it holds stops working.</p>
${options.revoked && html`<p class="notice" role="status">Access revoked.</p>`}
${sections.length === 0 ? html`<p>No app or device has your consent.</p>` : sections}`, { current: 'apps', csrf: options.csrf });
}

const VIA_LABELS: Readonly<Record<AccessHistoryItem['via'], string>> = {
  direct: 'Directly',
  friend: 'Through a friend',
};

/**
 * The access history: every release of data about the member, newest first, a page at a time;
 * `after` is the cursor of the next page, for the "more" link.
 */
export function historyPage(options: { entries: readonly AccessHistoryItem[]; after?: string; first: boolean; csrf: string }): string {
  const rows = options.entries.map((entry) => html`<tr><td>${when(entry.at)}</td><td>${entry.app.name}</td><td>${entry.partner.legal_name} (${entry.partner.country})</td><td>${entry.purpose === null ? 'not recorded' : entry.purpose.replaceAll('_', ' ')}</td><td>${fieldList(entry.fields)}</td><td>${VIA_LABELS[entry.via]}</td></tr>`);
  const more = options.after === undefined
    ? null
    : html`<p><a href="${PAGE_PATHS.history}?after=${encodeURIComponent(options.after)}">More (older entries)</a></p>`;
  return layout('Access history', html`
<h1>Access history</h1>
<p>Every time an app or device received data about you: when, which app and partner, for what purpose, which fields, and whether it came through your own consent or through a friend who uses the app (the friend is not named).</p>
${!options.first && html`<p><a href="${PAGE_PATHS.history}">Back to the newest entries</a></p>`}
${rows.length === 0
    ? html`<p>${options.first ? 'No app or device has received data about you.' : 'No older entries.'}</p>`
    : html`<table>
<caption>Data released about you, newest first</caption>
<thead><tr><th scope="col">When</th><th scope="col">App</th><th scope="col">Partner (country)</th><th scope="col">Purpose</th><th scope="col">Fields</th><th scope="col">How</th></tr></thead>
<tbody>
${rows.map((row) => html`${row}\n`)}</tbody>
</table>`}
${more}`, { current: 'history', csrf: options.csrf });
}

export function errorPage(options: { status: number; code: string; message: string; requestId: string; loggedIn: boolean }): string {
  return layout('Error', html`
<h1>This did not work</h1>
<p class="error" role="alert">${options.message}</p>
<p>Error <code>${options.code}</code> (HTTP ${options.status}), request id <code>${options.requestId}</code>.</p>
<p><a href="${options.loggedIn ? PAGE_PATHS.settings : PAGE_PATHS.login}">Back to the privacy center</a></p>`);
}
