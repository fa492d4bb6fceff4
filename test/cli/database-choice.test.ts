/**
 * Issue 13, point 5: a CLI that never guesses which database it works on. A mistyped path is
 * refused (nothing is created), another program's SQLite file is refused untouched, a database from
 * a newer version is named as such, commands that read open the database read-only (a WAL database
 * on read-only storage included) and every command says which database it used. Point 4's start
 * check: `serve` refuses a damaged SQLite file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { Migrator } from 'kysely';
import { AuditLog } from '../../src/audit/audit-log.js';
import { loadOrCreateAuditBlinding } from '../../src/audit/blinding.js';
import { loadOrCreateAuditSigningKey } from '../../src/audit/signing-key.js';
import { RULES_VERSION } from '../../src/domain/reason-codes.js';
import { migrateToLatest, openSqlite } from '../../src/store/database.js';
import { MIGRATION_NAMES, migrationProvider } from '../../src/store/migrations/index.js';

const folder = mkdtempSync(join(tmpdir(), 'datapact-choice-'));
after(() => rmSync(folder, { recursive: true, force: true }));
const NOW = Date.parse('2026-06-01T00:00:00Z');
const good = join(folder, 'good.db');

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `uid`: run as that user (root ignores file permissions, so read-only storage is tested as nobody). */
function datapact(args: readonly string[], uid?: number): Run {
  const result = spawnSync(process.execPath, ['bin/datapact.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, DATAPACT_DATABASE_URL: '', DATAPACT_DATABASE: '', DATAPACT_DATA_DIR: folder },
    ...(uid === undefined ? {} : { uid, gid: uid }),
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function refused(run: Run, message: RegExp, what: string): void {
  assert.notEqual(run.status, 0, `${what}: ${run.stdout}`);
  assert.match(run.stderr, message, what);
}

function tablesOf(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare("select name from sqlite_master where type = 'table' order by name").all() as { name: string }[]).map((row) => row.name);
  } finally {
    db.close();
  }
}

/** A Datapact database with a signed audit log of 3 entries, closed cleanly (no -wal left), in WAL mode. */
before(async () => {
  const db = openSqlite(good);
  await migrateToLatest(db);
  const log = new AuditLog({ db, clock: () => NOW, signingKey: loadOrCreateAuditSigningKey(folder), blinding: loadOrCreateAuditBlinding(folder), headIntervalMs: 0 });
  await log.append([1, 2, 3].map((i) => ({
    at: NOW + i, requestId: `req-${i}`, appId: 'app', partnerId: 'p_1', agreementId: 'agr', agreementVersion: 1, rulesVersion: RULES_VERSION,
    tokenMemberId: 'm1', subjectMemberId: 'm1', purpose: 'device_experience', outcome: 'released', code: null, released: ['id'], withheld: {},
  })));
  await log.close();
  await db.destroy();
});

const READERS: readonly (readonly string[])[] = [
  ['staff', 'list'], ['report', 'inventory'], ['demo-credentials', 'check'], ['audit', 'verify'], ['audit', 'export'],
];
const WRITERS: readonly (readonly string[])[] = [['tick'], ['demo-credentials', 'remove']];

describe('which database', () => {
  test('a mistyped path: every command that does not create a database refuses it, and nothing is created', () => {
    const typo = join(folder, 'data', 'datapcat.db');
    for (const command of [...READERS, ...WRITERS]) {
      refused(datapact([...command, '--database', typo]), /no database at .*datapcat\.db/, command.join(' '));
    }
    refused(datapact(['tokens', 'issue', '--member', 'm', '--app', 'a', '--purpose', 'login', '--fields', 'id', '--database', typo]),
      /no database at .*datapcat\.db; this command does not create one/, 'tokens issue');
    assert.equal(existsSync(typo), false);
  });

  test('another program\'s SQLite file: refused by every command, serve and migrate included, and left as it was', () => {
    const other = join(folder, 'notes.db');
    const db = new Database(other);
    db.exec("create table notes (id integer primary key, body text); insert into notes (body) values ('keep me')");
    db.close();
    const before = readFileSync(other);
    for (const command of [...READERS, ...WRITERS, ['migrate'], ['staff', 'add', '--email', 'a@b.example', '--name', 'A', '--role', 'admin']]) {
      refused(datapact([...command, '--database', other]), /is not a Datapact database: it has tables of another program \(notes\)/, command.join(' '));
    }
    const serve = spawnSync(process.execPath, ['bin/datapact.js', 'serve', '--port', '0'], {
      encoding: 'utf8', env: { ...process.env, DATAPACT_DATABASE_URL: '', DATAPACT_DATABASE: other, DATAPACT_DATA_DIR: folder },
    });
    refused(serve, /is not a Datapact database/, 'serve');
    assert.deepEqual(tablesOf(other), ['notes']);
    assert.ok(readFileSync(other).equals(before), 'not a byte changed (its journal mode neither)');
  });

  test('a database from a newer version is named as such, by readers and writers, and left as it was', () => {
    const newer = join(folder, 'newer.db');
    copyFileSync(good, newer);
    const db = new Database(newer);
    db.prepare("insert into kysely_migration (name, timestamp) values ('0999-from-the-future', '2030-01-01T00:00:00.000Z')").run();
    db.close();
    for (const command of [...READERS, ...WRITERS, ['migrate']]) {
      refused(datapact([...command, '--database', newer]),
        /schema is newer than this version of Datapact: it has migrations this version does not know \(0999-from-the-future\)/, command.join(' '));
    }
  });

  test('an older database: readers refuse it (and name `datapact migrate`), which brings it up to date', async () => {
    const older = join(folder, 'older.db');
    copyFileSync(good, older);
    // As a database left by the version before the latest migration: that migration undone.
    const db = openSqlite(older);
    const { error } = await new Migrator({ db, provider: migrationProvider }).migrateDown();
    await db.destroy();
    assert.equal(error, undefined);
    const latest = MIGRATION_NAMES.at(-1)!;
    for (const command of READERS) {
      refused(datapact([...command, '--database', older]), new RegExp(`older than this version .*missing migrations: ${latest}.*datapact migrate`), command.join(' '));
    }
    const migrated = datapact(['migrate', '--database', older]);
    assert.equal(migrated.status, 0, migrated.stderr);
    assert.equal(datapact(['audit', 'verify', '--database', older]).status, 0);
  });

  test('an empty file is not a Datapact database for commands that do not create one', () => {
    const empty = join(folder, 'empty.db');
    closeSync(openSync(empty, 'w'));
    for (const command of [...READERS, ...WRITERS]) refused(datapact([...command, '--database', empty]), /not a Datapact database: it is empty/, command.join(' '));
    assert.equal(statSync(empty).size, 0);
  });

  test('each command says which database it used, on stderr; readers say read-only', () => {
    const listed = datapact(['staff', 'list', '--database', good]);
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stderr, new RegExp(`^Database: ${good.replace(/[.]/g, '\\.')} \\(read-only\\)$`, 'm'));
    const ticked = datapact(['tick', '--database', good]);
    assert.equal(ticked.status, 0, ticked.stderr);
    assert.match(ticked.stderr, new RegExp(`^Database: ${good.replace(/[.]/g, '\\.')}$`, 'm'));
  });
});

