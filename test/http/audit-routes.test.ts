/**
 * The audit log's public endpoints (issue 5): GET /v1/audit/public-key, /v1/audit/tree-head,
 * /v1/audit/inclusion and /v1/audit/consistency, over entries that real Graph API requests wrote.
 * Every proof is checked with the independent verifiers of merkle-verify.ts against a head whose
 * signature is checked with the published key, as an outside auditor would.
 */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { describe, test, type TestContext } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateAuditBlinding } from '../../src/audit/blinding.js';
import { EMPTY_TREE_HASH, leafHash } from '../../src/audit/merkle-hash.js';
import { verifyConsistency, verifyInclusion } from '../../src/audit/merkle-verify.js';
import { treeHeadFromJson, verifyTreeHead, type TreeHead } from '../../src/audit/tree-head.js';
import { adminWorld } from '../helpers/admin.js';
import type { BuildOptions } from '../helpers/build.js';
import { DIALECTS, dialectTest, type Dialect } from '../helpers/dialects.js';
import { addFriendships, addMembers, addPartner, grantToken } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

// Ids with `_`, which standard base64 (every hash and signature here) never contains, so that
// "no entry content in any response" cannot be a false alarm from a hash that happens to spell one.
const MEMBERS = ['m_alice', 'm_bob', 'm_carol', 'm_dave'] as const;

/**
 * `m_bob` uses the device partner's app with his friend list: `m_alice` and `m_dave` share
 * through friends, `m_carol` does not (an entry in the log only). Every request below is a real
 * Graph API request, so the entries are what the product writes.
 */
async function world(t: TestContext, dialect: Dialect, options: BuildOptions = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'datapact-audit-routes-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const built = await adminWorld(t, NOW, { ...options, dialect, dataDir });
  const { store, app } = built;
  await addMembers(store, [
    { id: 'm_alice', shareViaFriends: true }, { id: 'm_bob' }, { id: 'm_carol' }, { id: 'm_dave', shareViaFriends: true },
  ], NOW);
  await addFriendships(store, [['m_bob', 'm_alice'], ['m_bob', 'm_carol'], ['m_bob', 'm_dave']], NOW);
  const partner = await addPartner(store, 'dev', {
    agreement: { memberFields: ['id', 'name', 'email', 'friends'], friendFields: ['name', 'birthday'] },
  }, NOW);
  const grant = async (memberId: string, friends: boolean) => (await grantToken(store, {
    memberId, appId: partner.appId, agreementId: partner.agreementId,
    memberFields: friends ? ['id', 'name', 'friends'] : ['id', 'name', 'email'], friendFields: friends ? ['name', 'birthday'] : [],
  }, NOW)).token;
  const tokens = { bob: await grant('m_bob', true), alice: await grant('m_alice', false), carol: await grant('m_carol', false) };
  /** Request ids of every Graph API request made, to look for in the audit responses. */
  const requestIds: string[] = [];
  const graph = async (url: string, token: string, status = 200) => {
    const response = await app.inject({ url, headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.statusCode, status, response.body);
    requestIds.push(String(response.headers['x-request-id']));
  };
  /** Sequential requests (a batch each) and concurrent ones (sharing batches), a refusal among them. */
  const traffic = async () => {
    await graph('/v1/me?fields=id,name,email', tokens.alice);
    await graph('/v1/me/friends?fields=name,birthday', tokens.bob);
    await graph('/v1/members/m_alice/friends', tokens.bob, 403);
    await Promise.all([
      graph('/v1/me', tokens.carol),
      graph('/v1/me/friends?fields=name', tokens.bob),
      graph('/v1/me?fields=id,email', tokens.alice),
    ]);
    for (let i = 0; i < 3; i++) await graph(i % 2 ? '/v1/me' : '/v1/me/friends?limit=2', i % 2 ? tokens.carol : tokens.bob);
  };
  const get = (url: string) => app.inject({ url });
  /**
   * Inclusion proofs are not public (issue 11): they are asked of the staff endpoint, with the same
   * query; every other URL goes to the public endpoints as it is.
   */
  const proof = (url: string) => url.startsWith('/v1/audit/inclusion')
    ? built.call(built.staff.viewer.token, 'GET', url.replace('/v1/audit/inclusion', '/admin/v1/audit/inclusion'))
    : get(url);
  return { ...built, tokens, graph, traffic, requestIds, get, proof, dataDir };
}

type Response = LightMyRequestResponse;

/** PRODUCT.md §7: `{"error": {"code", "message", "request_id"}}`, the request id also in the header. */
function assertError(response: Response, status: number, code: string, what = ''): void {
  assert.equal(response.statusCode, status, `${what} ${response.body}`);
  const body = response.json();
  assert.deepEqual(Object.keys(body), ['error']);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'request_id']);
  assert.equal(body.error.code, code, `${what} ${response.body}`);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  assert.equal(body.error.request_id, response.headers['x-request-id']);
}

