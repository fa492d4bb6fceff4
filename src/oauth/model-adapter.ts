import Provider, { errors, type Adapter, type AdapterFactory, type AdapterPayload } from 'oidc-provider';
import { grantEnd, type GrantEndReason } from '../domain/grant.js';
import type { Instant } from '../domain/time.js';
import { OidcAdapter } from '../store/oidc-adapter.js';
import type { Store } from '../store/store.js';
import { parseScope } from './scopes.js';

/**
 * How oidc-provider's models meet Datapact's own tables. Everything is stored by the SQL adapter
 * (`oidc_payloads`); on top of it:
 *
 * - `Client` is read from the `apps` table: an app is a client, a disabled app is not found.
 * - An `AccessToken` is also recorded in `access_tokens` under its grant, so the Graph API, which
 *   verifies tokens only there, accepts it; its revocation revokes it there too. Access tokens
 *   are opaque, so the stored id is the bearer value itself (only its SHA-256 reaches our table).
 * - An access token's scope is recorded with it: a token down-scoped at refresh reads no more.
 * - Revoking everything of a grant (the library's `revokeByGrantId`, or destroying the `Grant`)
 *   revokes the Datapact grant of the same id and its tokens: the next Graph API call fails.
 * - The other way round, a `Grant` is found only while the Datapact grant of the same id has not
 *   ended at the rules' clock (revoked by its member, unused for 90 days, its agreement's access
 *   ended): every library endpoint that honours a token loads its grant first, so introspection
 *   answers inactive, userinfo 401 and refresh `invalid_grant` at that instant, whether or not
 *   the scheduler has recorded the end yet.
 * - `ClientCredentials` tokens are recorded in `client_tokens` for the partner endpoints.
 *
 * Token lifetimes are recorded on the injected clock, the one every access rule reads.
 */
export function datapactAdapter(store: Store, clock: () => Instant): AdapterFactory {
  return (model) => {
    switch (model) {
      case 'Client':
        return new AppClients(store);
      case 'AccessToken':
        return new AccessTokens(store, clock);
      case 'ClientCredentials':
        return new ClientCredentialsTokens(store, clock);
      case 'Grant':
        return new Grants(store, clock);
      default:
        return new OidcAdapter(store.db, model);
    }
  };
}

/** The grant types every app may use; the authorization code and refresh need a redirect URI. */
const MEMBER_GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'];

class AppClients implements Adapter {
  constructor(private readonly store: Store) {}

  async find(id: string): Promise<AdapterPayload | undefined> {
    const client = await this.store.partners.oauthClient(id);
    if (!client || client.app.status !== 'active' || !client.clientSecret) return undefined;
    const redirects = client.redirectUris.length > 0;
    return {
      client_id: client.app.id,
      client_secret: client.clientSecret,
      client_name: client.app.name,
      redirect_uris: [...client.redirectUris],
      grant_types: redirects ? MEMBER_GRANT_TYPES : ['client_credentials'],
      response_types: redirects ? ['code'] : [],
      token_endpoint_auth_method: 'client_secret_basic',
    };
  }

  upsert(): Promise<void> {
    return Promise.reject(new Error('Clients are the apps table; they are not registered through OAuth.'));
  }

  async findByUid(): Promise<undefined> {
    return undefined;
  }

  async findByUserCode(): Promise<undefined> {
    return undefined;
  }

  async consume(): Promise<void> {}

  async destroy(): Promise<void> {}

  async revokeByGrantId(): Promise<void> {}
}

class AccessTokens extends OidcAdapter {
  constructor(private readonly store: Store, private readonly clock: () => Instant) {
    super(store.db, 'AccessToken');
  }

  override async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    await super.upsert(id, payload, expiresIn);
    if (typeof payload.grantId !== 'string' || typeof expiresIn !== 'number') return;
    const issuedAt = this.clock();
    const { memberFields, friendFields } = parseScope(typeof payload.scope === 'string' ? payload.scope : undefined);
    await this.store.tokens.record(id, payload.grantId, issuedAt, issuedAt + expiresIn * 1000, 'oauth', { memberFields, friendFields });
  }

  override async destroy(id: string): Promise<void> {
    await super.destroy(id);
    await this.store.tokens.revoke(id, this.clock());
  }

  override async revokeByGrantId(grantId: string): Promise<void> {
    await super.revokeByGrantId(grantId);
    await revokeDatapactGrant(this.store, grantId, this.clock());
  }
}

class ClientCredentialsTokens extends OidcAdapter {
  constructor(private readonly store: Store, private readonly clock: () => Instant) {
    super(store.db, 'ClientCredentials');
  }

  override async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    await super.upsert(id, payload, expiresIn);
    if (typeof payload.clientId !== 'string' || typeof expiresIn !== 'number') return;
    const issuedAt = this.clock();
    await this.store.clientTokens.record(id, payload.clientId, issuedAt, issuedAt + expiresIn * 1000);
  }

  override async destroy(id: string): Promise<void> {
    await super.destroy(id);
    await this.store.clientTokens.revoke(id, this.clock());
  }
}

class Grants extends OidcAdapter {
  constructor(private readonly store: Store, private readonly clock: () => Instant) {
    super(store.db, 'Grant');
  }

  override async find(id: string): Promise<AdapterPayload | undefined> {
    const found = await this.store.grants.withAgreement(id);
    if (found === undefined) return undefined;
    const end = grantEnd(found.grant, found.agreement, this.clock());
    if (end !== null) {
      // The token endpoint (a refresh, a code exchange) tells the client why; introspection and
      // userinfo only need the grant not to be found (inactive, 401).
      if (Provider.ctx?.oidc?.route === 'token') throw new errors.CustomOIDCProviderError('invalid_grant', WHY_ENDED[end.reason]);
      return undefined;
    }
    return super.find(id);
  }

  override async destroy(id: string): Promise<void> {
    await super.destroy(id);
    await revokeDatapactGrant(this.store, id, this.clock());
  }
}

/** A refused refresh or code exchange, as `error_description`. */
const WHY_ENDED: Readonly<Record<GrantEndReason, string>> = {
  member_revoked: 'the member revoked this grant; the member must consent again',
  token_revoked: 'a token of this grant was revoked, which ended the grant; the member must consent again',
  unused_90_days: 'the grant was unused for 90 days; the member must consent again',
  access_ended: "the grant ended when the agreement's wind-down reached access_ended",
};

async function revokeDatapactGrant(store: Store, grantId: string, now: Instant): Promise<void> {
  await store.grants.revoke(grantId, now, 'token_revoked');
  await store.tokens.revokeAllOfGrant(grantId, now);
}
