import { randomBytes } from 'node:crypto';
import type { App } from '../domain/app.js';
import type { DataStorage, Partner } from '../domain/partner.js';
import type { Instant } from '../domain/time.js';
import { toIso } from './columns.js';
import type { Db } from './database.js';
import type { AppsTable, PartnersTable } from './schema.js';

export function storageFromColumns(location: string, country: string | null): DataStorage {
  return location === 'partner_servers' ? { location: 'partner_servers', country: country ?? '' } : { location: 'on_device' };
}

/** The columns a partner's editable properties are stored in. */
function partnerColumns(partner: Partner) {
  return {
    legal_name: partner.legalName,
    country: partner.country,
    kind: partner.kind,
    risk_flags: JSON.stringify(partner.riskFlags),
    storage_location: partner.storage.location,
    storage_country: partner.storage.location === 'partner_servers' ? partner.storage.country : null,
    contacts: JSON.stringify(partner.contacts),
    webhook_url: partner.webhookUrl,
    privacy_policy_url: partner.privacyPolicyUrl,
  };
}

function partnerFromRow(row: PartnersTable): Partner {
  return {
    id: row.id,
    legalName: row.legal_name,
    country: row.country,
    kind: row.kind as Partner['kind'],
    riskFlags: JSON.parse(row.risk_flags) as Partner['riskFlags'],
    storage: storageFromColumns(row.storage_location, row.storage_country),
    contacts: JSON.parse(row.contacts) as string[],
    webhookUrl: row.webhook_url,
    privacyPolicyUrl: row.privacy_policy_url,
  };
}

export function appFromRow(row: Pick<AppsTable, 'id' | 'partner_id' | 'name' | 'class' | 'status'>): App {
  return { id: row.id, partnerId: row.partner_id, name: row.name, class: row.class as App['class'], status: row.status as App['status'] };
}

/** A new OAuth client secret: 32 random bytes. Stored as given (oidc-provider compares it), shown once. */
export function newClientSecret(): string {
  return 'dpcs_' + randomBytes(32).toString('base64url');
}

/** What the OAuth server needs of an app to treat it as a client. */
export interface OAuthClientRecord {
  readonly app: App;
  readonly redirectUris: readonly string[];
  /** Null: the app has no secret yet and cannot authenticate. */
  readonly clientSecret: string | null;
}

/** Partners and their apps. */
export class PartnerRepository {
  constructor(private readonly db: Db) {}

  async insertPartner(partner: Partner, now: Instant): Promise<void> {
    await this.db
      .insertInto('partners')
      .values({ id: partner.id, ...partnerColumns(partner), created_at: toIso(now) })
      .execute();
  }

  async insertApp(app: App, redirectUris: readonly string[], now: Instant): Promise<void> {
    await this.db
      .insertInto('apps')
      .values({
        id: app.id,
        partner_id: app.partnerId,
        name: app.name,
        class: app.class,
        status: app.status,
        redirect_uris: JSON.stringify(redirectUris),
        created_at: toIso(now),
      })
      .execute();
  }

  async partner(id: string): Promise<Partner | undefined> {
    const row = await this.db.selectFrom('partners').selectAll().where('id', '=', id).executeTakeFirst();
    return row && partnerFromRow(row);
  }

  async partners(): Promise<Partner[]> {
    const rows = await this.db.selectFrom('partners').selectAll().orderBy('legal_name').execute();
    return rows.map(partnerFromRow);
  }

  async app(id: string): Promise<App | undefined> {
    const row = await this.db.selectFrom('apps').selectAll().where('id', '=', id).executeTakeFirst();
    return row && appFromRow(row);
  }

  /** An app as an OAuth client: its redirect URIs and client secret. */
  async oauthClient(id: string): Promise<OAuthClientRecord | undefined> {
    const row = await this.db.selectFrom('apps').selectAll().where('id', '=', id).executeTakeFirst();
    return row && { app: appFromRow(row), redirectUris: JSON.parse(row.redirect_uris) as string[], clientSecret: row.client_secret };
  }

  async setClientSecret(id: string, clientSecret: string): Promise<void> {
    await this.db.updateTable('apps').set({ client_secret: clientSecret }).where('id', '=', id).execute();
  }

  async setRedirectUris(id: string, redirectUris: readonly string[]): Promise<void> {
    await this.db.updateTable('apps').set({ redirect_uris: JSON.stringify(redirectUris) }).where('id', '=', id).execute();
  }

  /** Writes every editable column of a partner (the admin API's edit). */
  async updatePartner(partner: Partner): Promise<void> {
    await this.db
      .updateTable('partners')
      .set(partnerColumns(partner))
      .where('id', '=', partner.id)
      .execute();
  }

  /** A partner's apps as OAuth clients (redirect URIs and secret included), by id. */
  async clientsOfPartner(partnerId: string): Promise<OAuthClientRecord[]> {
    const rows = await this.db.selectFrom('apps').selectAll().where('partner_id', '=', partnerId).orderBy('id').execute();
    return rows.map((row) => ({ app: appFromRow(row), redirectUris: JSON.parse(row.redirect_uris) as string[], clientSecret: row.client_secret }));
  }

  /** Changes an app's name or status; only what is given. */
  async updateApp(id: string, change: { name?: string; status?: App['status'] }): Promise<void> {
    const set: { name?: string; status?: string } = {};
    if (change.name !== undefined) set.name = change.name;
    if (change.status !== undefined) set.status = change.status;
    if (Object.keys(set).length === 0) return;
    await this.db.updateTable('apps').set(set).where('id', '=', id).execute();
  }

  async apps(): Promise<App[]> {
    const rows = await this.db.selectFrom('apps').selectAll().orderBy('id').execute();
    return rows.map(appFromRow);
  }
}