const hashes = (list: readonly string[]) => list.map((h) => Buffer.from(h, 'base64'));

/** The published key, checked against its header key id (hex SHA-256 of the DER SPKI). */
async function publishedKey(get: (url: string) => Promise<Response>): Promise<{ key: KeyObject; keyId: string }> {
  const response = await get('/v1/audit/public-key');
  assert.equal(response.statusCode, 200, response.body);
  assert.match(String(response.headers['content-type']), /^application\/x-pem-file/);
  assert.match(response.body, /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n?$/);
  const key = createPublicKey(response.body);
  assert.equal(key.asymmetricKeyType, 'ed25519');
  const keyId = createHash('sha256').update(key.export({ format: 'der', type: 'spki' })).digest('hex');
  assert.equal(response.headers['x-key-id'], keyId);
  return { key, keyId };
}

/** The latest head, its signature verified with the published key. */
async function verifiedHead(get: (url: string) => Promise<Response>): Promise<TreeHead> {
  const { key, keyId } = await publishedKey(get);
  const response = await get('/v1/audit/tree-head');
  assert.equal(response.statusCode, 200, response.body);
  const { key_id: headKeyId, ...signed } = response.json();
  assert.equal(headKeyId, keyId);
  const head = treeHeadFromJson(signed);
  assert.ok(verifyTreeHead(head, key), 'the head is signed by the published key');
  return head;
}

