/**
 * The regulator's pack (issue 14 point 5): its data is the other reports' own at one `now` (the
 * inventory, records of processing, exposure and counterfactual), month by month as the exposure
 * report counts each month, and the latest tree head as the log holds it, checked with the log's
 * key; its HTML is one self-contained document that escapes what people typed.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { AuditLog } from '../../src/audit/audit-log.js';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { loadOrCreateAuditBlinding } from '../../src/audit/blinding.js';
import { verifierKey } from '../../src/audit/checkpoint.js';
import { Cosigner } from '../../src/audit/cosignature.js';
import { checkpointBody } from '../../src/audit/checkpoint.js';
import { loadOrCreateAuditSigningKey } from '../../src/audit/signing-key.js';
import { DEMO_CONTROLLER } from '../../src/domain/controller.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import { addDays } from '../../src/domain/time.js';
import { counterfactualReport } from '../../src/reports/counterfactual.js';
import { exposureReport } from '../../src/reports/exposure.js';
import { inventoryReport } from '../../src/reports/inventory.js';
import { packHtml } from '../../src/reports/pack-html.js';
import { monthsEndingWith, regulatorPack } from '../../src/reports/pack.js';
import { recordsOfProcessing } from '../../src/reports/records-of-processing.js';
import { seedDemoPartners } from '../../src/seed/demo-partners.js';
import { createStore } from '../../src/store/store.js';
import { DIALECTS, testDatabase, type Dialect } from '../helpers/dialects.js';
import { addFriendships, addMembers } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const ORIGIN = 'datapact.test/audit';

type Release = [at: number, partner: 'blackberry' | 'huawei', token: string, subject: string, fields: AuditEntry['released']];

const released = ([at, partner, token, subject, fields]: Release): AuditEntry => ({
  at, requestId: `r_${partner}_${token}_${at}`, appId: `app_${partner}`, partnerId: `p_${partner}`, agreementId: `agr_${partner}`,
  agreementVersion: partner === 'huawei' ? 2 : 1, rulesVersion: RULES_VERSION, tokenMemberId: token, subjectMemberId: subject,
  purpose: 'device_experience', outcome: 'released', code: null, released: fields, withheld: {},
});

/** The demo partners over six members: releases to BlackBerry in three months and to Huawei in one, directly and through friends. */
const RELEASES: readonly Release[] = [
  [addDays(NOW, -2), 'blackberry', 'm1', 'm1', ['id', 'name', 'birthday']],
  [addDays(NOW, -2), 'blackberry', 'm1', 'm2', ['id', 'name']],
  [addDays(NOW, -2), 'blackberry', 'm1', 'm3', ['id', 'name', 'birthday']],
  [addDays(NOW, -40), 'blackberry', 'm2', 'm2', ['id', 'religion']],
  [addDays(NOW, -200), 'blackberry', 'm1', 'm1', ['id', 'name']],
  [addDays(NOW, -400), 'blackberry', 'm1', 'm4', ['id', 'name']],
  [addDays(NOW, -10), 'huawei', 'm5', 'm5', ['id', 'email']],
  [addDays(NOW, -10), 'huawei', 'm5', 'm6', ['id', 'name']],
];

