import { Command, InvalidArgumentError } from 'commander';
import { isField, maskOf, type Field } from '../../domain/field-catalog.js';
import { isPurpose, type Purpose } from '../../domain/purposes.js';
import { DAY_MS, type Instant } from '../../domain/time.js';
import type { Store } from '../../store/store.js';
import { loadConfig } from '../../config.js';
import { judgeAuthorizationRequest, loadDoorFacts } from '../../oauth/door-rules.js';
import { scopesOf } from '../../oauth/scopes.js';
import { DATABASE_OPTION, openStore } from '../open-store.js';
import { randomUUID } from 'node:crypto';

function fieldList(value: string): Field[] {
  const names = value.split(',').map((name) => name.trim()).filter((name) => name !== '');
  const unknown = names.filter((name) => !isField(name));
  if (unknown.length > 0) throw new InvalidArgumentError(`unknown field(s): ${unknown.join(', ')}`);
  return names as Field[];
}

function purpose(value: string): string {
  if (!isPurpose(value)) throw new InvalidArgumentError('not a purpose of the catalog (device_experience, login, messaging, contacts_sync, calendar_sync)');
  return value;
}

function days(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0 || parsed > 365) throw new InvalidArgumentError('days between 0 and 365');
  return parsed;
}

/** What `datapact tokens issue` takes. */
export interface DevelopmentTokenRequest {
  readonly member: string;
  readonly app: string;
  readonly purpose: string;
  readonly fields: readonly Field[];
  readonly friendFields: readonly Field[];
  readonly ttlDays: number;
}

/** The grant (under the app's agreement in force, if any) and the token `datapact tokens issue` makes, at `now`. */
export async function issueDevelopmentToken(store: Store, request: DevelopmentTokenRequest, now: Instant) {
  if (!(await store.members.exists(request.member))) throw new Error(`no member ${request.member}`);
  const app = await store.partners.app(request.app);
  if (!app) throw new Error(`no app ${request.app}`);
  const agreement = await store.agreements.currentForApp(app.id, now);
  const grantId = `g_${randomUUID()}`;
  await store.grants.insertMany([{
    id: grantId, memberId: request.member, appId: app.id, agreementId: agreement?.id ?? null,
    agreementVersion: agreement?.version ?? null, purpose: request.purpose as Purpose, memberFields: maskOf(request.fields),
    friendFields: maskOf(request.friendFields), grantedAt: now, lastUsedAt: null, revokedAt: null,
  }]);
  const { token, expiresAt } = await store.tokens.issue(grantId, now, request.ttlDays * DAY_MS);
  return { token, grantId, agreementId: agreement?.id ?? null, expiresAt };
}

/**
 * What the rules at the door would say of an OAuth authorization asking what this token is given
 * (the app's agreement in force, its purposes, its member and friend fields): null when they would
 * let it through. The token is made all the same (the tour shows refusals with it), but with a warning.
 */
async function doorRefusal(store: Store, appId: string, purpose: string, fields: Field[], friendFields: Field[], now: number): Promise<string | null> {
  const facts = await loadDoorFacts(store, appId, now);
  if (!facts) return null;
  // `openid` keeps a token for `id` alone from being refused for asking nothing.
  const scope = scopesOf(maskOf(fields), maskOf(friendFields), true).join(' ');
  const decision = judgeAuthorizationRequest(facts, { purpose, scope }, now);
  return decision.ok ? null : decision.refusal.description;
}

/**
 * `datapact tokens issue`: a grant and a token without the consent screen. For development and
 * tests only: it skips the member's consent that the OAuth flow asks for, and the Graph API
 * refuses its tokens when the server runs with DATAPACT_ENV=production.
 */
export function tokensCommand(): Command {
  const tokens = new Command('tokens').description('Bearer tokens (DEVELOPMENT ONLY: bypasses member consent; refused in production)');
  tokens
    .command('issue')
    .description('Create a grant for a member and an app, and print a bearer token for it. DEVELOPMENT ONLY: it skips the '
      + 'member\'s consent, and the Graph API refuses these tokens when the server runs with DATAPACT_ENV=production; '
      + 'partners get tokens through OAuth (/oauth).')
    .requiredOption('--member <id>', 'the member who "consents"')
    .requiredOption('--app <id>', 'the app the token is for')
    .requiredOption('--purpose <purpose>', 'one of the agreement\'s purposes', purpose)
    .requiredOption('--fields <a,b,...>', 'consented fields about the member (add `friends` to allow the friend list)', fieldList)
    .option('--friend-fields <a,b,...>', 'consented fields about friends (device partners only)', fieldList, [])
    .option('--ttl-days <days>', 'token lifetime in days', days, 30)
    .option('--database <path|url>', DATABASE_OPTION)
    .action(async (options) => {
      const config = loadConfig();
      if (config.environment === 'production') {
        throw new Error('tokens issue is for development only: it skips the member\'s consent, so it is refused with DATAPACT_ENV=production (partners get tokens through OAuth, /oauth).');
      }
      const store = await openStore(options.database ?? config.database, 'existing');
      try {
        const now = Date.now();
        const refusal = await doorRefusal(store, options.app, options.purpose, options.fields, options.friendFields, now);
        const { token, grantId, agreementId, expiresAt } = await issueDevelopmentToken(store, options, now);
        console.error('DEVELOPMENT ONLY: no consent was asked, and a server with DATAPACT_ENV=production refuses this token.');
        console.error(`Development token for ${options.member} on ${options.app} (grant ${grantId}, agreement ${agreementId ?? 'none'}), expires ${new Date(expiresAt).toISOString()}:`);
        if (refusal !== null) {
          console.error(`Warning: the rules would refuse this grant through OAuth: ${refusal}. The Graph API refuses this token's `
            + 'requests, or withholds the fields outside the agreement (README, "The rules at the door").');
        }
        console.log(token);
      } finally {
        await store.close();
      }
    });
  return tokens;
}