for (const dialect of DIALECTS) {
  const test = dialectTest(dialect);
  describe(`audit public endpoints on ${dialect}`, () => {
    describe('GET /v1/audit/public-key and /v1/audit/tree-head', () => {
      test('before any head: tree-head is 404 not_found, the public key is served all the same', async (t) => {
        const { get, proof } = await world(t, dialect, { audit: { headIntervalMs: 0 } });
        assertError(await get('/v1/audit/tree-head'), 404, 'not_found');
        assertError(await proof('/v1/audit/inclusion?leaf_index=0'), 404, 'not_found');
        assertError(await get('/v1/audit/consistency?from=0&to=0'), 404, 'not_found');
        await publishedKey(get);
      });

      test.both('JSON and blob columns', 'the latest head covers every entry, verifies with the published key, and equals the latest kept head', async (t) => {
        const { get, proof, traffic, store } = await world(t, dialect, { audit: { headIntervalMs: 0 } });
        await traffic();
        const head = await verifiedHead(get);
        assert.equal(head.size, await store.audit.treeSize(), 'with headIntervalMs 0 every batch signs a head');
        assert.ok(head.size > 10);
        assert.equal(head.timestamp, NOW, "signed at the app clock's time");
        const kept = await store.audit.latestHead();
        assert.deepEqual({ ...head }, { size: kept!.size, root: kept!.root, timestamp: kept!.timestamp, signature: kept!.signature });
        const tampered = { ...head, size: head.size - 1 };
        const { key } = await publishedKey(get);
        assert.ok(!verifyTreeHead(tampered, key), 'the size is bound by the signature');
      });

      test('no token is needed: a bogus bearer token changes nothing', async (t) => {
        const { app, traffic, store } = await world(t, dialect, { audit: { headIntervalMs: 0 } });
        await traffic();
        const [first, second] = await store.audit.heads();
        for (const url of ['/v1/audit/public-key', '/v1/audit/tree-head', `/v1/audit/consistency?from=${first!.size}&to=${second!.size}`]) {
          const plain = await app.inject({ url });
          const bogus = await app.inject({ url, headers: { authorization: 'Bearer not-a-token' } });
          assert.equal(plain.statusCode, 200, `${url}: ${plain.body}`);
          assert.equal(bogus.statusCode, 200, `${url}: ${bogus.body}`);
          assert.equal(bogus.body, plain.body);
        }
      });
    });

    describe('GET /v1/audit/inclusion', () => {
      test.both('JSON and blob columns', 'every leaf is proven in every kept head; the leaf hash is that of the stored entry\'s canonical bytes', async (t) => {
        const { get, proof, traffic, store, dataDir } = await world(t, dialect, { audit: { headIntervalMs: 0 } });
        await traffic();
        const latest = await verifiedHead(get);
        const heads = await store.audit.heads();
        assert.ok(heads.length >= 6, `a head per batch, got ${heads.length}`);
        assert.equal(heads.at(-1)!.size, latest.size);
        const entries = await store.audit.hashedEntries(0, 10_000);
        assert.equal(entries.length, latest.size);
        const blinded = store.audit.withBlinding(loadOrCreateAuditBlinding(dataDir));
        const expected = await blinded.run({ reads: entries.map((_, index) => ({ level: 0, index })), assemble: (nodes) => [...nodes] });

        for (const head of heads) {
          for (let index = 0; index < head.size; index++) {
            const response = await proof(`/v1/audit/inclusion?leaf_index=${index}&tree_size=${head.size}`);
            assert.equal(response.statusCode, 200, response.body);
            const body = response.json();
            assert.deepEqual(Object.keys(body).sort(), ['audit_path', 'canonical_entry', 'entry', 'leaf_hash', 'leaf_index', 'tree_size']);
            assert.deepEqual(leafHash(Buffer.from(body.canonical_entry, 'base64')), expected[index], 'the leaf hash is that of the bytes shown');
            assert.equal(body.leaf_index, index);
            assert.equal(body.tree_size, head.size);
            const leaf = Buffer.from(body.leaf_hash, 'base64');
            assert.deepEqual(leaf, expected[index], `leaf ${index} is the hash of the stored entry`);
            const path = hashes(body.audit_path);
            assert.ok(verifyInclusion(leaf, index, head.size, path, head.root), `leaf ${index} in ${head.size}`);
            // The same proof must not verify anywhere else: another index, another root, a changed leaf.
            if (head.size > 1) assert.ok(!verifyInclusion(leaf, (index + 1) % head.size, head.size, path, head.root), `flipped index ${index}`);
            const otherRoot = heads.find((h) => h.size !== head.size)!.root;
            assert.ok(!verifyInclusion(leaf, index, head.size, path, otherRoot), `wrong root for ${index}`);
            const flippedRoot = Buffer.from(head.root);
            flippedRoot[0]! ^= 1;
            assert.ok(!verifyInclusion(leaf, index, head.size, path, flippedRoot));
            assert.ok(!verifyInclusion(expected[(index + 1) % expected.length]!, index, head.size, path, head.root), 'another leaf');
          }
        }
      });

      test('without tree_size, proofs are against the latest signed head', async (t) => {
        const { get, proof, traffic } = await world(t, dialect, { audit: { headIntervalMs: 0 } });
        await traffic();
        const head = await verifiedHead(get);
        for (const index of [0, Math.floor(head.size / 2), head.size - 1]) {
          const body = (await proof(`/v1/audit/inclusion?leaf_index=${index}`)).json();
          assert.equal(body.tree_size, head.size);
          assert.ok(verifyInclusion(Buffer.from(body.leaf_hash, 'base64'), index, head.size, hashes(body.audit_path), head.root));
        }
      });

      test('leaf_index at or past tree_size is 400 leaf_index_out_of_range', async (t) => {
        const { get, proof, traffic, store } = await world(t, dialect, { audit: { headIntervalMs: 0 } });
        await traffic();
        const head = await verifiedHead(get);
        assertError(await proof(`/v1/audit/inclusion?leaf_index=${head.size}`), 400, 'leaf_index_out_of_range');
        assertError(await proof(`/v1/audit/inclusion?leaf_index=${head.size + 100}`), 400, 'leaf_index_out_of_range');
        const older = (await store.audit.heads())[1]!.size;
        assertError(await proof(`/v1/audit/inclusion?leaf_index=${older}&tree_size=${older}`), 400, 'leaf_index_out_of_range');
        assertError(await proof(`/v1/audit/inclusion?leaf_index=${older + 4}&tree_size=${older}`), 400, 'leaf_index_out_of_range');
        assert.equal((await proof(`/v1/audit/inclusion?leaf_index=${older - 1}&tree_size=${older}`)).statusCode, 200);
      });
    });

    describe('GET /v1/audit/consistency', () => {
      test.both('JSON and blob columns', 'every pair of kept heads, from = 0 and from = to included, is proven consistent', async (t) => {
        const { get, proof, traffic, store } = await world(t, dialect, { audit: { headIntervalMs: 0 } });
        await traffic();
        await verifiedHead(get);
        const { key } = await publishedKey(get);
        // The empty tree is the head of size 0 every log starts from.
        const heads = [{ size: 0, root: EMPTY_TREE_HASH }, ...await store.audit.heads()];
        for (const head of heads.slice(1)) assert.ok(verifyTreeHead(head as TreeHead, key));
        let checked = 0;
        for (const older of heads) {
          for (const newer of heads) {
            if (older.size > newer.size) continue;
            const response = await get(`/v1/audit/consistency?from=${older.size}&to=${newer.size}`);
            assert.equal(response.statusCode, 200, response.body);
            const body = response.json();
            assert.deepEqual(Object.keys(body).sort(), ['from', 'proof', 'to']);
            assert.deepEqual([body.from, body.to], [older.size, newer.size]);
            const proof = hashes(body.proof);
            if (older.size === 0 || older.size === newer.size) assert.deepEqual(proof, []);
            assert.ok(verifyConsistency(older.size, newer.size, older.root, newer.root, proof), `${older.size} → ${newer.size}`);
            if (older.size > 0 && older.size < newer.size) {
              // Bound to the pair: a wrong old root, or the proof offered for other sizes, fails.
              const flipped = Buffer.from(older.root);
              flipped[31]! ^= 0x80;
              assert.ok(!verifyConsistency(older.size, newer.size, flipped, newer.root, proof));
              assert.ok(!verifyConsistency(older.size, newer.size, older.root, flipped, proof));
              if (older.size > 1) assert.ok(!verifyConsistency(older.size - 1, newer.size, older.root, newer.root, proof));
            }
            checked++;
          }
        }
        assert.ok(checked >= 20, `${checked} pairs`);
      });

      test('from larger than to is 400 invalid_parameter', async (t) => {
        const { get, proof, traffic } = await world(t, dialect, { audit: { headIntervalMs: 0 } });
        await traffic();
        assertError(await get('/v1/audit/consistency?from=3&to=2'), 400, 'invalid_parameter');
      });
    });

    describe('sizes the server has not signed', () => {
      test('with the heads behind the log, a size above the latest signed head is 400 tree_size_not_signed', async (t) => {
        // The first batch signs a head at once; within the hour the later ones wait for the timer.
        const { get, proof, traffic, store } = await world(t, dialect, { audit: { headIntervalMs: 3_600_000 } });
        await traffic();
        const head = await verifiedHead(get);
        const size = await store.audit.treeSize();
        assert.ok(head.size >= 1 && head.size < size, `head ${head.size}, log ${size}`);
        for (const url of [
          `/v1/audit/inclusion?leaf_index=0&tree_size=${head.size + 1}`,
          `/v1/audit/inclusion?leaf_index=0&tree_size=${size}`,
          `/v1/audit/consistency?from=0&to=${head.size + 1}`,
          `/v1/audit/consistency?from=${head.size}&to=${size}`,
          `/v1/audit/consistency?from=${size}&to=${size}`,
        ]) assertError(await proof(url), 400, 'tree_size_not_signed');
        // Below the latest head, only the sizes a head signed (the README says so; issue 11, point 6).
        const signed = new Set((await store.audit.heads()).map((h) => h.size));
        const unsigned = Array.from({ length: head.size }, (_, i) => i + 1).find((n) => !signed.has(n));
        if (unsigned !== undefined) {
          assertError(await proof(`/v1/audit/inclusion?leaf_index=0&tree_size=${unsigned}`), 400, 'tree_size_not_signed');
          assertError(await get(`/v1/audit/consistency?from=${unsigned}&to=${head.size}`), 400, 'tree_size_not_signed');
        }
        // An entry past the head is not provable yet: against the default size, it is out of range.
        assertError(await proof(`/v1/audit/inclusion?leaf_index=${head.size}`), 400, 'leaf_index_out_of_range');
        const body = (await proof(`/v1/audit/inclusion?leaf_index=${head.size - 1}&tree_size=${head.size}`)).json();
        assert.ok(verifyInclusion(Buffer.from(body.leaf_hash, 'base64'), head.size - 1, head.size, hashes(body.audit_path), head.root));
      });

      test('a size past the end of the log is 400 tree_size_not_signed', async (t) => {
        const { get, proof, traffic } = await world(t, dialect, { audit: { headIntervalMs: 0 } });
        await traffic();
        const head = await verifiedHead(get);
        assertError(await proof(`/v1/audit/inclusion?leaf_index=0&tree_size=${head.size + 1}`), 400, 'tree_size_not_signed');
        assertError(await get(`/v1/audit/consistency?from=1&to=${head.size + 1}`), 400, 'tree_size_not_signed');
        assertError(await get(`/v1/audit/consistency?from=0&to=${Number.MAX_SAFE_INTEGER}`), 400, 'tree_size_not_signed');
      });

      test('a size between two heads that no head signed is 400 tree_size_not_signed (issue 11, point 6)', async (t) => {
        const { get, proof, traffic, store } = await world(t, dialect, { audit: { headIntervalMs: 0 } });
        await traffic();
        const head = await verifiedHead(get);
        const signed = new Set((await store.audit.heads()).map((h) => h.size));
        const unsigned = Array.from({ length: head.size }, (_, i) => i + 1).filter((n) => !signed.has(n));
        assert.ok(unsigned.length > 0, 'concurrent requests shared a batch, so some sizes were never signed');
        for (const size of unsigned) {
          assertError(await proof(`/v1/audit/inclusion?leaf_index=0&tree_size=${size}`), 400, 'tree_size_not_signed');
          assertError(await get(`/v1/audit/consistency?from=${size}&to=${head.size}`), 400, 'tree_size_not_signed');
          assertError(await get(`/v1/audit/consistency?from=0&to=${size}`), 400, 'tree_size_not_signed');
        }
      });
    });

    describe('malformed queries', () => {
      test('negative, text, fractional, empty, repeated, too large, missing and unknown parameters are 400 invalid_parameter', async (t) => {
        const { get, proof, traffic } = await world(t, dialect, { audit: { headIntervalMs: 0 } });
        await traffic();
        const bad = [
          '/v1/audit/consistency?from=-1&to=2',
          '/v1/audit/consistency?from=1&to=-2',
          '/v1/audit/consistency?from=one&to=2',
          '/v1/audit/consistency?from=1&to=two',
          '/v1/audit/consistency?from=1.5&to=2',
          '/v1/audit/consistency?from=&to=2',
          '/v1/audit/consistency?from=1&from=2&to=3',
          '/v1/audit/consistency?from=1&to=9007199254740992',
          '/v1/audit/consistency?from=1',
          '/v1/audit/consistency?to=2',
          '/v1/audit/consistency',
          '/v1/audit/consistency?from=1&to=2&extra=1',
          '/v1/audit/consistency?from=1&to=2&leaf_index=0',
          '/v1/audit/inclusion?leaf_index=-1',
          '/v1/audit/inclusion?leaf_index=zero',
          '/v1/audit/inclusion?leaf_index=0.5',
          '/v1/audit/inclusion?leaf_index=',
          // What Number() would read as a number: hexadecimal, exponents, signs, spaces, and the
          // infinities, which the query validator alone lets through (Ajv skips integer and maximum
          // checks for a non-finite number).
          '/v1/audit/inclusion?leaf_index=1e400',
          '/v1/audit/inclusion?leaf_index=Infinity',
          '/v1/audit/inclusion?leaf_index=0&tree_size=Infinity',
          '/v1/audit/consistency?from=0&to=1e400',
          '/v1/audit/consistency?from=Infinity&to=Infinity',
          '/v1/audit/inclusion?leaf_index=0x1',
          '/v1/audit/inclusion?leaf_index=1e0',
          '/v1/audit/inclusion?leaf_index=%2B1',
          '/v1/audit/inclusion?leaf_index=%201',
          '/v1/audit/consistency?from=1&to=2%20',
          '/v1/audit/inclusion?leaf_index=0&tree_size=-3',
          '/v1/audit/inclusion?leaf_index=0&tree_size=big',
          '/v1/audit/inclusion?leaf_index=0&tree_size=0',
          '/v1/audit/inclusion?leaf_index=0&tree_size=',
          '/v1/audit/inclusion?leaf_index=9007199254740992',
          '/v1/audit/inclusion',
          '/v1/audit/inclusion?tree_size=3',
          '/v1/audit/inclusion?leaf_index=0&from=1',
          '/v1/audit/inclusion?leaf_index=0&proof=true',
          '/v1/audit/tree-head?tree_size=3',
          '/v1/audit/public-key?format=der',
        ];
        for (const url of bad) assertError(await proof(url), 400, 'invalid_parameter', url);
        // Leading zeros are still decimal digits.
        assert.equal((await get('/v1/audit/consistency?from=00&to=000')).statusCode, 200);
      });
    });

    describe('what the public endpoints reveal', () => {
      test('hashes, sizes and signatures only: no member id, request id, app or partner from an entry appears anywhere', async (t) => {
        const { get, proof, traffic, store, requestIds } = await world(t, dialect, { audit: { headIntervalMs: 0 } });
        await traffic();
        const entries = (await store.audit.hashedEntries(0, 10_000)).map(({ entry }) => entry);
        const secrets = new Set<string>([...MEMBERS, ...requestIds]);
        for (const e of entries) {
          for (const value of [e.requestId, e.tokenMemberId, e.subjectMemberId, e.appId, e.partnerId, e.agreementId]) {
            if (value) secrets.add(value);
          }
        }
        // The check is only worth something if the log holds what it must not reveal.
        for (const member of MEMBERS) assert.ok(entries.some((e) => e.subjectMemberId === member || e.tokenMemberId === member), member);
        assert.ok(requestIds.every((id) => entries.some((e) => e.requestId === id)), 'every Graph request is in the log');

        const head = await verifiedHead(get);
        const urls = ['/v1/audit/public-key', '/v1/audit/tree-head', '/v1/audit/consistency?from=1&to=1'];
        for (let i = 0; i < head.size; i++) urls.push(`/v1/audit/inclusion?leaf_index=${i}`);
        for (const h of await store.audit.heads()) urls.push(`/v1/audit/consistency?from=${h.size}&to=${head.size}`, `/v1/audit/inclusion?leaf_index=0&tree_size=${h.size}`);
        urls.push('/v1/audit/inclusion?leaf_index=99999', `/v1/audit/consistency?from=0&to=${head.size + 1}`, '/v1/audit/inclusion?leaf_index=m_alice');
        for (const url of urls) {
          const response = await get(url);
          assert.ok(response.statusCode < 500, `${url}: ${response.body}`);
          const own = String(response.headers['x-request-id']);
          const { 'x-request-id': _ownId, date: _date, ...headers } = response.headers;
          const seen = `${response.body}\n${JSON.stringify(headers)}`;
          for (const secret of secrets) {
            if (secret === own) continue;
            // A query value echoed in a validation message is the client's own text, not the log's.
            if (url.includes(secret)) continue;
            assert.ok(!seen.includes(secret), `${url} reveals ${secret}`);
          }
        }
      });
    });
  });
}
