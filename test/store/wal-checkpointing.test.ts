/**
 * WAL checkpoints off the request thread (wal-checkpointing.ts): the server's own connection no
 * longer copies the WAL into the database file in the middle of a commit; the thread does, PASSIVE.
 * The thread's timer is set far beyond the test, so what is checked is the checkpoint asked for.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { openSqlite, sqliteConnectionOf } from '../../src/store/database.js';
import { BACKSTOP_PAGES, WalCheckpointing } from '../../src/store/wal-checkpointing.js';

const NEVER_IN_THIS_TEST = 3_600_000;
/** Commits of one page each, twice SQLite's default autocheckpoint (1,000 pages). */
const COMMITS = 2000;

function sqliteFile(t: { after(fn: () => unknown): void }) {
  const folder = mkdtempSync(join(tmpdir(), 'datapact-wal-'));
  const path = join(folder, 'datapact.db');
  const db = openSqlite(path);
  t.after(async () => { await db.destroy(); rmSync(folder, { recursive: true, force: true }); });
  const sqlite = sqliteConnectionOf(db)!;
  sqlite.exec('create table pages (bytes blob)');
  sqlite.pragma('wal_checkpoint(TRUNCATE)'); // the table in the file, so that a copy without the WAL has it
  return { folder, path, db, sqlite };
}

/** Rows in the database file alone, as a copy without its WAL reads them. */
function rowsInTheFile(folder: string, path: string): number {
  const copy = join(folder, 'file-only.db');
  copyFileSync(path, copy);
  const reader = new BetterSqlite3(copy, { readonly: true });
  try {
    return Number(reader.prepare('select count(*) from pages').pluck().get());
  } finally {
    reader.close();
  }
}

test('with the thread, the server\'s commits leave the WAL to it; one checkpoint copies every frame into the file', async (t) => {
  const { folder, path, db, sqlite } = sqliteFile(t);
  const checkpointing = WalCheckpointing.start(db, path, { intervalMs: NEVER_IN_THIS_TEST })!;
  t.after(() => checkpointing.stop());
  assert.equal(sqlite.pragma('wal_autocheckpoint', { simple: true }), BACKSTOP_PAGES);
  const insert = sqlite.prepare('insert into pages values (randomblob(3000))');
  for (let i = 0; i < COMMITS; i++) insert.run();
  assert.equal(rowsInTheFile(folder, path), 0, 'the server\'s connection copied nothing into the file');

  const done = await checkpointing.checkpoint();
  assert.equal(done.busy, false);
  assert.ok(done.walFrames >= COMMITS, `${done.walFrames} frames in the WAL: every commit's`);
  assert.equal(done.checkpointed, done.walFrames);
  assert.equal(rowsInTheFile(folder, path), COMMITS);

  await checkpointing.stop();
  assert.equal(sqlite.pragma('wal_autocheckpoint', { simple: true }), 1000, 'stopped: the connection checkpoints for itself again');
  await assert.rejects(checkpointing.checkpoint(), /stopped/);
});

test('without the thread the server\'s own commits checkpoint (what the thread takes off the request thread)', async (t) => {
  const { folder, path, sqlite } = sqliteFile(t);
  const insert = sqlite.prepare('insert into pages values (randomblob(3000))');
  for (let i = 0; i < COMMITS; i++) insert.run();
  assert.ok(rowsInTheFile(folder, path) >= 900, 'the commit past 1,000 pages copied the WAL into the file');
});

test('an in-memory database has no WAL to checkpoint: no thread', () => {
  const db = openSqlite(':memory:');
  assert.equal(WalCheckpointing.start(db, ':memory:'), undefined);
  return db.destroy();
});

test('a thread that dies is reported, and the server\'s connection checkpoints for itself again', async (t) => {
  const { folder, db, sqlite } = sqliteFile(t);
  let reported: (error: Error) => void;
  const died = new Promise<Error>((resolve) => { reported = resolve; });
  // The thread cannot open its file: it dies at its start, as it would on a fault later.
  const checkpointing = WalCheckpointing.start(db, join(folder, 'gone.db'), { intervalMs: NEVER_IN_THIS_TEST, onError: (error) => reported(error) })!;
  t.after(() => checkpointing.stop());
  assert.equal(sqlite.pragma('wal_autocheckpoint', { simple: true }), BACKSTOP_PAGES);
  assert.match((await died).message, /WAL checkpoint thread stopped.*checkpoints for itself/);
  assert.equal(sqlite.pragma('wal_autocheckpoint', { simple: true }), 1000);
  await assert.rejects(checkpointing.checkpoint(), /stopped/);
});
