import { sql, type Kysely, type Migration } from 'kysely';
import { columnTypes } from './column-types.js';

/**
 * Lean audit entries (issue 11, point 3): what a request's entries share is stored once, what each
 * subject's entry adds is a short row, and the Merkle tree keeps only its nodes of level 4 and up.
 *
 * - `audit_requests`: one row per group of entries appended together for one request (or one staff
 *   action), whose leaves are contiguous: seq first_seq .. first_seq + leaf_count - 1, with the
 *   fields they share (time, request, app, partner, agreement and version, rules version, token
 *   member, purpose). Indexed for the staff queries only.
 * - `audit_leaves`: one row per entry with what differs: its subject, outcome, code, the released
 *   and withheld lists as ids of `audit_field_sets` (a page's entries share a few lists), the
 *   friends passed over (request entries), and actor, action, detail (staff actions). `pos` is the
 *   entry's place in its request (seq - first_seq), so a leaf finds its request by primary key.
 * - `audit_field_sets`: each distinct released or withheld list once, as the JSON text the entry
 *   held, ids assigned by the appender under the log's lock.
 * - `audit_log`: the whole log as one relation, in the columns `audit_entries` always had: the
 *   rows of `audit_entries` (frozen from here on: formats 1 and 2 written before this migration)
 *   and the new ones. Leaf index = seq - 1 throughout; the canonical form is unchanged.
 */
export const leanAuditLog: Migration = {
  async up(db: Kysely<any>) {
    const { bigInteger, postgres } = columnTypes(db);
    await db.schema
      .createTable('audit_field_sets')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('json', 'text', (c) => c.notNull().unique())
      .execute();
    await db.schema
      .createTable('audit_requests')
      .addColumn('first_seq', bigInteger, (c) => c.primaryKey())
      .addColumn('leaf_count', 'integer', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('request_id', 'text', (c) => c.notNull())
      .addColumn('app_id', 'text')
      .addColumn('partner_id', 'text')
      .addColumn('agreement_id', 'text')
      .addColumn('agreement_version', 'integer')
      .addColumn('rules_version', 'text', (c) => c.notNull())
      .addColumn('token_member_id', 'text')
      .addColumn('purpose', 'text')
      .execute();
    await db.schema.createIndex('audit_requests_request').on('audit_requests').column('request_id').execute();
    for (const column of ['partner_id', 'app_id', 'agreement_id']) {
      await db.schema.createIndex(`audit_requests_${column.replace('_id', '')}`).on('audit_requests').columns([column, 'first_seq']).execute();
    }
    await db.schema
      .createTable('audit_leaves')
      .addColumn('seq', bigInteger, (c) => c.primaryKey())
      .addColumn('pos', 'integer', (c) => c.notNull())
      .addColumn('subject_member_id', 'text')
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('code', 'text')
      .addColumn('released', 'integer', (c) => c.notNull())
      .addColumn('withheld', 'integer', (c) => c.notNull())
      .addColumn('passed_over', 'integer')
      .addColumn('passed_over_reason', 'text')
      .addColumn('actor', 'text')
      .addColumn('action', 'text')
      .addColumn('detail', 'text')
      .execute();
    await db.schema.createIndex('audit_leaves_subject').on('audit_leaves').columns(['subject_member_id', 'seq'])
      .where(sql.ref('subject_member_id'), 'is not', null).execute();
    await db.schema.createIndex('audit_leaves_actor').on('audit_leaves').column('actor').where(sql.ref('actor'), 'is not', null).execute();
    // The range condition beside the key lets a query that starts from a request (by partner, by request id) read its leaves by seq.
    // The constants are cast to their columns' types: SQLite flattens a UNION ALL view into a query (each arm read in its
    // index order, merged) only when both arms' columns have the same affinity; otherwise it sorts the whole view.
    await sql`create view audit_log as
      select seq, at, request_id, app_id, partner_id, agreement_id, agreement_version, rules_version, token_member_id,
        subject_member_id, purpose, outcome, code, released, withheld, actor, action, detail, format, passed_over,
        passed_over_reason, leaf_hash
      from audit_entries
      union all
      select l.seq, r.at, r.request_id, r.app_id, r.partner_id, r.agreement_id, r.agreement_version, r.rules_version,
        r.token_member_id, l.subject_member_id, r.purpose, l.outcome, l.code, fr.json, fw.json, l.actor, l.action, l.detail,
        cast(2 as integer), l.passed_over, l.passed_over_reason, cast(null as ${sql.raw(postgres ? 'bytea' : 'blob')})
      from audit_leaves l
      join audit_requests r on r.first_seq = l.seq - l.pos and l.seq >= r.first_seq and l.seq < r.first_seq + r.leaf_count
      join audit_field_sets fr on fr.id = l.released
      join audit_field_sets fw on fw.id = l.withheld`.execute(db);
  },
  async down(db: Kysely<any>) {
    await sql`drop view audit_log`.execute(db);
    await db.schema.dropTable('audit_leaves').execute();
    await db.schema.dropTable('audit_requests').execute();
    await db.schema.dropTable('audit_field_sets').execute();
  },
};
