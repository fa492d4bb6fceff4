import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { parse } from 'csv-parse/sync';
import { addDays } from '../../src/domain/time.js';
import { seedDemoPartners } from '../../src/seed/demo-partners.js';
import { ADMIN_NOW } from '../helpers/admin.js';
import { agreementWorld } from '../helpers/agreement-world.js';
import { DIALECTS, dialectTest, onOneDialect, type Dialect } from '../helpers/dialects.js';

/** Issue 14 point 3: the records of processing (GDPR Art. 30) from the live agreements, and the safeguard a draft states. */
const NOW = ADMIN_NOW;
const URL = '/admin/v1/reports/records-of-processing';
const day = (n: number) => new Date(addDays(NOW, n)).toISOString();
const DRAFT = {
  partner_id: 'p_acme', app_ids: ['app_acme'], purposes: ['device_experience'], member_fields: ['name'],
  retention_days: 30, starts_at: day(1), ends_at: day(300),
};

async function world(t: TestContext, dialect: Dialect) {
  const w = await agreementWorld(t, NOW, { dialect, controller: { name: 'Example Social Ltd', country: 'IE' } });
  await seedDemoPartners(w.store, NOW);
  return w;
}

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`records of processing on ${dialect}`, () => {
    test.both('the reports\' SQL', 'every agreement of the demo world, with its transfer and safeguard; any staff role reads them', async (t) => {
      const w = await world(t, dialect);
      const response = await w.call(w.staff.viewer.token, 'GET', URL);
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json();
      assert.deepEqual(body.controller, { name: 'Example Social Ltd', country: 'IE' });
      assert.equal(body.generated_at, new Date(NOW).toISOString());
      const byId = new Map<string, any>(body.data.map((r: any) => [r.agreement_id, r]));
      const huawei = byId.get('agr_huawei');
      assert.deepEqual(huawei.transfer, { outside_controller_country: true, destination_country: 'CN', safeguard: null });
      assert.ok(huawei.findings.includes('transfer_without_safeguard'));
      assert.deepEqual(huawei.recipient.risk_flags, ['state_influence']);
      assert.ok(huawei.data_categories.some((c: any) => c.about === 'friends'));
      assert.deepEqual(byId.get('agr_blackberry').transfer, { outside_controller_country: true, destination_country: 'CA', safeguard: 'adequacy_decision' });
      assert.deepEqual(byId.get('agr_lenovo').transfer, { outside_controller_country: false, destination_country: null, safeguard: null });
      assert.ok(!byId.has(null as never), 'a partner without an agreement has no record');
    });

    test('as CSV, a download with one line per agreement', async (t) => {
      const w = await world(t, dialect);
      const json = (await w.call(w.staff.viewer.token, 'GET', URL)).json();
      const response = await w.call(w.staff.viewer.token, 'GET', `${URL}?format=csv`);
      assert.equal(response.statusCode, 200);
      assert.match(String(response.headers['content-type']), /^text\/csv/);
      assert.match(String(response.headers['content-disposition']), /attachment; filename="datapact-records-of-processing-/);
      const rows = parse(response.body, { columns: true }) as Record<string, string>[];
      assert.deepEqual(rows.map((r) => r.agreement_id), json.data.map((r: any) => r.agreement_id));
    });

    test('a draft states the safeguard of its transfer; the record carries it', async (t) => {
      const w = await world(t, dialect);
      const created = await w.call(w.manager.token, 'POST', '/admin/v1/agreements', {
        ...DRAFT, storage: { location: 'partner_servers', country: 'US', safeguard: 'standard_contractual_clauses' },
      });
      assert.equal(created.statusCode, 201, created.body);
      assert.deepEqual(created.json().storage, { location: 'partner_servers', country: 'US', safeguard: 'standard_contractual_clauses' });
      const record = (await w.call(w.staff.viewer.token, 'GET', URL)).json().data.find((r: any) => r.agreement_id === created.json().id);
      assert.equal(record.transfer.safeguard, 'standard_contractual_clauses');
      assert.deepEqual(record.findings, []);

      const edited = await w.call(w.manager.token, 'PATCH', `/admin/v1/agreements/${created.json().id}`, {
        storage: { location: 'partner_servers', country: 'US' },
      });
      assert.equal(edited.statusCode, 200, edited.body);
      const after = (await w.call(w.staff.viewer.token, 'GET', URL)).json().data.find((r: any) => r.agreement_id === created.json().id);
      assert.deepEqual(after.findings, ['transfer_without_safeguard']);
    });

    for (const [storage, message] of onOneDialect(dialect, [
      [{ location: 'partner_servers', country: 'US', safeguard: 'a handshake' }, /storage\.safeguard is one of adequacy_decision/],
      [{ location: 'on_device', safeguard: 'adequacy_decision' }, /only for location 'partner_servers'/],
    ] as const)) {
      test(`a safeguard that is not one is refused: ${JSON.stringify(storage)}`, async (t) => {
        const w = await world(t, dialect);
        const response = await w.call(w.manager.token, 'POST', '/admin/v1/agreements', { ...DRAFT, storage });
        assert.equal(response.statusCode, 400);
        assert.equal(response.json().error.code, 'invalid_storage');
        assert.match(response.json().error.message, message);
      });
    }

    test('without a staff session: 401', async (t) => {
      const w = await world(t, dialect);
      const response = await w.call(null, 'GET', URL);
      assert.equal(response.statusCode, 401);
      assert.equal(response.json().error.code, 'login_required');
    });
  });
}
