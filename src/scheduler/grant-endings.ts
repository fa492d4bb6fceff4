import { GRANT_IDLE_DAYS, grantEnd, type Grant, type GrantEnd } from '../domain/grant.js';
import { addDays, type Instant } from '../domain/time.js';
import { windDownPhase } from '../domain/wind-down.js';
import type { Db } from '../store/database.js';
import { forgetOidcGrants } from '../store/oidc-adapter.js';
import { createStore } from '../store/store.js';

/** Grants ended per transaction. */
const BATCH = 500;

/**
 * Records the ends that time brought about by `now` (issue 12): a grant unused for 90 days ends
 * at the instant it lapsed (`unused_90_days`), every grant under an agreement whose wind-down
 * reached `access_ended` ends at that date (`access_ended`), and the authorization server forgets
 * them. The rules already refuse such grants at that exact instant (src/domain/grant.ts); this
 * records the end and its reason for the privacy center and the reports.
 *
 * It leaves the grants' access tokens as they are: the Graph API keeps answering with the rule
 * that applies (`403 agreement_not_in_effect`, cause `access_ended`; `401 grant_expired`), not
 * with a revoked token's `401 invalid_token`.
 *
 * Idempotent, and safe from several instances at once: an end is recorded only on a grant with
 * none, so the first one recorded stays.
 */
export async function recordGrantEndings(db: Db, now: Instant): Promise<{ ended: number }> {
  const store = createStore(db);
  const accessEnded = new Map(
    (await store.grants.agreementsWindingDown())
      .filter((agreement) => windDownPhase(agreement.windDown, now) === 'access_ended')
      .map((agreement) => [agreement.id, agreement]),
  );
  const idleSince = addDays(now, -GRANT_IDLE_DAYS);
  let ended = 0;
  for (;;) {
    const candidates = await store.grants.unrecorded(idleSince, [...accessEnded.keys()], BATCH);
    const ends = candidates.flatMap((grant): Array<{ grant: Grant; end: GrantEnd }> => {
      const end = grantEnd(grant, accessEnded.get(grant.agreementId ?? '') ?? null, now);
      return end === null ? [] : [{ grant, end }];
    });
    // Every candidate has ended (it lapsed, or its agreement's access did): none comes back.
    if (ends.length === 0) return { ended };
    await db.transaction().execute(async (trx) => {
      const tx = createStore(trx);
      for (const { grant, end } of ends) await tx.grants.revoke(grant.id, end.at, end.reason);
      await forgetOidcGrants(trx, ends.map(({ grant }) => grant.id));
    });
    ended += ends.length;
  }
}
