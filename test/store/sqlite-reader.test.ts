/**
 * The connection on this thread that bulk reads (the audit log replay) use beside `datapact
 * serve`'s staff-read worker (issue 15): a read-only one on the same SQLite file, the server's own
 * connection for a file opened on this thread, none on PostgreSQL (Kysely reads there).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { closeSqliteReader, migrateToLatest, openReadDatabase, openSqlite, sqliteConnectionOf, sqliteReaderOf } from '../../src/store/database.js';

test('a worker thread\'s read connection gets a read-only reader on this thread, on the same file, closed with it', async (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'datapact-reader-'));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  const path = join(folder, 'datapact.db');
  const db = openSqlite(path);
  await migrateToLatest(db);
  await db.insertInto('members').values({ id: 'm_reader', platform_enabled: 1, share_via_friends: 0, created_at: '2026-12-01T00:00:00.000Z' }).execute();
  const readDb = openReadDatabase(path, db);
  t.after(async () => { closeSqliteReader(readDb); await readDb.destroy(); await db.destroy(); });

  assert.equal(sqliteConnectionOf(readDb), undefined);
  const reader = sqliteReaderOf(readDb)!;
  assert.equal(reader.readonly, true);
  assert.equal(reader.prepare('select id from members').pluck().get(), 'm_reader');
  assert.equal(sqliteReaderOf(readDb), reader, 'opened once');
  assert.equal(sqliteReaderOf(db), sqliteConnectionOf(db), 'a connection of this thread reads itself');
  closeSqliteReader(readDb);
  assert.equal(reader.open, false);
});
