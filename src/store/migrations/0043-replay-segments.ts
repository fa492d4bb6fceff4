import { type Kysely, type Migration } from 'kysely';
import { columnTypes } from './column-types.js';

/**
 * `replay_segments`: runs of one agreement's logged requests packed as columns of numbers, one
 * value each (replay-segment.ts), which a simulation reads instead of a row and a string per
 * request (issue 15: a busy agreement's 90 days in seconds). Every request of the agreement whose
 * first seq lies in [first_seq, below_seq) is in the segment; between segments the rows are read.
 * Beside the body, what a period's counts read without opening it: its requests, their subjects,
 * those logged before 0042 (`unappended`: read with friend lists), its first and last instants.
 * Derived from the log's rows by ReplaySealer, never hashed nor exported, dropped and sealed again
 * at will. Empty here: a log is sealed as it grows (the scheduler, `datapact audit seal`).
 */
export const replaySegments: Migration = {
  async up(db: Kysely<any>) {
    const types = columnTypes(db);
    await db.schema
      .createTable('replay_segments')
      .addColumn('agreement_id', 'text', (c) => c.notNull())
      .addColumn('first_seq', types.bigInteger, (c) => c.notNull())
      .addColumn('below_seq', types.bigInteger, (c) => c.notNull())
      .addColumn('requests', 'integer', (c) => c.notNull())
      .addColumn('subjects', 'integer', (c) => c.notNull())
      .addColumn('unappended', 'integer', (c) => c.notNull())
      .addColumn('first_at', 'text', (c) => c.notNull())
      .addColumn('last_at', 'text', (c) => c.notNull())
      .addColumn('body', types.bytes, (c) => c.notNull())
      .addPrimaryKeyConstraint('replay_segments_pk', ['agreement_id', 'first_seq'])
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('replay_segments').execute();
  },
};
