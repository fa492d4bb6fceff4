import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The leaves by subject, indexed within partitions of 65,536 consecutive seqs (issue 11, point 3:
 * index only what a query needs, at what it costs the appends). Subjects are members drawn across
 * the world, so 0020's index on (subject_member_id, seq) put every new leaf at a random place in a
 * B-tree as large as the log: at 10M entries each subject appended dirtied a page of its own,
 * about 7 KB written per subject against 0.7 KB on an empty log. Keyed first by `seq / 65536`, the
 * new leaves all go to the newest partition's slice of the index, which stays small and cached;
 * a read by member visits the partitions newest first (member-leaves.ts).
 *
 * An index on the expression rather than a stored partition column: the rows stay as they are (no
 * byte more per leaf, no rewrite of every existing row to fill a new column), and every writer of
 * audit_leaves keeps its columns. The readers write the same expression, which both SQLite and
 * PostgreSQL match to the index.
 */
export const partitionedSubjectIndex: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createIndex('audit_leaves_subject_partition').on('audit_leaves')
      .expression(sql`(${sql.ref('seq')} / 65536)`).columns(['subject_member_id', 'seq'])
      .where(sql.ref('subject_member_id'), 'is not', null).execute();
    await db.schema.dropIndex('audit_leaves_subject').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.createIndex('audit_leaves_subject').on('audit_leaves').columns(['subject_member_id', 'seq'])
      .where(sql.ref('subject_member_id'), 'is not', null).execute();
    await db.schema.dropIndex('audit_leaves_subject_partition').execute();
  },
};
