import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The staff audit search by member (issue 16): an entry names a member as its subject (indexed on
 * audit_leaves since 0020) or as its token's member, which audit_requests holds. This index finds a
 * member's requests newest first; staff actions (no token) stay out of it.
 */
export const auditMemberIndex: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createIndex('audit_requests_token_member').on('audit_requests').columns(['token_member_id', 'first_seq'])
      .where(sql.ref('token_member_id'), 'is not', null).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('audit_requests_token_member').execute();
  },
};
