/**
 * Issue 13, point 4: which driver errors are faults that pass (503 with Retry-After, the driver's
 * error kept as the cause) and which stay what they are (a constraint violated, a bug: not hidden).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DatabaseUnavailable } from '../../src/domain/errors.js';
import { databaseFault } from '../../src/store/database-faults.js';

function coded(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

test('faults that pass: SQLite\'s, PostgreSQL\'s and the network\'s, each named, the driver\'s error as the cause', () => {
  const cases: Array<[Error, string, number]> = [
    [coded('SQLITE_FULL', 'database or disk is full'), 'SQLITE_FULL', 5],
    [coded('SQLITE_READONLY_DIRECTORY'), 'SQLITE_READONLY_DIRECTORY', 5],
    [coded('SQLITE_BUSY_SNAPSHOT'), 'SQLITE_BUSY_SNAPSHOT', 1],
    [coded('SQLITE_IOERR_WRITE'), 'SQLITE_IOERR_WRITE', 5],
    [coded('53100', 'could not extend file: No space left on device'), '53100', 5],
    [coded('25006', 'cannot execute INSERT in a read-only transaction'), '25006', 5],
    [coded('57P01', 'terminating connection due to administrator command'), '57P01', 5],
    [coded('57P03', 'the database system is starting up'), '57P03', 5],
    [coded('08006'), '08006', 5],
    [coded('53300', 'sorry, too many clients already'), '53300', 5],
    [coded('40P01', 'deadlock detected'), '40P01', 1],
    [coded('55P03', 'could not obtain lock'), '55P03', 1],
    [coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'), 'ECONNREFUSED', 5],
    [new Error('Connection terminated unexpectedly'), 'connection_lost', 5],
    [new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')], ''), 'ECONNREFUSED', 5],
  ];
  for (const [error, fault, retryAfter] of cases) {
    const unavailable = databaseFault(error);
    assert.ok(unavailable instanceof DatabaseUnavailable, fault);
    assert.deepEqual([unavailable.fault, unavailable.retryAfterSeconds, unavailable.status, unavailable.code], [fault, retryAfter, 503, 'database_unavailable']);
    assert.ok(unavailable.cause === error || (error instanceof AggregateError && error.errors.includes(unavailable.cause)), `${fault}: the cause is kept`);
    assert.doesNotMatch(unavailable.message, /SQLITE|ECONN|disk|read-only/i, 'the client learns nothing of the internals');
  }
});

test('everything else keeps its own error: constraints, syntax, a damaged file, bugs', () => {
  for (const error of [coded('SQLITE_CONSTRAINT_UNIQUE'), coded('23505'), coded('42P01'), coded('SQLITE_CORRUPT'), coded('SQLITE_ERROR'), new TypeError('x is undefined'), 'a string']) {
    assert.equal(databaseFault(error), undefined, String(error));
  }
});
