import type pg from 'pg';

/**
 * Primary keys, unique and foreign keys, and other indexes of some tables, taken off for a bulk
 * load and put back after it, from PostgreSQL's own definitions of them (`pg_get_constraintdef`,
 * `pg_get_indexdef`): same names, same columns, same options, whatever migration made them. Check
 * and not-null constraints stay: they cost little per row.
 */
export interface SavedKeys {
  readonly constraints: ReadonlyArray<{ readonly table: string; readonly name: string; readonly type: string; readonly definition: string }>;
  readonly indexes: ReadonlyArray<{ readonly name: string; readonly definition: string }>;
}

const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export async function dropKeysAndIndexes(client: pg.Client, tables: readonly string[]): Promise<SavedKeys> {
  const constraints = await client.query<{ table: string; name: string; type: string; definition: string }>(
    `select rel.relname as table, c.conname as name, c.contype as type, pg_get_constraintdef(c.oid) as definition
       from pg_constraint c join pg_class rel on rel.oid = c.conrelid
      where c.conrelid = any($1::regclass[]) and c.contype in ('p', 'u', 'f')
      order by rel.relname, c.conname`,
    [tables],
  );
  const indexes = await client.query<{ name: string; definition: string }>(
    `select ix.relname as name, pg_get_indexdef(i.indexrelid) as definition
       from pg_index i join pg_class ix on ix.oid = i.indexrelid
      where i.indrelid = any($1::regclass[])
        and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid and c.conrelid = i.indrelid)
      order by ix.relname`,
    [tables],
  );
  const saved: SavedKeys = { constraints: constraints.rows, indexes: indexes.rows };
  await client.query('begin');
  try {
    // Foreign keys first: a key of one of these tables may be what another one's foreign key needs.
    for (const c of [...saved.constraints].sort((a, b) => Number(b.type === 'f') - Number(a.type === 'f'))) {
      await client.query(`alter table ${ident(c.table)} drop constraint ${ident(c.name)}`);
    }
    for (const index of saved.indexes) await client.query(`drop index ${ident(index.name)}`);
    await client.query('commit');
  } catch (error) {
    await client.query('rollback');
    throw error;
  }
  return saved;
}

/** Puts back what `dropKeysAndIndexes` took: keys (each one sorted index build), then foreign keys (one validation join each), then indexes. */
export async function restoreKeysAndIndexes(client: pg.Client, saved: SavedKeys): Promise<void> {
  await client.query(`set maintenance_work_mem = '1GB'`);
  const keysFirst = [...saved.constraints].sort((a, b) => Number(a.type === 'f') - Number(b.type === 'f'));
  for (const c of keysFirst) await client.query(`alter table ${ident(c.table)} add constraint ${ident(c.name)} ${c.definition}`);
  for (const index of saved.indexes) await client.query(index.definition);
}