async function packWorld(t: TestContext, dialect: Dialect) {
  const database = await testDatabase(t, dialect);
  const store = createStore(database.db);
  await seedDemoPartners(store, NOW);
  await addMembers(store, ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7'].map((id) => ({ id, shareViaFriends: true })), NOW);
  await addFriendships(store, [['m1', 'm2'], ['m1', 'm3'], ['m2', 'm4'], ['m5', 'm6'], ['m6', 'm7']], NOW);
  await store.audit.append(RELEASES.map(released));
  const signingKey = loadOrCreateAuditSigningKey(undefined);
  const log = new AuditLog({ db: store.db, clock: () => NOW, signingKey, blinding: loadOrCreateAuditBlinding(undefined), origin: ORIGIN });
  await log.signHeadIfBehind();
  return { store, signingKey };
}

describe('the regulator\'s pack as data', () => {
  for (const dialect of DIALECTS) {
    test(`on ${dialect}: the other reports' own figures at one now, month by month, and the latest head as the log holds it`, async (t) => {
      const { store, signingKey } = await packWorld(t, dialect);
      const witnesses = [Cosigner.generate('alpha.example/witness'), Cosigner.generate('beta.example/witness')];
      const head = (await store.audit.latestHead())!;
      // alpha cosigned the head; beta's line is over another root, so it does not count.
      await store.cosignatures.add({
        treeSize: head.size, witness: witnesses[0]!.verifierKey, rootHash: head.root, cosignedAt: NOW / 1000,
        signatureLine: witnesses[0]!.cosign(checkpointBody(ORIGIN, head.size, head.root), NOW / 1000),
      });
      await store.cosignatures.add({
        treeSize: head.size, witness: witnesses[1]!.verifierKey, rootHash: head.root, cosignedAt: NOW / 1000,
        signatureLine: witnesses[1]!.cosign(checkpointBody(ORIGIN, head.size, Buffer.alloc(32)), NOW / 1000),
      });
      const log = { publicKey: signingKey.publicKey, origin: ORIGIN, witnessKeys: witnesses.map((w) => w.verifierKey), quorum: 2 };
      const pack = await regulatorPack({ store, controller: DEMO_CONTROLLER, log }, { now: NOW });

      const period = { now: NOW, from: '2025-07', to: '2026-06' };
      assert.deepEqual([pack.from, pack.to], ['2025-07', '2026-06']);
      assert.deepEqual(pack.inventory, await inventoryReport(store, NOW));
      assert.deepEqual(pack.records, await recordsOfProcessing(store, DEMO_CONTROLLER, NOW));
      assert.deepEqual(pack.exposure, await exposureReport(store, period));
      assert.deepEqual(pack.counterfactual, await counterfactualReport(store, period));
      // m4 (400 days ago) is before the period: BlackBerry reached m1, m2, m3 in it.
      assert.deepEqual(pack.exposure.by_partner.map((row) => [row.partner_id, row.members_total]), [['p_blackberry', 3], ['p_huawei', 2]]);

      // Only partners with an agreement get a chart; each month is that month's exposure report.
      assert.deepEqual(pack.members_per_month.map((series) => series.partner_id).sort(), ['p_blackberry', 'p_huawei', 'p_lenovo', 'p_oppo', 'p_pixelharbour', 'p_tcl']);
      const blackberry = pack.members_per_month.find((series) => series.partner_id === 'p_blackberry')!;
      assert.deepEqual(blackberry.months.map((m) => m.month), monthsEndingWith('2026-06', 12));
      for (const { month, members_total: members } of blackberry.months) {
        const own = await exposureReport(store, { now: NOW, from: month, to: month, partnerId: 'p_blackberry' });
        assert.equal(members, own.by_partner[0]?.members_total ?? 0, month);
      }
      assert.deepEqual(blackberry.months.filter((m) => m.members_total > 0), [
        { month: '2025-11', members_total: 1 }, { month: '2026-04', members_total: 1 }, { month: '2026-05', members_total: 3 },
      ]);

      assert.deepEqual(pack.audit.head && { size: pack.audit.head.tree_size, root: pack.audit.head.root_hash, signed: pack.audit.head.signed_at },
        { size: head.size, root: head.root.toString('base64'), signed: new Date(head.timestamp).toISOString() });
      assert.equal(head.size, RELEASES.length);
      assert.deepEqual([pack.audit.head!.signature_valid, pack.audit.head!.checkpoint_signature_valid, pack.audit.head!.verified], [true, true, true]);
      assert.equal(pack.audit.verifier_key, verifierKey(ORIGIN, signingKey.publicKey));
      assert.deepEqual(pack.audit.witnesses.cosignatures.map((c) => c.witness), ['alpha.example/witness']);
      assert.deepEqual([pack.audit.witnesses.configured, pack.audit.witnesses.quorum, pack.audit.witnesses.under_quorum], [2, 2, true]);
    });
  }

  test('a head checked with another key is not verified; one partner only; an unknown partner is 404', async (t) => {
    const { store } = await packWorld(t, 'sqlite');
    // Another key, and a process configured with another origin (a CLI run without the server's DATAPACT_PUBLIC_URL).
    const other = loadOrCreateAuditSigningKey(undefined).publicKey;
    const log = { publicKey: other, origin: 'configured.example/audit', witnessKeys: [], quorum: 0 };
    const pack = await regulatorPack({ store, controller: DEMO_CONTROLLER, log }, { now: NOW, partnerId: 'p_huawei' });
    assert.equal(pack.audit.head!.origin, ORIGIN, 'the origin the head was signed under');
    assert.equal(pack.audit.verifier_key, verifierKey(ORIGIN, other));
    assert.deepEqual([pack.audit.head!.signature_valid, pack.audit.head!.checkpoint_signature_valid, pack.audit.head!.verified], [false, false, false]);
    assert.equal(pack.audit.witnesses.under_quorum, false);
    assert.deepEqual(pack.inventory.data.map((row) => row.partner_id), ['p_huawei']);
    assert.deepEqual(pack.records.data.map((record) => record.recipient.partner_id), ['p_huawei']);
    assert.deepEqual(pack.exposure.by_partner.map((row) => row.partner_id), ['p_huawei']);
    assert.match(packHtml(pack), /NOT VERIFIED/);
    await assert.rejects(regulatorPack({ store, controller: DEMO_CONTROLLER, log }, { now: NOW, partnerId: 'p_nobody' }), { status: 404, code: 'not_found' });
  });
});

/** Elements and CSS that would load something from elsewhere, or run. */
const REACHES_OUT = /<(?:script|link|img|iframe|object|embed|image|use|foreignObject)\b|\b(?:src|href|xlink:href)\s*=|url\(|@import/i;

describe('the regulator\'s pack as HTML', () => {
  test('one self-contained document that answers each question, the sensitive fields marked, a bar per month', async (t) => {
    const { store, signingKey } = await packWorld(t, 'sqlite');
    const log = { publicKey: signingKey.publicKey, origin: ORIGIN, witnessKeys: [], quorum: 0 };
    const document = packHtml(await regulatorPack({ store, controller: DEMO_CONTROLLER, log }, { now: NOW }));
    assert.match(document, /^<!DOCTYPE html>/);
    assert.doesNotMatch(document, REACHES_OUT);
    for (const heading of ['At a glance', 'Audited how', 'Huawei Device Co., Ltd.', 'BlackBerry Limited', 'ZTE Corporation', 'What the 2018 rules would have reached']) {
      assert.ok(document.includes(`>${heading}</h`), heading);
    }
    assert.match(document, /<span class="sensitive">religion\*<\/span>/);
    assert.match(document, /safeguard: <span class="flag">NONE STATED<\/span>/, "Huawei's transfer to CN");
    assert.match(document, /<strong class="ok">verified<\/strong>/);
    // One chart per partner with an agreement, twelve bars each.
    assert.equal(document.match(/<svg /g)?.length, 6);
    assert.equal(document.match(/<rect /g)?.length, 6 * 12);
    assert.match(document, /<title>2026-05: 3 members<\/title>/);
    // Huawei: m5's token released m5 and m6; in 2018 also m6's friend m7, a friend of a friend only.
    assert.match(document, /released data on <strong>2<\/strong> members; the 2018 rules would have exposed\s+<strong>3<\/strong>, of which <strong>1<\/strong> only as friends of friends/);
  });

  test('a partner name with markup in it is shown as text', async (t) => {
    const { store, signingKey } = await packWorld(t, 'sqlite');
    const name = '<script>alert("pwned")</script><style>body{display:none}</style>';
    await store.db.updateTable('partners').set({ legal_name: name }).where('id', '=', 'p_blackberry').execute();
    const log = { publicKey: signingKey.publicKey, origin: ORIGIN, witnessKeys: [], quorum: 0 };
    const document = packHtml(await regulatorPack({ store, controller: DEMO_CONTROLLER, log }, { now: NOW }));
    assert.doesNotMatch(document, REACHES_OUT);
    assert.equal(document.match(/<style>/g)?.length, 1);
    assert.ok(document.includes('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;&lt;style&gt;body{display:none}&lt;/style&gt;'));
  });
});
