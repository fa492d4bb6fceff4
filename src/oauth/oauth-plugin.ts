import type { FastifyPluginAsync, preHandlerAsyncHookHandler } from 'fastify';
import type { AuditLog } from '../audit/audit-log.js';
import type { Instant } from '../domain/time.js';
import type { Store } from '../store/store.js';

/** What the OAuth server needs from the app that mounts it. */
export interface OAuthOptions {
  readonly store: Store;
  readonly clock: () => Instant;
  readonly audit: AuditLog;
  readonly publicUrl: string;
  readonly secureCookies: boolean;
  /** Where signing keys are kept; undefined: fresh keys in memory (tests). */
  readonly dataDir: string | undefined;
  /** preHandlers for the login form: attempts limited per address and per account (`member_id`). */
  readonly loginThrottle: preHandlerAsyncHookHandler[];
}

/** Placeholder until this part is written. */
export const oauthPlugin: FastifyPluginAsync<OAuthOptions> = async () => {};
