import { sql, type Kysely, type Migration } from 'kysely';
import { columnTypes } from './column-types.js';

/**
 * Each member's number (`member_numbers`, migration 0028) also on the member's row (issue 14: the
 * counts within 10% of append throughput). The Graph API reads a member's row before it releases
 * anything of them (the token's member with the token, friends in the friend list's scan), so the
 * entries it appends carry their members' numbers and counting them needs no look-up by id.
 * `member_numbers` stays the numbering (it also numbers ids the log names that have no row here);
 * the trigger that numbers a new member now copies its number onto the row.
 */
export const memberNumbersOnMembers: Migration = {
  async up(db: Kysely<any>) {
    const { postgres } = columnTypes(db);
    await db.schema.alterTable('members').addColumn('number', 'integer').execute();
    if (postgres) {
      await sql`update members m set number = n.number from member_numbers n where n.member_id = m.id`.execute(db);
      await sql`drop trigger members_numbered on members`.execute(db);
      await sql`create or replace function number_new_member() returns trigger language plpgsql as $$
        begin
          insert into member_numbers (member_id) values (new.id) on conflict do nothing;
          new.number := (select number from member_numbers where member_id = new.id);
          return new;
        end $$`.execute(db);
      await sql`create trigger members_numbered before insert on members for each row execute function number_new_member()`.execute(db);
    } else {
      await sql`update members set number = (select number from member_numbers n where n.member_id = members.id)`.execute(db);
      await sql`drop trigger members_numbered`.execute(db);
      await sql.raw('create trigger members_numbered after insert on members begin '
        + 'insert or ignore into member_numbers (member_id) values (new.id); '
        + 'update members set number = (select number from member_numbers where member_id = new.id) where id = new.id; end').execute(db);
    }
  },
  async down(db: Kysely<any>) {
    const { postgres } = columnTypes(db);
    if (postgres) {
      await sql`drop trigger members_numbered on members`.execute(db);
      await sql`create or replace function number_new_member() returns trigger language plpgsql as $$
        begin insert into member_numbers (member_id) values (new.id) on conflict do nothing; return new; end $$`.execute(db);
      await sql`create trigger members_numbered after insert on members for each row execute function number_new_member()`.execute(db);
    } else {
      await sql`drop trigger members_numbered`.execute(db);
      await sql`create trigger members_numbered after insert on members
        begin insert or ignore into member_numbers (member_id) values (new.id); end`.execute(db);
    }
    await db.schema.alterTable('members').dropColumn('number').execute();
  },
};