describe('read-only storage', () => {
  test('an auditor\'s copy of a WAL database in a folder nobody may write verifies, and exports', () => {
    const media = join(folder, 'media');
    mkdirSync(media);
    const copy = join(media, 'datapact.db');
    copyFileSync(good, copy);
    const dataDir = statSync(folder);
    const uid = process.getuid?.() === 0 ? 65534 : undefined;
    if (uid !== undefined) chmodSync(folder, dataDir.mode | 0o055); // nobody may enter the data directory (its key) and the media
    chmodSync(copy, 0o444);
    chmodSync(media, 0o555);
    try {
      if (uid !== undefined) for (const path of [join(folder, 'secrets'), ...['audit-ed25519.pem', 'audit-blinding.key'].map((f) => join(folder, 'secrets', f))]) {
        if (existsSync(path)) chownSync(path, uid, uid);
      }
      const verified = datapact(['audit', 'verify', '--database', copy], uid);
      assert.equal(verified.status, 0, verified.stderr);
      assert.match(verified.stdout, /OK: verified 3 entries/);
      assert.match(verified.stderr, /on read-only storage.*reading a copy/);
      const exported = datapact(['audit', 'export', '--database', copy], uid);
      assert.equal(exported.status, 0, exported.stderr);
      assert.equal(exported.stdout.trim().split('\n').length, 4, 'a header and 3 entries');
      assert.deepEqual(readdir(media), ['datapact.db'], 'nothing written beside it');
    } finally {
      chmodSync(media, 0o755);
      if (uid !== undefined) for (const path of [join(folder, 'secrets'), ...['audit-ed25519.pem', 'audit-blinding.key'].map((f) => join(folder, 'secrets', f))]) {
        if (existsSync(path)) chownSync(path, 0, 0);
      }
    }
  });
});

function readdir(path: string): string[] {
  return spawnSync('ls', [path], { encoding: 'utf8' }).stdout.trim().split('\n').filter((name) => name !== '');
}

describe('serve on a damaged SQLite file', () => {
  test('refuses to start, naming the damage and what to do', () => {
    const damaged = join(folder, 'damaged.db');
    copyFileSync(good, damaged);
    const db = new Database(damaged);
    const page = (db.prepare("select rootpage from sqlite_master where name = 'audit_entries'").get() as { rootpage: number }).rootpage;
    const pageSize = Number(db.pragma('page_size', { simple: true }));
    db.close();
    // Garbage over the b-tree page header of a table: the file opens, its schema reads, its pages do not hold together.
    const fd = openSync(damaged, 'r+');
    writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, (page - 1) * pageSize);
    closeSync(fd);
    const serve = spawnSync(process.execPath, ['bin/datapact.js', 'serve', '--port', '0'], {
      encoding: 'utf8', timeout: 60_000, env: { ...process.env, DATAPACT_DATABASE_URL: '', DATAPACT_DATABASE: damaged, DATAPACT_DATA_DIR: folder },
    });
    refused(serve, /damaged\.db is damaged \(SQLite's quick_check: .*\); refusing to serve from it\. Restore it from a backup/, 'serve');
  });
});
