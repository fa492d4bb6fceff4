import type { Agreement } from '../domain/agreement.js';
import type { App } from '../domain/app.js';
import { maskOf, type Field } from '../domain/field-catalog.js';
import type { DataStorage, Partner, RiskFlag } from '../domain/partner.js';
import type { Purpose } from '../domain/purposes.js';
import { addDays, type Instant } from '../domain/time.js';
import type { WindDownPlan } from '../domain/wind-down.js';
import { approvalsNeeded } from '../domain/separation-of-duties.js';
import { DEFAULT_LIFECYCLE_COLUMNS } from '../store/agreement-repository.js';
import type { Store } from '../store/store.js';

/**
 * The partners of the 2018 record, each left in a different state so that every path of the rules
 * and every report has something to show. All dates are relative to `now`.
 *
 * | partner      | state at `now`                                                        |
 * |--------------|-----------------------------------------------------------------------|
 * | Huawei       | winding down: `no_new_grants` passed, friend data and access end ahead |
 * | Lenovo       | active                                                                |
 * | OPPO         | status active, but its end date has passed: `expired`                 |
 * | TCL          | suspended for `certification_overdue` (due more than 60 days ago)     |
 * | BlackBerry   | active, with friend fields, `religion` among them (never released)   |
 * | ZTE          | registered with an app, but no agreement at all                       |
 * | Pixel Harbour| an ordinary games developer: third-party app, `login`, friends        |
 */

export const DEMO_PARTNER_KEYS = ['huawei', 'lenovo', 'oppo', 'tcl', 'blackberry', 'zte', 'pixelharbour'] as const;
export type DemoPartnerKey = (typeof DEMO_PARTNER_KEYS)[number];

export const demoPartnerId = (key: DemoPartnerKey): string => `p_${key}`;
export const demoAppId = (key: DemoPartnerKey): string => `app_${key}`;
export const demoAgreementId = (key: DemoPartnerKey): string => `agr_${key}`;

/**
 * Every demo app is an OAuth client with a documented secret and, next to its partner's own
 * callback, a local one for trying the flow by hand (README, "OAuth for partners").
 */
export const demoClientSecret = (appId: string): string => `${appId}-demo-secret`;
export const DEMO_LOCAL_REDIRECT_URI = 'http://127.0.0.1:9999/callback';

/** The third-party app of the demo, whose users see each other as `id`, `name`, `picture`. */
export const DEMO_THIRD_PARTY_APP_ID = demoAppId('pixelharbour');

/** What a device partner's app reads of the member using it. */
const DEVICE_MEMBER_FIELDS: Field[] = [
  'id', 'name', 'picture', 'email', 'phone', 'birthday', 'gender', 'hometown', 'location', 'work', 'education',
  'relationship_status', 'events', 'likes', 'photos', 'friends',
];
/** What a device partner's agreement asks of friends: much of what the 2018 deals read. */
const DEVICE_FRIEND_FIELDS: Field[] = ['id', 'name', 'picture', 'birthday', 'hometown', 'location', 'work', 'education', 'events'];

interface AgreementSketch {
  readonly status: Agreement['status'];
  readonly statusReason?: string;
  readonly purposes: readonly Purpose[];
  readonly memberFields: readonly Field[];
  readonly friendFields: readonly Field[];
  readonly retentionDays: number;
  /** Days relative to `now`. */
  readonly startDay: number;
  readonly endDay: number;
  readonly certificationDueDay: number;
  readonly windDown?: { readonly noNewGrants: number; readonly noFriendData: number; readonly accessEnded: number };
}

interface PartnerSketch {
  readonly key: DemoPartnerKey;
  readonly legalName: string;
  readonly country: string;
  readonly kind: Partner['kind'];
  readonly riskFlags?: readonly RiskFlag[];
  readonly storage: DataStorage;
  readonly domain: string;
  readonly app: { readonly name: string; readonly class: App['class'] };
  readonly agreement?: AgreementSketch;
}

