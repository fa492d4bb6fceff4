import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, type CopyStreamQuery } from 'pg-copy-streams';
import { REBUILD_FRIEND_NUMBER_LISTS_POSTGRES } from './friend-number-lists.js';
import { dropKeysAndIndexes, restoreKeysAndIndexes, type SavedKeys } from './postgres-keys.js';
import {
  FIELD_AUDIENCE_COLUMNS, FRIENDSHIP_COLUMNS, MEMBER_COLUMNS, PROFILE_VALUE_COLUMNS,
  type CellValue, type MemberRows, type WorldLoader,
} from './world-loader.js';

/**
 * Loads a seeded world into PostgreSQL with COPY, one stream per table, each on its own connection.
 *
 * The friendships, profile values and audiences tables lose their primary keys, foreign keys and
 * indexes for the load and get them back at the end (`finish`), exactly as the migrations made
 * them: checking two foreign keys per friendship row, 300 million lookups for a million members,
 * costs far more than one validation join and one sorted index build afterwards. Those three
 * tables are also truncated in the COPY's transaction so that COPY can write its rows frozen:
 * otherwise the first scan after the load (the key builds) would rewrite every page to set hint
 * bits. `members` keeps its key (other tables refer to it, and it is small).
 */

const FROZEN = new Set(['profile_values', 'field_audiences', 'friendships']);

/** One COPY … FROM STDIN in its own transaction on its own connection. */
class CopyInto {
  private failure: unknown;

  private constructor(private readonly client: pg.Client, private readonly stream: CopyStreamQuery) {
    stream.on('error', (error) => {
      this.failure ??= error;
    });
  }

  static async begin(url: string, table: string, columns: readonly string[]): Promise<CopyInto> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('begin');
    const freeze = FROZEN.has(table);
    if (freeze) await client.query(`truncate "${table}"`);
    const list = columns.map((c) => `"${c}"`).join(', ');
    const stream = client.query(copyFrom(`copy "${table}" (${list}) from stdin${freeze ? ' with (freeze)' : ''}`));
    return new CopyInto(client, stream);
  }

  async write(rows: CellValue[], width: number): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (rows.length > 0 && !this.stream.write(copyText(rows, width))) await once(this.stream, 'drain');
  }

  async commit(): Promise<void> {
    this.stream.end();
    await finished(this.stream);
    await this.client.query('commit');
    await this.client.end();
  }

  async abandon(): Promise<void> {
    this.stream.destroy();
    await this.client.end().catch(() => undefined);
  }
}

export class PostgresCopyLoader implements WorldLoader {
  private readonly copies = new Map<string, Promise<CopyInto>>();
  private restored = false;

  private constructor(private readonly url: string, private readonly admin: pg.Client, private readonly saved: SavedKeys) {}

  static async open(url: string): Promise<PostgresCopyLoader> {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      return new PostgresCopyLoader(url, admin, await dropKeysAndIndexes(admin, [...FROZEN]));
    } catch (error) {
      await admin.end();
      throw error;
    }
  }

  async writeMembers(rows: MemberRows): Promise<void> {
    await Promise.all([
      this.write('members', MEMBER_COLUMNS, rows.members),
      this.write('profile_values', PROFILE_VALUE_COLUMNS, rows.profileValues),
      this.write('field_audiences', FIELD_AUDIENCE_COLUMNS, rows.fieldAudiences),
    ]);
  }

  async writeFriendships(rows: CellValue[]): Promise<void> {
    await this.write('friendships', FRIENDSHIP_COLUMNS, rows);
  }

  async finish(): Promise<void> {
    for (const copy of this.copies.values()) await (await copy).commit();
    this.copies.clear();
    await restoreKeysAndIndexes(this.admin, this.saved);
    this.restored = true;
    await this.admin.query(`analyze ${['members', ...FROZEN].map((t) => `"${t}"`).join(', ')}`);
    await this.admin.query(REBUILD_FRIEND_NUMBER_LISTS_POSTGRES);
  }

  async close(): Promise<void> {
    for (const copy of this.copies.values()) await (await copy.catch(() => undefined))?.abandon();
    this.copies.clear();
    try {
      // After a failure: the keys back on whatever was committed, so that the schema stays the migrations'.
      if (!this.restored) await restoreKeysAndIndexes(this.admin, this.saved);
    } catch (error) {
      console.error(`seed: could not restore the keys of ${[...FROZEN].join(', ')}: ${String(error)}; drop this database.`);
    } finally {
      await this.admin.end();
    }
  }

  private async write(table: string, columns: readonly string[], rows: CellValue[]): Promise<void> {
    let copy = this.copies.get(table);
    if (copy === undefined) {
      copy = CopyInto.begin(this.url, table, columns);
      this.copies.set(table, copy);
    }
    await (await copy).write(rows, columns.length);
  }
}

/** COPY's text format: tab between columns, newline after rows, backslash escapes. */
function copyText(rows: CellValue[], width: number): string {
  let text = '';
  for (let i = 0; i < rows.length; i++) {
    const value = rows[i]!;
    text += typeof value === 'number' ? String(value) : escapeCopy(value);
    text += (i + 1) % width === 0 ? '\n' : '\t';
  }
  return text;
}

const NEEDS_ESCAPE = /[\\\t\n\r]/;

function escapeCopy(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}
