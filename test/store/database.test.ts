/**
 * The database itself (issue 6): which one the configuration opens, migrations on both dialects
 * (SQLite's DDL unchanged for existing files; PostgreSQL's own column types; 0009's backfill and
 * 0011's indexes), and the PostgreSQL database Datapact refuses. The PostgreSQL half of the whole
 * suite runs only with a server: the one test below says so, once, when it is skipped.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test, type TestContext } from 'node:test';
import { Migrator, sql } from 'kysely';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { encodeEntry } from '../../src/audit/canonical-entry.js';
import { leafHash } from '../../src/audit/merkle-hash.js';
import { MemorySubtreeStore, appendLeavesSync, rootHashPlan, rootHashSync } from '../../src/audit/merkle-tree.js';
import { openStore } from '../../src/cli/open-store.js';
import { loadConfig } from '../../src/config.js';
import { maskOf } from '../../src/domain/field-catalog.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import { agreementToRow } from '../../src/store/agreement-repository.js';
import { ENTRY_COLUMNS, pushEntryColumns } from '../../src/store/audit-rows.js';
import { describeLocation, migrateToLatest, openSqlite, type Db } from '../../src/store/database.js';
import { auditFieldUses } from '../../src/store/migrations/0032-audit-field-uses.js';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { createStore } from '../../src/store/store.js';
import { adminPool, DIALECTS, emptyPostgresDatabase, POSTGRES_SERVER_URL, postgresUrl, testDatabase, type Dialect } from '../helpers/dialects.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

test('the PostgreSQL half of the suite', {
  skip: POSTGRES_SERVER_URL === undefined
    && 'PostgreSQL half SKIPPED: no server (DATAPACT_TEST_DATABASE_URL is unset; with PostgreSQL installed, npm test starts one); only SQLite was tested',
}, async () => {
  const { rows } = await adminPool().query<{ version: string }>('select version()');
  assert.match(rows[0]!.version, /PostgreSQL/);
});

describe('configuration', () => {
  test('DATAPACT_DATABASE_URL wins over the SQLite file; anything but a postgres:// URL is refused', () => {
    const url = 'postgres://datapact:secret@db.example:5432/datapact';
    assert.equal(loadConfig({ DATAPACT_DATABASE_URL: url, DATAPACT_DATABASE: '/data/x.db' }).database, url);
    assert.equal(loadConfig({ DATAPACT_DATABASE: '/data/x.db' }).database, '/data/x.db');
    assert.equal(loadConfig({ DATAPACT_DATABASE_URL: '', DATAPACT_DATA_DIR: '/data' }).database, '/data/datapact.db');
    assert.throws(() => loadConfig({ DATAPACT_DATABASE_URL: 'mysql://u:hunter2@h/d' }), (error: Error) =>
      /DATAPACT_DATABASE_URL must be a PostgreSQL URL/.test(error.message) && !error.message.includes('hunter2'));
    assert.equal(describeLocation(url), 'postgres://datapact:***@db.example:5432/datapact');
    assert.equal(describeLocation('/data/x.db'), '/data/x.db');
  });
});

describe('SQLite schema', () => {
  test('migrations 0001 to 0011 still write exactly the DDL that existing SQLite files were created with', async (t) => {
    const db = openSqlite(':memory:');
    t.after(() => db.destroy());
    await migrateTo(db, '0011-lean-audit-indexes');
    const { rows } = await sql<Record<string, string | null>>`select type, name, tbl_name, sql from sqlite_master
      where tbl_name not like 'kysely_%' order by type, name`.execute(db);
    const ddl = rows.map((row) => JSON.stringify(row)).join('\n');
    assert.equal(createHash('sha256').update(ddl).digest('hex'), SQLITE_DDL_SHA256, ddl);
  });
});

describe('SQLite schema of the lean audit log', () => {
  test('migration 0020 writes exactly the DDL of audit_requests, audit_leaves, audit_field_sets and the audit_log view', async (t) => {
    const db = openSqlite(':memory:');
    t.after(() => db.destroy());
    await migrateTo(db, '0020-lean-audit-log');
    const { rows } = await sql<Record<string, string | null>>`select type, name, tbl_name, sql from sqlite_master
      where tbl_name in ('audit_requests', 'audit_leaves', 'audit_field_sets', 'audit_log') order by type, name`.execute(db);
    const ddl = rows.map((row) => JSON.stringify(row)).join('\n');
    assert.equal(createHash('sha256').update(ddl).digest('hex'), LEAN_AUDIT_DDL_SHA256, ddl);
  });
});

describe('SQLite schema of the audit search by member', () => {
  test('migration 0030 adds exactly the partial index of requests by token member', async (t) => {
    const db = openSqlite(':memory:');
    t.after(() => db.destroy());
    await migrateTo(db, '0030-audit-member-index');
    const { rows } = await sql<{ sql: string }>`select sql from sqlite_master where name = 'audit_requests_token_member'`.execute(db);
    assert.deepEqual(rows.map((row) => row.sql), [
      'CREATE INDEX "audit_requests_token_member" on "audit_requests" ("token_member_id", "first_seq") where "token_member_id" is not null',
    ]);
  });
});

describe('SQLite schema of the partitioned index of leaves by subject', () => {
  test('migration 0035 replaces the leaves\' (subject, seq) index with one partitioned by seq / 65536', async (t) => {
    const db = openSqlite(':memory:');
    t.after(() => db.destroy());
    await migrateTo(db, '0035-partitioned-subject-index');
    const { rows } = await sql<{ sql: string }>`select sql from sqlite_master where type = 'index' and tbl_name = 'audit_leaves' order by name`.execute(db);
    assert.deepEqual(rows.map((row) => row.sql), [
      'CREATE INDEX "audit_leaves_actor" on "audit_leaves" ("actor") where "actor" is not null',
      'CREATE INDEX "audit_leaves_subject_partition" on "audit_leaves" (("seq" / 65536), "subject_member_id", "seq") where "subject_member_id" is not null',
    ]);
  });
});

describe('SQLite schema of the requests\' instants by partition', () => {
  test('migration 0041 adds exactly the index of the requests\' instants partitioned by first_seq / 65536', async (t) => {
    const db = openSqlite(':memory:');
    t.after(() => db.destroy());
    await migrateTo(db, '0041-request-time-partitions');
    const { rows } = await sql<{ sql: string }>`select sql from sqlite_master where name = 'audit_requests_at_partition'`.execute(db);
    assert.deepEqual(rows.map((row) => row.sql), ['CREATE INDEX "audit_requests_at_partition" on "audit_requests" (("first_seq" / 65536), "at")']);
  });
});

describe('SQLite schema of the least-privilege uses', () => {
  test('migration 0032 adds exactly the table audit_field_uses, clustered on its key', async (t) => {
    const db = openSqlite(':memory:');
    t.after(() => db.destroy());
    await migrateTo(db, '0032-audit-field-uses');
    const { rows } = await sql<{ type: string; sql: string | null }>`select type, sql from sqlite_master where tbl_name = 'audit_field_uses'`.execute(db);
    assert.deepEqual(rows, [{
      type: 'table',
      sql: 'CREATE TABLE "audit_field_uses" ("month" text not null, "agreement_id" text not null, "app_id" text not null, "purpose" text not null, '
        + '"field" text not null, "how" text not null, "first_at" integer not null, "last_at" integer not null, constraint "audit_field_uses_pk" '
        + 'primary key ("month", "agreement_id", "app_id", "purpose", "field", "how")) without rowid',
    }]);
  });
});

describe('SQLite schema of the member sets\' deltas', () => {
  test('migration 0036 adds exactly the table member_set_deltas, a rowid journal, and its index by set', async (t) => {
    const db = openSqlite(':memory:');
    t.after(() => db.destroy());
    await migrateTo(db, '0036-member-set-deltas');
    const { rows } = await sql<{ type: string; sql: string | null }>`select type, sql from sqlite_master where tbl_name = 'member_set_deltas'`.execute(db);
    assert.deepEqual(rows, [
      { type: 'table', sql: 'CREATE TABLE "member_set_deltas" ("id" integer primary key, "kind" text not null, "period" text not null, "set_key" text not null, "members" blob not null)' },
      { type: 'index', sql: 'CREATE INDEX "member_set_deltas_set" on "member_set_deltas" ("kind", "period", "set_key")' },
    ]);
  });
});

describe('SQLite schema of the members\' numbers', () => {
  test('migration 0037 adds exactly the column members.number, and the trigger that numbers a member copies the number onto its row', async (t) => {
    const db = openSqlite(':memory:');
    t.after(() => db.destroy());
    await migrateTo(db, '0037-member-numbers-on-members');
    const { rows } = await sql<{ type: string; sql: string | null }>`select type, sql from sqlite_master where tbl_name = 'members' order by type, name`.execute(db);
    assert.deepEqual(rows, [
      { type: 'index', sql: null },
      {
        type: 'table',
        sql: 'CREATE TABLE "members" ("id" text primary key, "platform_enabled" integer default 1 not null, "share_via_friends" integer default 0 not null, '
          + '"created_at" text not null, "number" integer)',
      },
      {
        type: 'trigger',
        sql: 'CREATE TRIGGER members_numbered after insert on members begin insert or ignore into member_numbers (member_id) values (new.id); '
          + 'update members set number = (select number from member_numbers where member_id = new.id) where id = new.id; end',
      },
    ]);
  });
});

/** sha256 of migration 0020's rows of sqlite_master: a later change to them is a new migration. */
const LEAN_AUDIT_DDL_SHA256 = '9e285bfdf5d61509b3de60beacf54c0f2a7b8950c2bec456e1c86d87ed9459ea';

