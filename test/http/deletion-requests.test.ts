/**
 * Ask a partner to delete my data (issue 17 point 4): the member's request becomes a notice to the
 * partner's webhook (the signed outbox), the partner confirms it through its endpoint, the member
 * sees where it stands, and requests unconfirmed 30 days on are listed for staff.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { addDays } from '../../src/domain/time.js';
import { agreementWorld } from '../helpers/agreement-world.js';
import { DIALECTS, dialectTest, type Dialect } from '../helpers/dialects.js';
import { addMembers, addPartner, grantToken } from '../helpers/fixtures.js';
import { MemberBrowser, csrfFieldOf } from '../helpers/member-browser.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const PASSWORD = 'correct horse battery staple';

async function world(t: TestContext, dialect: Dialect) {
  const w = await agreementWorld(t, NOW, { dialect }); // staff API keys outlive the 30 days
  await addMembers(w.store, [{ id: 'ann' }], NOW);
  await w.store.credentials.setPassword('ann', PASSWORD, NOW);
  const dev = await addPartner(w.store, 'dev', {}, NOW);
  const other = await addPartner(w.store, 'other', {}, NOW);
  await grantToken(w.store, { memberId: 'ann', appId: dev.appId, agreementId: dev.agreementId, memberFields: ['id', 'name'] }, NOW);
  const partnerToken = async (appId: string) => {
    const token = `cc_${appId}_${'x'.repeat(40)}`;
    await w.store.clientTokens.record(token, appId, NOW, addDays(NOW, 365));
    return token;
  };
  const asPartner = (token: string, method: 'GET' | 'POST', url: string) =>
    w.app.inject({ method, url, headers: { authorization: `Bearer ${token}` } });
  const ann = new MemberBrowser(w.app);
  assert.equal((await ann.login('ann', PASSWORD)).statusCode, 303);
  return { ...w, dev, other, partnerToken, asPartner, ann };
}

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`deletion requests on ${dialect}`, () => {
    test('the member asks from the apps page; the partner is sent a notice and confirms; the member sees each state', async (t) => {
      const w = await world(t, dialect);
      const page = (await w.ann.get('/privacy/apps')).body;
      assert.match(page, /<button type="submit">Ask dev Ltd to delete my data<\/button>/);
      const asked = await w.ann.postForm('/privacy/deletion-requests', { _csrf: csrfFieldOf(page), partner_id: 'p_dev' });
      assert.equal(asked.statusCode, 303);
      assert.equal(asked.headers.location, '/privacy/apps?done=deletion_requested');

      // In the outbox, to be signed and posted to the partner's webhook like every notice.
      const notices = await w.store.db.selectFrom('notices').select(['partner_id', 'type', 'payload']).execute();
      assert.equal(notices.length, 1);
      assert.equal(notices[0]!.partner_id, 'p_dev');
      assert.equal(notices[0]!.type, 'member.deletion_requested');
      const data = JSON.parse(notices[0]!.payload);
      assert.deepEqual(Object.keys(data).sort(), ['confirm_by', 'confirmed_at', 'id', 'member_id', 'requested_at']);
      assert.equal(data.member_id, 'ann');
      assert.equal(data.confirm_by, '2026-07-01T00:00:00.000Z');

      const waiting = (await w.ann.get('/privacy/apps')).body;
      assert.match(waiting, /You asked dev Ltd to delete your data on .*Waiting for its confirmation/);
      assert.doesNotMatch(waiting, /Ask dev Ltd to delete my data/, 'one open request at a time');

      const devToken = await w.partnerToken(w.dev.appId);
      const open = await w.asPartner(devToken, 'GET', '/v1/partner/deletion-requests');
      assert.deepEqual(open.json().data.map((r: { id: string; state: string }) => [r.id, r.state]), [[data.id, 'waiting']]);
      // Another partner can neither see nor confirm it.
      const otherToken = await w.partnerToken(w.other.appId);
      assert.deepEqual((await w.asPartner(otherToken, 'GET', '/v1/partner/deletion-requests')).json().data, []);
      assert.equal((await w.asPartner(otherToken, 'POST', `/v1/partner/deletion-requests/${data.id}/confirm`)).statusCode, 404);

      w.setNow(addDays(NOW, 3));
      const confirmed = await w.asPartner(devToken, 'POST', `/v1/partner/deletion-requests/${data.id}/confirm`);
      assert.equal(confirmed.statusCode, 200);
      assert.equal(confirmed.json().state, 'confirmed');
      assert.equal(confirmed.json().confirmed_at, '2026-06-04T00:00:00.000Z');
      const mine = await w.ann.json('GET', '/v1/me/deletion-requests');
      assert.deepEqual(mine.json().data.map((r: { state: string; confirmed_at: string }) => [r.state, r.confirmed_at]), [['confirmed', '2026-06-04T00:00:00.000Z']]);
      assert.match((await w.ann.get('/privacy/apps')).body, /dev Ltd confirmed on .* that it deleted your data/);
    });

    test.both('transactions and locking', 'the JSON API refuses a second open request and a partner the member never consented to; staff see requests unconfirmed after 30 days', async (t) => {
      const w = await world(t, dialect);
      const csrf = await w.ann.apiCsrf();
      const post = (partnerId: string) => w.ann.json('POST', '/v1/me/deletion-requests', { partner_id: partnerId }, { 'x-csrf-token': csrf });
      const created = await post('p_dev');
      assert.equal(created.statusCode, 201, created.body);
      assert.equal(created.json().state, 'waiting');
      assert.equal((await post('p_dev')).json().error.code, 'deletion_already_requested');
      assert.equal((await post('p_other')).statusCode, 404, 'ann never consented to an app of p_other');
      assert.equal((await w.ann.json('POST', '/v1/me/deletion-requests', { partner_id: 'p_dev' })).statusCode, 403, 'CSRF needed');

      const overdue = () => w.call(w.staff.viewer.token, 'GET', '/admin/v1/deletion-requests/unconfirmed');
      w.setNow(addDays(NOW, 29));
      assert.deepEqual((await overdue()).json().data, []);
      w.setNow(addDays(NOW, 30));
      const listed = (await overdue()).json().data;
      assert.deepEqual(listed.map((r: { id: string; member_id: string; partner_id: string; state: string }) => [r.id, r.member_id, r.partner_id, r.state]),
        [[created.json().id, 'ann', 'p_dev', 'overdue']]);
      assert.match((await w.ann.get('/privacy/apps')).body, /It has not confirmed after 30 days/);
      assert.equal((await w.app.inject({ method: 'GET', url: '/admin/v1/deletion-requests/unconfirmed' })).statusCode, 401);
    });
  });
}
