import { randomBytes, randomUUID } from 'node:crypto';
import type { AuditEntry } from '../audit/audit-entry.js';
import { RULES_VERSION } from '../domain/reason-codes.js';
import type { Instant } from '../domain/time.js';
import { DemoCredentialRepository } from '../store/demo-credential-repository.js';
import { hashPassword, passwordMatches } from '../store/member-credential-repository.js';
import { newClientSecret } from '../store/partner-repository.js';
import { createStore, type Store } from '../store/store.js';
import { demoClientSecret } from './demo-partners.js';
import { DEMO_MEMBERS, DEMO_PASSWORD, DEMO_SEED } from './demo-world.js';
import { memberIdAt } from './member-ids.js';

/**
 * The demo world's published credentials (README, "A five-minute tour"): anyone who has read the
 * README can use them, so a production server refuses to start while one is in its database
 * (PRODUCT.md §7). Found by what they let in, not by name: a password hash is checked against the
 * demo password, a client secret against `<app id>-demo-secret`.
 */
export type DemoCredential =
  | { readonly kind: 'staff_password'; readonly staffId: string; readonly email: string }
  | { readonly kind: 'member_password'; readonly passwordHash: string; readonly members: number; readonly sample: readonly string[] }
  | { readonly kind: 'client_secret'; readonly appId: string; readonly partnerId: string }
  | { readonly kind: 'redirect_uri'; readonly appId: string; readonly partnerId: string; readonly uri: string };

/** The command that removes them all; the message names it beside each item. */
export const REMOVE_COMMAND = 'datapact demo-credentials remove';

/** Each distinct hash is checked once: the demo seed gives one hash to every demo account. */
function demoPasswordCheck(): (hash: string) => Promise<boolean> {
  const known = new Map<string, Promise<boolean>>();
  return (hash) => {
    if (!known.has(hash)) known.set(hash, passwordMatches(DEMO_PASSWORD, hash));
    return known.get(hash)!;
  };
}

function demoMemberIds(): string[] {
  return Array.from({ length: DEMO_MEMBERS }, (_, index) => memberIdAt(DEMO_SEED, index));
}

export async function findDemoCredentials(store: Store): Promise<DemoCredential[]> {
  const repository = new DemoCredentialRepository(store.db);
  const isDemoPassword = demoPasswordCheck();
  const found: DemoCredential[] = [];
  for (const staff of await repository.staffPasswords()) {
    if (await isDemoPassword(staff.passwordHash)) found.push({ kind: 'staff_password', staffId: staff.id, email: staff.email });
  }
  for (const hash of await repository.suspectMemberHashes(demoMemberIds())) {
    if (!(await isDemoPassword(hash))) continue;
    const { count, memberIds } = await repository.membersHolding(hash, 3);
    found.push({ kind: 'member_password', passwordHash: hash, members: count, sample: memberIds });
  }
  for (const app of await repository.appCredentials()) {
    if (app.clientSecret === demoClientSecret(app.id)) found.push({ kind: 'client_secret', appId: app.id, partnerId: app.partnerId });
    for (const uri of app.redirectUris.filter((uri) => uri.toLowerCase().startsWith('http:'))) {
      found.push({ kind: 'redirect_uri', appId: app.id, partnerId: app.partnerId, uri });
    }
  }
  return found;
}

function describe(item: DemoCredential): string {
  switch (item.kind) {
    case 'staff_password':
      return `staff account ${item.email} (${item.staffId}) has the demo password: \`${REMOVE_COMMAND}\` disables it`;
    case 'member_password':
      return `${item.members} member(s) (${item.sample.join(', ')}${item.members > item.sample.length ? ', …' : ''}) have the demo password: `
        + `\`${REMOVE_COMMAND}\` deletes their passwords`;
    case 'client_secret':
      return `app ${item.appId} (partner ${item.partnerId}) has its demo client secret: \`${REMOVE_COMMAND}\` rotates it and prints the new one`;
    case 'redirect_uri':
      return `app ${item.appId} (partner ${item.partnerId}) has the plain-http redirect URI ${item.uri}: \`${REMOVE_COMMAND}\` removes it`;
  }
}

