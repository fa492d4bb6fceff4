import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { addDays } from '../../src/domain/time.js';
import { build } from '../helpers/build.js';
import { DIALECTS, dialectTest, type Dialect } from '../helpers/dialects.js';
import { addMembers, addPartner, grantToken, type PartnerSpec } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const HOUR = 3_600_000;

async function partnerWorld(t: TestContext, dialect: Dialect, spec: PartnerSpec = {}) {
  const built = await build(t, NOW, { dialect });
  const partner = await addPartner(built.store, 'acme', spec, NOW);
  const token = 'cc_' + 'x'.repeat(40);
  await built.store.clientTokens.record(token, partner.appId, NOW, addDays(NOW, 365));
  const call = (method: 'GET' | 'POST', url: string, payload?: object, bearer: string | null = token) =>
    built.app.inject({ method, url, ...(payload ? { payload } : {}), headers: bearer === null ? {} : { authorization: `Bearer ${bearer}` } });
  return { ...built, ...partner, token, call };
}

const windDown = { noNewGrants: addDays(NOW, 10), noFriendData: addDays(NOW, 20), accessEnded: addDays(NOW, 30) };

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`partner endpoints on ${dialect}`, () => {
    describe('GET /v1/partner/agreement', () => {
      test.both('date math', 'shows the partner its own terms, status, certification due date and wind-down schedule', async (t) => {
        const { call, setNow } = await partnerWorld(t, dialect, {
          agreement: { status: 'winding_down', windDown, certificationDueAt: addDays(NOW, 100), friendFields: ['birthday'] },
        });
        const response = await call('GET', '/v1/partner/agreement');
        assert.equal(response.statusCode, 200);
        const body = response.json();
        assert.equal(body.id, 'agr_acme');
        assert.equal(body.status, 'winding_down');
        assert.equal(body.in_effect, true);
        assert.deepEqual(body.member_fields, ['id', 'name', 'picture', 'email', 'birthday', 'friends']);
        assert.deepEqual(body.friend_fields, ['birthday']);
        assert.equal(body.certification_due_at, new Date(addDays(NOW, 100)).toISOString());
        assert.equal(body.suspended_if_uncertified_at, new Date(addDays(NOW, 160)).toISOString());
        assert.equal(body.last_certified_at, null);
        assert.deepEqual(body.wind_down, {
          phase: 'none',
          no_new_grants: new Date(windDown.noNewGrants).toISOString(),
          no_friend_data: new Date(windDown.noFriendData).toISOString(),
          access_ended: new Date(windDown.accessEnded).toISOString(),
        });
        setNow(windDown.noFriendData);
        assert.equal((await call('GET', '/v1/partner/agreement')).json().wind_down.phase, 'no_friend_data');
      });

      test('an app without an agreement gets 404', async (t) => {
        const { call } = await partnerWorld(t, dialect, { withoutAgreement: true });
        const response = await call('GET', '/v1/partner/agreement');
        assert.equal(response.statusCode, 404);
        assert.equal(response.json().error.code, 'not_found');
      });

      test('only a live client-credentials token of an active app is accepted', async (t) => {
        const { call, store, token, appId, agreementId, setNow } = await partnerWorld(t, dialect);
        await addMembers(store, [{ id: 'm1' }], NOW);
        const member = await grantToken(store, { memberId: 'm1', appId, agreementId, memberFields: ['id'] }, NOW);
        for (const bearer of [null, 'garbage-token-value-123', member.token]) {
          const response = await call('GET', '/v1/partner/agreement', undefined, bearer);
          assert.equal(response.statusCode, 401, String(bearer));
          assert.equal(response.json().error.code, 'invalid_token');
        }
        const shortLived = 'cc_' + 'short'.repeat(8);
        await store.clientTokens.record(shortLived, appId, NOW, NOW + HOUR);
        assert.equal((await call('GET', '/v1/partner/agreement', undefined, shortLived)).statusCode, 200);
        setNow(NOW + HOUR);
        assert.equal((await call('GET', '/v1/partner/agreement', undefined, shortLived)).statusCode, 401, 'expired');
        setNow(NOW + 1);
        await store.clientTokens.revoke(token, NOW);
        assert.equal((await call('GET', '/v1/partner/agreement')).statusCode, 401, 'revoked');
      });

      test('a disabled app is refused', async (t) => {
        const { call } = await partnerWorld(t, dialect, { appStatus: 'disabled' });
        const response = await call('GET', '/v1/partner/agreement');
        assert.equal(response.statusCode, 403);
        assert.equal(response.json().error.code, 'app_disabled');
      });
    });

    describe('POST /v1/partner/certifications', () => {
      test('records the certification with who signed it and when', async (t) => {
        const { call, store, setNow } = await partnerWorld(t, dialect);
        setNow(NOW + 5000);
        const response = await call('POST', '/v1/partner/certifications', { signed_by: 'Jane Roe, DPO', statement: 'We comply.' });
        assert.equal(response.statusCode, 201);
        const body = response.json();
        assert.match(body.id, /^cert_/);
        assert.equal(body.filed_at, new Date(NOW + 5000).toISOString());
        const [stored] = await store.filings.ofAgreement('certification', 'agr_acme');
        assert.equal(stored?.signedBy, 'Jane Roe, DPO');
        assert.equal(stored?.agreementVersion, 1);
        assert.equal((await call('GET', '/v1/partner/agreement')).json().last_certified_at, new Date(NOW + 5000).toISOString());
      });

      test('bad bodies are 400 and nothing is recorded', async (t) => {
        const { call, store, app, token } = await partnerWorld(t, dialect);
        const bodies = [{}, { signed_by: 'x' }, { signed_by: '', statement: 'y' }, { signed_by: 'x', statement: 'y', extra: 1 },
          { signed_by: 7, statement: 'y' }, { signed_by: 'x', statement: 'y'.repeat(10_001) }];
        for (const body of bodies) {
          const response = await call('POST', '/v1/partner/certifications', body);
          assert.equal(response.statusCode, 400, JSON.stringify(body).slice(0, 80));
          assert.equal(response.json().error.code, 'invalid_parameter');
        }
        const malformed = await app.inject({
          method: 'POST', url: '/v1/partner/certifications', payload: '{"signed_by":',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        });
        assert.equal(malformed.statusCode, 400);
        assert.equal(malformed.json().error.code, 'invalid_request');
        const huge = await call('POST', '/v1/partner/certifications', { signed_by: 'x', statement: 'z'.repeat(70_000) });
        assert.equal(huge.statusCode, 413);
        assert.deepEqual(await store.filings.ofAgreement('certification', 'agr_acme'), []);
      });
    });

    describe('POST /v1/partner/deletion-attestations', () => {
      test('is refused while access lasts and recorded once it has ended', async (t) => {
        const { call, store, setNow } = await partnerWorld(t, dialect, { agreement: { status: 'winding_down', windDown } });
        await store.clientTokens.record('cc_' + 'late'.repeat(10), 'app_acme', windDown.accessEnded, windDown.accessEnded + HOUR);
        const attestation = { signed_by: 'Jane Roe, DPO', statement: 'All member data received was deleted.' };
        const early = await call('POST', '/v1/partner/deletion-attestations', attestation);
        assert.equal(early.statusCode, 409);
        assert.equal(early.json().error.code, 'access_not_ended');
        setNow(windDown.accessEnded);
        const late = await call('POST', '/v1/partner/deletion-attestations', attestation, 'cc_' + 'late'.repeat(10));
        assert.equal(late.statusCode, 201);
        assert.match(late.json().id, /^att_/);
        assert.equal((await store.filings.ofAgreement('deletion_attestation', 'agr_acme')).length, 1);
      });
    });
  });
}
