import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addDays } from '../../src/domain/time.js';
import { recordGrantEndings } from '../../src/scheduler/grant-endings.js';
import { build } from '../helpers/build.js';
import { DIALECTS } from '../helpers/dialects.js';
import { addMembers, addPartner, grantToken } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const ACCESS_ENDED = addDays(NOW, 30);
const iso = (instant: number) => new Date(instant).toISOString();

for (const dialect of DIALECTS) {
  describe(`recordGrantEndings on ${dialect}`, () => {
    test('records each grant that time ended, at its instant and with its reason, once; leaves the rest and the tokens alone', async (t) => {
      const { store, app, setNow } = await build(t, NOW, { dialect });
      const members = Array.from({ length: 620 }, (_, i) => ({ id: `m${String(i).padStart(3, '0')}` }));
      await addMembers(store, members, NOW);
      const live = await addPartner(store, 'live', {}, NOW);
      const ending = await addPartner(store, 'ending', {
        agreement: {
          status: 'winding_down',
          windDown: { noNewGrants: addDays(NOW, 10), noFriendData: addDays(NOW, 20), accessEnded: ACCESS_ENDED },
        },
      }, NOW);
      const grant = (memberId: string, partner: typeof live, grantedAt: number, revokedAt: number | null = null) => grantToken(store, {
        memberId, appId: partner.appId, agreementId: partner.agreementId, memberFields: ['id', 'name'], grantedAt, revokedAt,
        tokenTtlMs: 400 * 86_400_000,
      }, NOW);

      // More idle grants than one batch, a live one, one revoked by its member, and three under the ending agreement.
      const idle = await Promise.all(members.slice(0, 600).map((m) => grant(m.id, live, addDays(NOW, -100))));
      const fresh = await grant('m600', live, NOW);
      const revoked = await grant('m601', live, addDays(NOW, -100), addDays(NOW, -95));
      const underEnding = await grant('m602', ending, NOW);
      const lapsedFirst = await grant('m603', ending, addDays(ACCESS_ENDED, -95));
      const revokedFirst = await grant('m604', ending, NOW, addDays(NOW, 5));

      assert.deepEqual(await recordGrantEndings(store.db, ACCESS_ENDED - 1), { ended: 601 }, 'the 600 idle ones, and m603 (lapsed 5 days before)');
      assert.deepEqual(await recordGrantEndings(store.db, ACCESS_ENDED), { ended: 1 }, 'then m602, at access_ended');
      assert.deepEqual(await recordGrantEndings(store.db, ACCESS_ENDED), { ended: 0 }, 'once');

      const row = async (grantId: string) => {
        const found = await store.db.selectFrom('grants').select(['revoked_at', 'end_reason']).where('id', '=', grantId).executeTakeFirstOrThrow();
        return [found.revoked_at, found.end_reason];
      };
      assert.deepEqual(await row(idle[0]!.grantId), [iso(addDays(NOW, -10)), 'unused_90_days']);
      assert.deepEqual(await row(fresh.grantId), [null, null]);
      assert.deepEqual(await row(revoked.grantId), [iso(addDays(NOW, -95)), null], 'a recorded end stays as it was');
      assert.deepEqual(await row(underEnding.grantId), [iso(ACCESS_ENDED), 'access_ended']);
      assert.deepEqual(await row(lapsedFirst.grantId), [iso(addDays(ACCESS_ENDED, -5)), 'unused_90_days']);
      assert.deepEqual(await row(revokedFirst.grantId), [iso(addDays(NOW, 5)), null]);

      // The Graph API still answers with the rule that applies, not with a revoked token.
      setNow(ACCESS_ENDED);
      const answer = await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${underEnding.token}` } });
      assert.deepEqual([answer.statusCode, answer.json().error.code, answer.json().error.cause], [403, 'agreement_not_in_effect', 'access_ended']);
      const idleAnswer = await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${idle[0]!.token}` } });
      assert.deepEqual([idleAnswer.statusCode, idleAnswer.json().error.code], [401, 'grant_expired']);
    });
  });
}