/** Why a production server does not start: every item, each with how to remove it. */
export function refusalMessage(found: readonly DemoCredential[]): string {
  return [
    `Refusing to start in production: the database holds ${found.length} demo credential(s) that anyone who read the README can use.`,
    ...found.map((item) => `  - ${describe(item)}`),
    `Remove them all with \`${REMOVE_COMMAND}\` (with the same DATAPACT_DATABASE_URL or DATAPACT_DATABASE), then start again.`,
    'Create your own admin first if you need one: `datapact staff add --email … --name … --role admin`.',
  ].join('\n');
}

export interface RemovedDemoCredentials {
  readonly staffDisabled: readonly string[];
  readonly memberPasswordsDeleted: number;
  /** The new secret of each app whose demo secret was rotated: shown this once. */
  readonly rotatedSecrets: ReadonlyArray<{ readonly appId: string; readonly clientSecret: string }>;
  readonly redirectUrisRemoved: ReadonlyArray<{ readonly appId: string; readonly uri: string }>;
}

function systemEntry(now: Instant, action: string, detail: Record<string, unknown>, app?: { appId: string; partnerId: string }): AuditEntry {
  return {
    at: now, requestId: `cli-${randomUUID()}`, appId: app?.appId ?? null, partnerId: app?.partnerId ?? null, agreementId: null,
    agreementVersion: null, rulesVersion: RULES_VERSION, tokenMemberId: null, subjectMemberId: null, purpose: null,
    outcome: 'staff_action', code: action, released: [], withheld: {}, actor: 'system', action, detail: { ...detail, via: 'cli' },
  };
}

/**
 * Takes the demo credentials out, in one transaction, each change audited with the actor `system`:
 * demo staff accounts are disabled (their password replaced by a random one), demo members lose
 * their password, demo client secrets are replaced by new ones (returned, to hand to the partner),
 * plain-http redirect URIs are removed from their apps.
 */
export async function removeDemoCredentials(store: Store, now: Instant): Promise<RemovedDemoCredentials> {
  const found = await findDemoCredentials(store);
  const unusable = await hashPassword(randomBytes(32).toString('base64url'));
  return store.db.transaction().execute(async (trx) => {
    const tx = createStore(trx);
    const repository = new DemoCredentialRepository(trx);
    const entries: AuditEntry[] = [];
    const removed = { staffDisabled: [] as string[], memberPasswordsDeleted: 0, rotatedSecrets: [] as Array<{ appId: string; clientSecret: string }>, redirectUrisRemoved: [] as Array<{ appId: string; uri: string }> };
    for (const item of found) {
      if (item.kind === 'staff_password') {
        await repository.retireStaffPassword(item.staffId, unusable, now);
        await tx.staff.revokeAll(item.staffId, now);
        removed.staffDisabled.push(item.email);
        entries.push(systemEntry(now, 'staff.update', { staff_id: item.staffId, changes: { disabled: true, password: 'demo password removed' } }));
      } else if (item.kind === 'member_password') {
        const deleted = await repository.deleteMemberPasswords(item.passwordHash);
        removed.memberPasswordsDeleted += deleted;
        entries.push(systemEntry(now, 'member.passwords_removed', { members: deleted, reason: 'demo password' }));
      } else if (item.kind === 'client_secret') {
        const clientSecret = newClientSecret();
        await tx.partners.setClientSecret(item.appId, clientSecret);
        removed.rotatedSecrets.push({ appId: item.appId, clientSecret });
        entries.push(systemEntry(now, 'app.rotate_secret', { app_id: item.appId }, item));
      }
    }
    for (const appId of new Set(found.flatMap((item) => (item.kind === 'redirect_uri' ? [item.appId] : [])))) {
      const client = await tx.partners.oauthClient(appId);
      if (!client) continue;
      const kept = client.redirectUris.filter((uri) => !uri.toLowerCase().startsWith('http:'));
      await tx.partners.setRedirectUris(appId, kept);
      for (const uri of client.redirectUris.filter((uri) => !kept.includes(uri))) removed.redirectUrisRemoved.push({ appId, uri });
      entries.push(systemEntry(now, 'app.update', { changes: { redirect_uris: { from: client.redirectUris, to: kept } } },
        { appId, partnerId: client.app.partnerId }));
    }
    if (entries.length > 0) await tx.audit.append(entries);
    return removed;
  });
}
