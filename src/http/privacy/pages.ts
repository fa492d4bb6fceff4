import type { NotInEffectCause } from '../../domain/agreement.js';
import { AUDIENCES, audienceIsEditable, type Audience } from '../../domain/audience.js';
import { FIELD_CLASS, FIELDS, OBJECT_FIELDS, type Field, type ObjectField, type SensitivityClass } from '../../domain/field-catalog.js';
import { AUDIENCE_LABELS, FIELD_LABELS, PURPOSE_WORDING } from '../../web/field-labels.js';
import { html, type Html } from '../../web/html.js';
import { csrfField, page, type PageScript } from '../../web/page-layout.js';
import { PROOF_CHECK_SCRIPT } from '../../web/proof-check-script.js';
import type { TreeHeadView } from '../audit/audit-schemas.js';
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
  deletionRequests: '/privacy/deletion-requests',
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
function layout(title: string, body: Html, nav?: { current: 'settings' | 'apps' | 'history'; csrf: string }, script?: PageScript): string {
  return page(title, body, {
    wide: true,
    ...(script === undefined ? {} : { script }),
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

/** Why a grant stopped working, as the member reads it (revoked, unused 90 days, agreement ended). */
const END_REASON_LABELS: Readonly<Record<NonNullable<MemberApp['end_reason']>, string>> = {
  member_revoked: 'You revoked it',
  token_revoked: 'The app gave it up (revoked its token)',
  unused_90_days: 'Unused for 90 days',
  access_ended: 'The agreement with its partner ended',
};

export function revokeConfirmPath(appId: string): string {
  return revokePath(appId);
}

export function removePermissionPath(appId: string): string {
  return `/privacy/apps/${encodeURIComponent(appId)}/permissions/remove`;
}

/** One app as the apps page shows it: what it can read now (the union of its live grants), and its ended grants. */
export interface AppRow {
  readonly app: MemberApp['app'];
  readonly partner: MemberApp['partner'];
  readonly live: readonly MemberAppStanding[];
  readonly ended: readonly MemberApp[];
}

/** Groups the member's grants by app, newest app first, as the JSON API lists them. */
export function appRows(standings: readonly MemberAppStanding[]): AppRow[] {
  const rows = new Map<string, { app: MemberApp['app']; partner: MemberApp['partner']; live: MemberAppStanding[]; ended: MemberApp[] }>();
  for (const standing of standings) {
    const { grant } = standing;
    const row = rows.get(grant.app.id) ?? { app: grant.app, partner: grant.partner, live: [], ended: [] };
    if (grant.status === 'active') row.live.push(standing);
    else row.ended.push(grant);
    rows.set(grant.app.id, row);
  }
  return [...rows.values()];
}

const earliest = (isos: readonly string[]) => isos.reduce((a, b) => (b < a ? b : a));
const latest = (isos: readonly string[]) => isos.reduce((a, b) => (b > a ? b : a));

/** What the live grants give together: member fields, and friend fields that can ever leave (never a sensitive one). */
export function liveUnion(live: readonly MemberAppStanding[]): { member: Field[]; friends: Field[] } {
  const member = new Set<Field>();
  const friends = new Set<Field>();
  for (const { grant } of live) {
    grant.member_fields.forEach((field) => member.add(field));
    grant.friend_fields.filter((field) => FIELD_CLASS[field] !== 'sensitive').forEach((field) => friends.add(field));
  }
  const order = (fields: Set<Field>) => FIELDS.filter((field) => fields.has(field));
  return { member: order(member), friends: order(friends) };
}

function permissionItem(appId: string, permission: string, label: string, csrf: string): Html {
  return html`<li>${label}
<form method="post" action="${removePermissionPath(appId)}" class="inline">${csrfField(csrf)}<input type="hidden" name="permission" value="${permission}"><button type="submit" class="link" aria-label="Remove ${label}">Remove</button></form></li>`;
}

function liveSection(row: AppRow, csrf: string): Html {
  const { member, friends } = liveUnion(row.live);
  const grants = row.live.map(({ grant }) => grant);
  const purposes = [...new Set(grants.map((grant) => grant.purpose))];
  const used = grants.map((grant) => grant.last_used_at).filter((at): at is string => at !== null);
  const notInEffect = row.live.find((standing) => standing.agreementNotInEffect !== null)?.agreementNotInEffect;
  return html`<p>Can read since ${when(earliest(grants.map((grant) => grant.granted_at)))}, ${purposes.map((purpose, i) => html`${i > 0 ? ' and ' : ''}${PURPOSE_WORDING[purpose]}`)}. Last used ${when(used.length === 0 ? null : latest(used))}.</p>
${notInEffect && html`<p class="error">But ${AGREEMENT_NOT_IN_EFFECT[notInEffect]}: the app receives nothing for now.</p>`}
<div class="columns">
<div><h3>About you</h3>
<ul class="permissions">${member.map((field) => (field === 'id'
    ? html`<li>${FIELD_LABELS.id} (always, while it has access)</li>`
    : permissionItem(row.app.id, field, FIELD_LABELS[field], csrf)))}</ul></div>
${friends.length > 0 && html`<div><h3>About friends who allow it</h3>
<ul class="permissions">${friends.map((field) => permissionItem(row.app.id, `friends.${field}`, FIELD_LABELS[field], csrf))}</ul></div>`}
</div>
<p><a class="button danger" href="${revokeConfirmPath(row.app.id)}">Revoke all access for ${row.app.name}…</a></p>`;
}

function appSection(row: AppRow, index: number, csrf: string, extra: Html | ''): Html {
  const headingId = `app-${index}`;
  return html`<section class="card" aria-labelledby="${headingId}">
<h2 id="${headingId}">${row.app.name}</h2>
<p class="note">Run by ${row.partner.name} (${row.partner.country}).</p>
${row.live.length > 0 ? liveSection(row, csrf) : html`<p>${row.app.name} can read nothing now. To read your data again it must ask for your consent.</p>`}
${extra}
</section>`;
}

function endedTable(rows: readonly AppRow[]): Html | '' {
  const ended = rows.flatMap((row) => row.ended.map((grant) => ({ row, grant })));
  if (ended.length === 0) return '';
  return html`<section aria-labelledby="ended">
<h2 id="ended">Ended access</h2>
<div class="scroll"><table>
<caption>Consents that no longer give anything, and why</caption>
<thead><tr><th scope="col">App</th><th scope="col">Purpose</th><th scope="col">Given</th><th scope="col">Ended</th><th scope="col">Why</th></tr></thead>
<tbody>
${ended.map(({ row, grant }) => html`<tr><td>${row.app.name}</td><td>${PURPOSE_WORDING[grant.purpose]}</td><td>${when(grant.granted_at)}</td><td>${when(grant.ended_at)}</td><td>${grant.end_reason === null ? '' : END_REASON_LABELS[grant.end_reason]}</td></tr>\n`)}</tbody>
</table></div>
</section>`;
}

/** A deletion request as a card shows it, with the partner it was sent to. */
export interface DeletionStanding {
  readonly partnerId: string;
  /** The member's latest request to this partner, if any. */
  readonly latest?: { readonly requested_at: string; readonly confirm_by: string; readonly confirmed_at: string | null; readonly state: string };
}

/** Where the member's request to the app's partner stands, and the button to ask (again). */
export function deletionBlock(row: AppRow, standing: DeletionStanding, csrf: string): Html {
  const latest = standing.latest;
  const status = latest === undefined ? ''
    : latest.state === 'confirmed'
      ? html`<p class="notice">${row.partner.name} confirmed on ${when(latest.confirmed_at)} that it deleted your data (asked ${when(latest.requested_at)}).</p>`
      : latest.state === 'overdue'
        ? html`<p class="error">You asked ${row.partner.name} to delete your data on ${when(latest.requested_at)}. It has not confirmed after 30 days: the platform's staff are following it up.</p>`
        : html`<p class="notice">You asked ${row.partner.name} to delete your data on ${when(latest.requested_at)}. Waiting for its confirmation (due by ${when(latest.confirm_by)}).</p>`;
  const canAsk = latest === undefined || latest.state === 'confirmed';
  return html`${status}${canAsk && html`<form method="post" action="${PAGE_PATHS.deletionRequests}" class="inline">${csrfField(csrf)}<input type="hidden" name="partner_id" value="${standing.partnerId}"><button type="submit">Ask ${row.partner.name} to delete my data</button></form>`}`;
}

export interface AppsPageOptions {
  readonly apps: readonly MemberAppStanding[];
  readonly csrf: string;
  readonly notice?: string;
  /** Anything more an app's card shows (the deletion request of its partner). */
  readonly extra?: (row: AppRow) => Html | '';
}

export function appsPage(options: AppsPageOptions): string {
  const rows = appRows(options.apps);
  const sections = rows.map((row, index) => appSection(row, index, options.csrf, options.extra?.(row) ?? ''));
  return layout('Apps and devices', html`
<h1>Apps and devices</h1>
<p>Each app and device you gave access to your data: what it can read now, and since when. Remove a single permission, or revoke everything: the app's tokens stop reaching it on their next request.</p>
${options.notice !== undefined && html`<p class="notice" role="status">${options.notice}</p>`}
${sections.length === 0 ? html`<p>No app or device has your consent.</p>` : sections}
${endedTable(rows)}`, { current: 'apps', csrf: options.csrf });
}

/** The confirmation before revoking: what the app loses, and the button that does it. */
export function revokeConfirmPage(options: { row: AppRow; csrf: string }): string {
  const { row } = options;
  const { member, friends } = liveUnion(row.live);
  return layout(`Revoke ${row.app.name}?`, html`
<h1>Revoke all access for ${row.app.name}?</h1>
<p>${row.app.name} (${row.partner.name}) will stop reading your data at once: every token it holds stops working. To read it again, it must ask for your consent.</p>
<p>It loses: ${fieldList(member)}${friends.length > 0 ? html`; about your friends: ${fieldList(friends)}` : ''}.</p>
<form method="post" action="${revokePath(row.app.id)}">
${csrfField(options.csrf)}
<button type="submit" class="danger">Revoke access</button>
<a class="button" href="${PAGE_PATHS.apps}">Cancel</a>
</form>`, { current: 'apps', csrf: options.csrf });
}

const VIA_LABELS: Readonly<Record<AccessHistoryItem['via'], string>> = {
  direct: 'Directly',
  friend: 'Through a friend',
};

/**
 * The access history: every release of data about the member, newest first, a page at a time;
 * `after` is the cursor of the next page, for the "more" link.
 */
export interface HistoryFilters {
  readonly app_id?: string;
  readonly since?: string;
  readonly until?: string;
}

/** The filter form (a GET, so that it works without scripts and the URL can be kept) and the download link. */
function historyFilterForm(filters: HistoryFilters, apps: ReadonlyArray<{ id: string; name: string }>): Html {
  const query = new URLSearchParams(filters as Record<string, string>).toString();
  return html`<form method="get" action="${PAGE_PATHS.history}" class="filters">
<div class="columns">
<div class="row"><label for="app_id">App</label>
<select id="app_id" name="app_id"><option value="">Every app</option>
${apps.map((app) => html`<option value="${app.id}"${app.id === filters.app_id ? html` selected` : ''}>${app.name}</option>`)}
</select></div>
<div class="row"><label for="since">From</label><input id="since" name="since" type="date" value="${filters.since ?? ''}"></div>
<div class="row"><label for="until">To (included)</label><input id="until" name="until" type="date" value="${filters.until ?? ''}"></div>
</div>
<button type="submit">Filter</button>
<a class="button" href="${PAGE_PATHS.history}/download${query === '' ? '' : `?${query}`}" download>Download (JSON)</a>
</form>
<p>All your data to keep or take elsewhere, every entry with its proof:
<a href="/v1/me/export" download>everything (JSON)</a>, or as spreadsheets:
<a href="/v1/me/export?format=csv" download>access history (CSV)</a>,
<a href="/v1/me/export?format=csv&amp;part=grants" download>apps (CSV)</a>,
<a href="/v1/me/export?format=csv&amp;part=settings" download>settings (CSV)</a>.</p>`;
}

/** The signed tree head the page's proofs lead to, and the log's public key (DER SubjectPublicKeyInfo, base64). */
export interface HistoryProofs {
  readonly treeHead: TreeHeadView | null;
  readonly publicKey: string;
}

function proofCell(entry: AccessHistoryItem): Html {
  if (entry.proof === undefined) return html`<td data-label="Proof">not checked</td>`;
  if (entry.proof === null) return html`<td data-label="Proof">not yet in a signed tree head</td>`;
  return html`<td data-label="Proof"><span data-proof-status>not checked</span></td>`;
}

function historyRow(entry: AccessHistoryItem): Html {
  const { proof } = entry;
  const proofData = proof ? html` data-leaf-index="${proof.leaf_index}" data-leaf-hash="${proof.leaf_hash}" data-audit-path="${proof.audit_path.join(' ')}"${
    proof.canonical_entry === undefined ? '' : html` data-entry="${proof.canonical_entry}"`}` : '';
  return html`<tr${proofData}><td data-label="When">${when(entry.at)}</td><td data-label="App">${entry.app.name}</td><td data-label="Partner">${entry.partner.legal_name} (${entry.partner.country})</td><td data-label="Purpose">${entry.purpose === null ? 'not recorded' : PURPOSE_WORDING[entry.purpose]}</td><td data-label="Fields">${fieldList(entry.fields)}</td><td data-label="How">${VIA_LABELS[entry.via]}</td>${proofCell(entry)}</tr>`;
}

/** How the page's proofs are checked: by its script when it runs, and by anyone offline from the export. */
function proofExplanation(proofs: HistoryProofs): Html {
  const head = proofs.treeHead;
  const offline = html`To check them yourself, without this page: download <a href="/v1/me/export" download>your export (JSON)</a>, which has every entry with its proof against one signed tree head, and follow “Verifying the audit log” in Datapact’s README with any SHA-256 and Ed25519 tool; the log’s public key is at <a href="/v1/audit/public-key">/v1/audit/public-key</a>.`;
  if (head === null) return html`<p class="note">No tree head of the audit log is signed yet, so there is nothing to check these entries against. ${offline}</p>`;
  return html`<section aria-labelledby="proofs" id="tree-head" data-tree-size="${head.tree_size}" data-root-hash="${head.root_hash}" data-timestamp="${head.timestamp}" data-signature="${head.signature}" data-public-key="${proofs.publicKey}">
<h2 id="proofs">Proofs</h2>
<p>Every entry is in the platform’s tamper-evident audit log. The <em>Proof</em> column shows whether your browser checked that the entry is in the log the platform signed (tree size ${head.tree_size}, signed <time datetime="${head.timestamp}">${head.timestamp.slice(0, 16).replace('T', ' ')} UTC</time>): <strong>verified</strong>, or <strong>failed</strong> if the proof does not hold. <span id="head-status" role="status">Your browser has not checked them (scripts are off, or the check has not run).</span></p>
<p class="note">${offline}</p>
</section>`;
}

export function historyPage(options: {
  entries: readonly AccessHistoryItem[]; after?: string; first: boolean; csrf: string;
  filters?: HistoryFilters; apps?: ReadonlyArray<{ id: string; name: string }>; proofs?: HistoryProofs;
}): string {
  const filters = options.filters ?? {};
  const filterQuery = new URLSearchParams(filters as Record<string, string>).toString();
  const rows = options.entries.map(historyRow);
  const more = options.after === undefined
    ? null
    : html`<p><a href="${PAGE_PATHS.history}?${filterQuery === '' ? '' : `${filterQuery}&`}after=${encodeURIComponent(options.after)}">More (older entries)</a></p>`;
  return layout('Access history', html`
<h1>Access history</h1>
<p>Every time an app or device received data about you: when, which app and partner, for what purpose, which fields, and whether it came through your own consent or through a friend who uses the app (the friend is not named).</p>
${historyFilterForm(filters, options.apps ?? [])}
${!options.first && html`<p><a href="${PAGE_PATHS.history}${filterQuery === '' ? '' : `?${filterQuery}`}">Back to the newest entries</a></p>`}
${rows.length === 0
    ? html`<p>${options.first ? 'No app or device has received data about you.' : 'No older entries.'}</p>`
    : html`<table class="stack">
<caption>Data released about you, newest first</caption>
<thead><tr><th scope="col">When</th><th scope="col">App</th><th scope="col">Partner (country)</th><th scope="col">Purpose</th><th scope="col">Fields</th><th scope="col">How</th><th scope="col">Proof</th></tr></thead>
<tbody>
${rows.map((row) => html`${row}\n`)}</tbody>
</table>`}
${more}
${rows.length > 0 && options.proofs && proofExplanation(options.proofs)}`, { current: 'history', csrf: options.csrf }, PROOF_CHECK_SCRIPT);
}

export function errorPage(options: { status: number; code: string; message: string; requestId: string; loggedIn: boolean }): string {
  return layout('Error', html`
<h1>This did not work</h1>
<p class="error" role="alert">${options.message}</p>
<p>Error <code>${options.code}</code> (HTTP ${options.status}), request id <code>${options.requestId}</code>.</p>
<p><a href="${options.loggedIn ? PAGE_PATHS.settings : PAGE_PATHS.login}">Back to the privacy center</a></p>`);
}