/** sha256 of the rows above as migrations 0001–0011 left them before PostgreSQL support. */
const SQLITE_DDL_SHA256 = '1323913813c7a4164409f01dac86077776f8b50ea479d2341ff6f434ed4dfbd9';

for (const dialect of DIALECTS) {
  describe(`migrations on ${dialect}`, () => {
    test('0009 hashes the entries written before it into the tree, in seq order', async (t) => {
      const db = await emptyDatabase(t, dialect);
      await migrateTo(db, '0008-access-history-index');
      const entries = Array.from({ length: 37 }, (_, i) => oldEntry(i));
      for (const [i, entry] of entries.entries()) {
        const values: unknown[] = [];
        pushEntryColumns(values, entry);
        // The columns 0014 added come last: a row as 0008's table had it is the ones before them.
        const columns = ENTRY_COLUMNS.slice(0, ENTRY_COLUMNS.indexOf('format'));
        await db.insertInto('audit_entries').values({ seq: i + 1, ...Object.fromEntries(columns.map((c, k) => [c, values[k]])) } as never).execute();
      }
      await migrateToLatest(db);
      const store = createStore(db);
      const hashes = entries.map((entry) => leafHash(encodeEntry(entry)));
      assert.deepEqual((await store.audit.hashedEntries(0, 100)).map((s) => s.leafHash), hashes);
      const tree = new MemorySubtreeStore();
      tree.put(appendLeavesSync(tree, 0, hashes).writes);
      for (const size of [1, 16, 37]) assert.deepEqual(await store.audit.run(rootHashPlan(size)), rootHashSync(tree, size));
    });

    test('0037 copies each member\'s number onto its row, and a member inserted later gets the number member_numbers gives it', async (t) => {
      const db = await emptyDatabase(t, dialect);
      await migrateTo(db, '0036-member-set-deltas');
      const member = (id: string) => ({ id, platform_enabled: 1, share_via_friends: 0, created_at: '2026-06-01T00:00:00.000Z' });
      await db.insertInto('members').values(['m2', 'm1'].map(member) as never).execute();
      await db.insertInto('member_numbers').values({ member_id: 'gone' }).execute();
      await migrateToLatest(db);
      await db.insertInto('members').values(member('m3')).execute();
      const rows = await db.selectFrom('members').innerJoin('member_numbers as n', 'n.member_id', 'members.id')
        .select(['id', 'members.number as onRow', 'n.number as numbered']).orderBy('id').execute();
      assert.deepEqual(rows.map((row) => [row.id, Number(row.onRow), Number(row.numbered)]), [['m1', 2, 2], ['m2', 1, 1], ['m3', 4, 4]]);
    });

    test('0016 recomputes the two-person flag of agreements written before it (the demo world\'s all said 0)', async (t) => {
      const db = await emptyDatabase(t, dialect);
      await migrateTo(db, '0013-rate-limit-counters');
      const at = Date.parse('2026-06-01T00:00:00Z');
      const sketches = [
        { key: 'flagged', riskFlags: ['state_influence'], memberFields: ['name'], friendFields: [] },
        { key: 'friends', riskFlags: [], memberFields: ['name', 'friends'], friendFields: ['name'] },
        { key: 'sensitive', riskFlags: [], memberFields: ['name', 'religion'], friendFields: [] },
        { key: 'plain', riskFlags: [], memberFields: ['name', 'email'], friendFields: [] },
      ] as const;
      for (const sketch of sketches) {
        // The partners table as 0013 left it (no privacy_policy_url yet).
        await db.insertInto('partners').values({
          id: `p_${sketch.key}`, legal_name: sketch.key, country: 'GB', kind: 'device_maker', risk_flags: JSON.stringify(sketch.riskFlags),
          storage_location: 'on_device', storage_country: null, contacts: '[]', webhook_url: null, created_at: new Date(at).toISOString(),
        } as never).execute();
        const { approved_by: _new, storage_safeguard: _later, ...row } = agreementToRow({
          id: `agr_${sketch.key}`, version: 1, partnerId: `p_${sketch.key}`, status: 'active', statusReason: null, purposes: ['login'],
          memberFields: maskOf(sketch.memberFields), friendFields: maskOf(sketch.friendFields), retentionDays: 30,
          storage: { location: 'on_device' }, startsAt: at, endsAt: at + 1e10, certificationDueAt: at + 1e10, windDown: null, appIds: [],
        }, at, at);
        await db.insertInto('agreements').values(row as never).execute();
      }
      await migrateToLatest(db);
      const flags = await db.selectFrom('agreements').select(['id', 'needs_two_approvals', 'approved_by']).orderBy('id').execute();
      assert.deepEqual(flags.map((r) => [r.id, Number(r.needs_two_approvals), r.approved_by]), [
        ['agr_flagged', 1, '[]'], ['agr_friends', 1, '[]'], ['agr_plain', 0, '[]'], ['agr_sensitive', 1, '[]'],
      ]);
    });

    test('0032 fills audit_field_uses from the entries logged before it, exactly as the appenders keep it', async (t) => {
      const db = await emptyDatabase(t, dialect);
      await migrateToLatest(db);
      const friendOf = (i: number): AuditEntry => ({ ...oldEntry(i), subjectMemberId: 'm9', released: ['id', 'birthday'], purpose: 'messaging' });
      await createStore(db).audit.append([...Array.from({ length: 12 }, (_, i) => oldEntry(i)), friendOf(20), friendOf(40)]);
      const uses = () => db.selectFrom('audit_field_uses').selectAll()
        .orderBy(['month', 'agreement_id', 'app_id', 'purpose', 'field', 'how']).execute()
        .then((rows) => rows.map((row) => ({ ...row, first_at: Number(row.first_at), last_at: Number(row.last_at) })));
      const kept = await uses();
      assert.deepEqual(kept.map((row) => `${row.purpose} ${row.field} ${row.how}`),
        ['device_experience id d', 'device_experience id f', 'device_experience name d', 'device_experience name f', 'messaging birthday f', 'messaging id f']);
      await auditFieldUses.down!(db);
      await auditFieldUses.up(db);
      assert.deepEqual(await uses(), kept);
    });

    test('0011 leaves the subject index to the (subject, seq) one and makes the actor index partial', async (t) => {
      const { db } = await testDatabase(t, dialect);
      const indexes = new Map((await auditIndexes(db, dialect)).map((row) => [row.name, row.definition]));
      assert.ok(!indexes.has('audit_entries_subject'));
      assert.ok(indexes.has('audit_entries_subject_seq'));
      assert.match(indexes.get('audit_entries_actor') ?? '', /where \(?"?actor"? is not null/i);
    });
  });
}

if (DIALECTS.includes('postgres')) {
  describe('PostgreSQL', () => {
    test('migrations give it bytea hashes and bigint sequence, sizes, indexes and timestamps', async (t) => {
      const { db } = await testDatabase(t, 'postgres');
      const { rows } = await sql<{ column: string; type: string }>`select table_name || '.' || column_name as column, data_type as type
        from information_schema.columns where table_schema = current_schema() and table_name like 'audit_%' order by 1`.execute(db);
      const types = Object.fromEntries(rows.map((row) => [row.column, row.type]));
      for (const column of ['audit_entries.leaf_hash', 'audit_nodes.hash', 'audit_heads.root_hash', 'audit_heads.signature', 'audit_heads.checkpoint_signature', 'audit_cosignatures.root_hash']) {
        assert.equal(types[column], 'bytea', column);
      }
      for (const column of ['audit_entries.seq', 'audit_nodes.idx', 'audit_heads.tree_size', 'audit_heads.timestamp', 'audit_cosignatures.tree_size', 'audit_cosignatures.cosigned_at']) {
        assert.equal(types[column], 'bigint', column);
      }
      const seq = await sql<{ d: string | null }>`select column_default as d from information_schema.columns
        where table_name = 'audit_entries' and column_name = 'seq'`.execute(db);
      assert.equal(seq.rows[0]?.d, null, 'no sequence: the appender assigns seq under the lock');
    });

    test('a database whose collation is not C is refused at start, saying how to make one that is', async (t) => {
      for (const [name, options] of [
        [`datapact_icu_${process.pid}`, `locale_provider icu icu_locale 'en-US' locale 'C'`],
        [`datapact_cutf8_${process.pid}`, `locale 'C.UTF-8'`],
      ] as const) {
        await adminPool().query(`create database "${name}" template template0 encoding 'UTF8' ${options}`);
        t.after(() => adminPool().query(`drop database if exists "${name}" with (force)`));
        await assert.rejects(openStore(postgresUrl(name)), (error: Error) =>
          /sorts text by the collation "(ICU en-US|C\.UTF-8)"; Datapact needs "C"/.test(error.message) && /LOCALE 'C'/.test(error.message));
      }
    });
  });
}

async function migrateTo(db: Db, name: string): Promise<void> {
  const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo(name);
  if (error) throw error;
}

async function emptyDatabase(t: TestContext, dialect: Dialect): Promise<Db> {
  if (dialect === 'postgres') return (await emptyPostgresDatabase(t)).db;
  const db = openSqlite(':memory:');
  t.after(() => db.destroy());
  return db;
}

function oldEntry(i: number): AuditEntry {
  return {
    at: NOW + i * 1000, requestId: `old-${i}`, appId: 'app', partnerId: 'p', agreementId: 'agr', agreementVersion: 1,
    rulesVersion: RULES_VERSION, tokenMemberId: 'm1', subjectMemberId: `m${i % 5}`, purpose: 'device_experience',
    outcome: i % 3 === 0 ? 'withheld' : 'released', code: null, released: ['id', 'name'], withheld: i % 2 ? { email: 'sensitive_field' } : {},
    ...(i === 5 ? { outcome: 'staff_action', actor: 'st_1', action: 'partner.update', detail: { z: 1, a: [2] } } : {}),
  };
}

async function auditIndexes(db: Db, dialect: Dialect) {
  const query = dialect === 'postgres'
    ? sql<{ name: string; definition: string }>`select indexname as name, indexdef as definition from pg_indexes where tablename = 'audit_entries'`
    : sql<{ name: string; definition: string }>`select name, coalesce(sql, '') as definition from sqlite_master where type = 'index' and tbl_name = 'audit_entries'`;
  return (await query.execute(db)).rows;
}
