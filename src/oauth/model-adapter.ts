import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';
import type { Instant } from '../domain/time.js';
import { OidcAdapter } from '../store/oidc-adapter.js';
import type { Store } from '../store/store.js';

/**
 * How oidc-provider's models meet Datapact's own tables. Everything is stored by the SQL adapter
 * (`oidc_payloads`); on top of it:
 *
 * - `Client` is read from the `apps` table: an app is a client, a disabled app is not found.
 * - An `AccessToken` is also recorded in `access_tokens` under its grant, so the Graph API, which
 *   verifies tokens only there, accepts it; its revocation revokes it there too. Access tokens
 *   are opaque, so the stored id is the bearer value itself (only its SHA-256 reaches our table).
 * - Revoking everything of a grant (the library's `revokeByGrantId`, or destroying the `Grant`)
 *   revokes the Datapact grant of the same id and its tokens: the next Graph API call fails.
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
    await this.store.tokens.record(id, payload.grantId, issuedAt, issuedAt + expiresIn * 1000, 'oauth');
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

  override async destroy(id: string): Promise<void> {
    await super.destroy(id);
    await revokeDatapactGrant(this.store, id, this.clock());
  }
}

async function revokeDatapactGrant(store: Store, grantId: string, now: Instant): Promise<void> {
  await store.grants.revoke(grantId, now);
  await store.tokens.revokeAllOfGrant(grantId, now);
}
