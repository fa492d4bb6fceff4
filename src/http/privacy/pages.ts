import { AUDIENCES, audienceIsEditable, type Audience } from '../../domain/audience.js';
import { FIELD_CLASS, OBJECT_FIELDS, type Field, type ObjectField, type SensitivityClass } from '../../domain/field-catalog.js';
import { html, type Html } from '../html.js';
import type { PrivacyView } from './member-privacy.js';
import type { MemberApp } from './privacy-schemas.js';

/**
 * The privacy center's pages: plain server-rendered HTML that works without JavaScript, with
 * labels for every control and every interpolated value escaped (see html.ts).
 */

export const PAGE_PATHS = {
  login: '/privacy/login',
  logout: '/privacy/logout',
  settings: '/privacy',
  saveSettings: '/privacy/settings',
  apps: '/privacy/apps',
} as const;

export function revokePath(appId: string): string {
  return `/privacy/apps/${encodeURIComponent(appId)}/revoke`;
}

const FIELD_LABELS: Readonly<Record<Field, string>> = {
  id: 'Member id',
  name: 'Name',
  picture: 'Profile picture',
  email: 'Email address',
  phone: 'Phone number',
  birthday: 'Birthday',
  gender: 'Gender',
  hometown: 'Hometown',
  location: 'Current city',
  work: 'Work',
  education: 'Education',
  relationship_status: 'Relationship status',
  religion: 'Religious views',
  political_views: 'Political views',
  events: 'Events',
  likes: 'Likes',
  photos: 'Photos',
  friends: 'Friend list',
};

const AUDIENCE_LABELS: Readonly<Record<Audience, string>> = { public: 'Public', friends: 'Friends', only_me: 'Only me' };

const CLASS_LEGENDS: ReadonlyArray<[SensitivityClass, string]> = [
  ['contact', 'Contact details'],
  ['profile', 'Profile'],
  ['sensitive', 'Sensitive details (never shared about you through a friend, whatever you choose)'],
  ['activity', 'Activity'],
];

const STATUS_LABELS: Readonly<Record<MemberApp['status'], string>> = {
  active: 'Active',
  expired: 'Expired (unused for 90 days)',
  revoked: 'Revoked',
};

const STYLE = `
body{font-family:system-ui,sans-serif;line-height:1.5;margin:0;color:#1a1a1a;background:#fafafa}
header,main{max-width:52rem;margin:0 auto;padding:0 1rem}
header{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;border-bottom:1px solid #ccc;padding-top:.5rem;padding-bottom:.5rem}
nav ul{display:flex;gap:1rem;list-style:none;margin:0;padding:0}
a{color:#0645ad}a[aria-current]{font-weight:bold}
fieldset{margin:1rem 0;border:1px solid #bbb;padding:.5rem 1rem}
.row{margin:.5rem 0}.row label{display:inline-block;min-width:14rem}
.help{margin:.2rem 0 .5rem 1.8rem;color:#444}
.notice{background:#e7f4e4;border:1px solid #5a5;padding:.5rem 1rem}
.error{background:#fbeaea;border:1px solid #c33;padding:.5rem 1rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
button{font:inherit;padding:.3rem .8rem}
`;

function layout(title: string, body: Html, nav?: { current: 'settings' | 'apps'; csrf: string }): Html {
  const link = (path: string, label: string, current: boolean) =>
    html`<li><a href="${path}"${current ? html` aria-current="page"` : ''}>${label}</a></li>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Datapact privacy center</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<p><strong>Datapact privacy center</strong></p>
${nav && html`<nav aria-label="Privacy center"><ul>
${link(PAGE_PATHS.settings, 'Privacy settings', nav.current === 'settings')}
${link(PAGE_PATHS.apps, 'Apps and devices', nav.current === 'apps')}
</ul></nav>
<form method="post" action="${PAGE_PATHS.logout}">${csrfField(nav.csrf)}<button type="submit">Log out</button></form>`}
</header>
<main>
${body}
</main>
</body>
</html>
`;
}

function csrfField(token: string): Html {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}

export function loginPage(options: { csrf: string; memberId?: string; failed?: boolean }): Html {
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

export function settingsPage(options: { memberId: string; privacy: PrivacyView; csrf: string; saved: boolean }): Html {
  const { privacy } = options;
  const basic = OBJECT_FIELDS.filter((field) => !audienceIsEditable(field));
  return layout('Privacy settings', html`
<h1>Privacy settings</h1>
<p>Logged in as <strong>${options.memberId}</strong>.</p>
${options.saved && html`<p class="notice" role="status">Your settings were saved.</p>`}
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
</form>`, { current: 'settings', csrf: options.csrf });
}

function when(iso: string | null): Html {
  if (iso === null) return html`never`;
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;
}

function fieldList(fields: readonly Field[]): Html | string {
  return fields.length === 0 ? 'none' : fields.map((field) => FIELD_LABELS[field]).join(', ');
}

export function appsPage(options: { apps: readonly MemberApp[]; csrf: string; revoked: boolean }): Html {
  const byApp = new Map<string, MemberApp[]>();
  for (const app of options.apps) byApp.set(app.app.id, [...(byApp.get(app.app.id) ?? []), app]);
  const sections = [...byApp.values()].map((grants, index) => {
    const first = grants[0]!;
    const headingId = `app-${index}`;
    const revocable = grants.some((grant) => grant.status !== 'revoked');
    return html`<section aria-labelledby="${headingId}">
<h2 id="${headingId}">${first.app.name}</h2>
<p>Run by ${first.partner.name} (${first.partner.country}).</p>
<table>
<caption>What you consented to</caption>
<thead><tr><th scope="col">Purpose</th><th scope="col">About you</th><th scope="col">About your friends</th><th scope="col">Granted</th><th scope="col">Last used</th><th scope="col">Status</th></tr></thead>
<tbody>
${grants.map((grant) => html`<tr><td>${grant.purpose.replaceAll('_', ' ')}</td><td>${fieldList(grant.member_fields)}</td><td>${fieldList(grant.friend_fields)}</td><td>${when(grant.granted_at)}</td><td>${when(grant.last_used_at)}</td><td>${STATUS_LABELS[grant.status]}</td></tr>`)}
</tbody>
</table>
${revocable
    ? html`<form method="post" action="${revokePath(first.app.id)}">${csrfField(options.csrf)}<button type="submit">Revoke access for ${first.app.name}</button></form>`
    : html`<p>Access revoked. The app must ask for your consent again.</p>`}
</section>`;
  });
  return layout('Apps and devices', html`
<h1>Apps and devices</h1>
<p>Every app and device you gave access to your data, and what you consented to. Revoking stops the app at once: every token it holds stops working.</p>
${options.revoked && html`<p class="notice" role="status">Access revoked.</p>`}
${sections.length === 0 ? html`<p>No app or device has your consent.</p>` : sections}`, { current: 'apps', csrf: options.csrf });
}

export function errorPage(options: { status: number; code: string; message: string; requestId: string; loggedIn: boolean }): Html {
  return layout('Error', html`
<h1>This did not work</h1>
<p class="error" role="alert">${options.message}</p>
<p>Error <code>${options.code}</code> (HTTP ${options.status}), request id <code>${options.requestId}</code>.</p>
<p><a href="${options.loggedIn ? PAGE_PATHS.settings : PAGE_PATHS.login}">Back to the privacy center</a></p>`);
}