const PARTNERS: readonly PartnerSketch[] = [
  {
    key: 'huawei',
    legalName: 'Huawei Device Co., Ltd.',
    country: 'CN',
    kind: 'device_maker',
    riskFlags: ['state_influence'],
    storage: { location: 'partner_servers', country: 'CN' },
    domain: 'huawei.example',
    app: { name: 'Huawei Social Hub', class: 'device_partner' },
    agreement: {
      status: 'winding_down',
      statusReason: 'risk_review',
      purposes: ['device_experience', 'contacts_sync'],
      memberFields: DEVICE_MEMBER_FIELDS,
      friendFields: DEVICE_FRIEND_FIELDS,
      retentionDays: 90,
      startDay: -400,
      endDay: 300,
      certificationDueDay: 330,
      windDown: { noNewGrants: -10, noFriendData: 20, accessEnded: 50 },
    },
  },
  {
    key: 'lenovo',
    legalName: 'Lenovo Group Limited',
    country: 'CN',
    kind: 'device_maker',
    storage: { location: 'on_device' },
    domain: 'lenovo.example',
    app: { name: 'Lenovo Friends', class: 'device_partner' },
    agreement: {
      status: 'active',
      purposes: ['device_experience', 'contacts_sync'],
      memberFields: DEVICE_MEMBER_FIELDS,
      friendFields: DEVICE_FRIEND_FIELDS,
      retentionDays: 30,
      startDay: -200,
      endDay: 520,
      certificationDueDay: 165,
    },
  },
  {
    key: 'oppo',
    legalName: 'Guangdong OPPO Mobile Telecommunications Corp., Ltd.',
    country: 'CN',
    kind: 'device_maker',
    storage: { location: 'partner_servers', country: 'SG', safeguard: 'standard_contractual_clauses' },
    domain: 'oppo.example',
    app: { name: 'OPPO Social', class: 'device_partner' },
    agreement: {
      // Still marked active: its end date passed and the rules stop it by the date alone.
      status: 'active',
      purposes: ['device_experience'],
      memberFields: DEVICE_MEMBER_FIELDS,
      friendFields: ['id', 'name', 'picture', 'birthday', 'location'],
      retentionDays: 60,
      startDay: -750,
      endDay: -30,
      certificationDueDay: -20,
    },
  },
  {
    key: 'tcl',
    legalName: 'TCL Communication Technology Holdings Limited',
    country: 'CN',
    kind: 'device_maker',
    storage: { location: 'partner_servers', country: 'CN', safeguard: 'standard_contractual_clauses' },
    domain: 'tcl.example',
    app: { name: 'TCL Connect', class: 'device_partner' },
    agreement: {
      status: 'suspended',
      statusReason: 'certification_overdue',
      purposes: ['device_experience', 'calendar_sync'],
      memberFields: DEVICE_MEMBER_FIELDS,
      friendFields: ['id', 'name', 'picture', 'birthday', 'events'],
      retentionDays: 30,
      startDay: -440,
      endDay: 280,
      certificationDueDay: -75,
    },
  },
  {
    key: 'blackberry',
    legalName: 'BlackBerry Limited',
    country: 'CA',
    kind: 'device_maker',
    storage: { location: 'partner_servers', country: 'CA', safeguard: 'adequacy_decision' },
    domain: 'blackberry.example',
    app: { name: 'BlackBerry Hub', class: 'device_partner' },
    agreement: {
      status: 'active',
      purposes: ['device_experience', 'messaging'],
      memberFields: DEVICE_MEMBER_FIELDS,
      // `religion` is asked for, as the 2018 deals did; the rules never release it about a friend.
      friendFields: ['id', 'name', 'picture', 'birthday', 'location', 'work', 'religion'],
      retentionDays: 14,
      startDay: -90,
      endDay: 630,
      certificationDueDay: 275,
    },
  },
  {
    key: 'zte',
    legalName: 'ZTE Corporation',
    country: 'CN',
    kind: 'device_maker',
    storage: { location: 'on_device' },
    domain: 'zte.example',
    app: { name: 'ZTE Social Link', class: 'device_partner' },
  },
  {
    key: 'pixelharbour',
    legalName: 'Pixel Harbour Games Ltd',
    country: 'GB',
    kind: 'app_developer',
    storage: { location: 'partner_servers', country: 'GB', safeguard: 'adequacy_decision' },
    domain: 'pixelharbour.example',
    app: { name: 'Harbour Heroes', class: 'third_party' },
    agreement: {
      status: 'active',
      purposes: ['login'],
      memberFields: ['id', 'name', 'picture', 'email', 'friends'],
      friendFields: [],
      retentionDays: 365,
      startDay: -120,
      endDay: 600,
      certificationDueDay: 245,
    },
  },
];

function windDownPlan(now: Instant, days: AgreementSketch['windDown']): WindDownPlan | null {
  return days === undefined
    ? null
    : { noNewGrants: addDays(now, days.noNewGrants), noFriendData: addDays(now, days.noFriendData), accessEnded: addDays(now, days.accessEnded) };
}

export interface DemoPartnersSummary {
  readonly partners: number;
  readonly apps: number;
  readonly agreements: number;
}

/** Writes the demo partners, one app each, and their agreements with a `created` history entry by `seed`. */
export async function seedDemoPartners(store: Store, now: Instant): Promise<DemoPartnersSummary> {
  let agreements = 0;
  for (const sketch of PARTNERS) {
    const registeredAt = addDays(now, (sketch.agreement?.startDay ?? -60) - 30);
    await store.partners.insertPartner(
      {
        id: demoPartnerId(sketch.key),
        legalName: sketch.legalName,
        country: sketch.country,
        kind: sketch.kind,
        riskFlags: sketch.riskFlags ?? [],
        storage: sketch.storage,
        contacts: [`partnerships@${sketch.domain}`, `privacy@${sketch.domain}`],
        webhookUrl: `https://hooks.${sketch.domain}/datapact`,
        privacyPolicyUrl: `https://${sketch.domain}/privacy`,
      },
      registeredAt,
    );
    await store.partners.insertApp(
      { id: demoAppId(sketch.key), partnerId: demoPartnerId(sketch.key), name: sketch.app.name, class: sketch.app.class, status: 'active' },
      [`https://${sketch.domain}/oauth/callback`, DEMO_LOCAL_REDIRECT_URI],
      registeredAt,
    );
    await store.partners.setClientSecret(demoAppId(sketch.key), demoClientSecret(demoAppId(sketch.key)));

    const terms = sketch.agreement;
    if (terms === undefined) continue;
    const startsAt = addDays(now, terms.startDay);
    await store.agreements.insert(
      {
        id: demoAgreementId(sketch.key),
        version: 1,
        partnerId: demoPartnerId(sketch.key),
        appIds: [demoAppId(sketch.key)],
        status: terms.status,
        statusReason: terms.statusReason ?? null,
        purposes: terms.purposes,
        memberFields: maskOf(terms.memberFields),
        friendFields: maskOf(terms.friendFields),
        retentionDays: terms.retentionDays,
        storage: sketch.storage,
        startsAt,
        endsAt: addDays(now, terms.endDay),
        certificationDueAt: addDays(now, terms.certificationDueDay),
        windDown: windDownPlan(now, terms.windDown),
      },
      { actor: 'seed', action: 'created', reason: null, at: addDays(startsAt, -14) },
      {
        ...DEFAULT_LIFECYCLE_COLUMNS,
        needsTwoApprovals: approvalsNeeded(maskOf(terms.memberFields), maskOf(terms.friendFields), sketch.riskFlags ?? []) === 2,
      },
    );
    agreements++;
  }
  return { partners: PARTNERS.length, apps: PARTNERS.length, agreements };
}
