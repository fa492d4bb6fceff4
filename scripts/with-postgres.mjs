#!/usr/bin/env node
/**
 * Runs a command with a throwaway PostgreSQL server: `node scripts/with-postgres.mjs <command...>`.
 *
 * - DATAPACT_TEST_DATABASE_URL already set: runs the command against that server, starts nothing.
 * - PostgreSQL's programs found (`pg_config --bindir`, or initdb on the PATH): initdb into a temporary
 *   folder (C collation, UTF-8, trust auth, durability off: it is thrown away), pg_ctl on a unix
 *   socket in that folder (no TCP port to collide on), one database `datapact`, the URL exported as
 *   DATAPACT_TEST_DATABASE_URL, the command run, the server stopped and the folder removed.
 * - Neither: the command runs without the variable, and the PostgreSQL half of the tests says that
 *   it was skipped.
 * As root (CI containers), the server runs as the `postgres` user: PostgreSQL refuses to run as root.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const command = process.argv.slice(2);
if (command.length === 0) {
  console.error('usage: node scripts/with-postgres.mjs <command> [args...]');
  process.exit(2);
}

function binDir() {
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (existsSync(join(dir, 'initdb'))) return dir;
  } catch {
    // no pg_config: try the PATH
  }
  const found = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  return found.status === 0 ? join(found.stdout.trim(), '..') : undefined;
}

function run(exitCode) {
  return new Promise((resolve) => {
    const child = spawn(command[0], command.slice(1), { stdio: 'inherit', env: process.env });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : exitCode)));
  });
}

if (process.env.DATAPACT_TEST_DATABASE_URL) process.exit(await run(0));

const bin = binDir();
if (bin === undefined) {
  console.error('with-postgres: no PostgreSQL programs found (pg_config, initdb): the PostgreSQL half of the tests will be skipped.');
  process.exit(await run(0));
}

const asRoot = process.getuid?.() === 0;
const dir = mkdtempSync(join(tmpdir(), 'datapact-pg-'));
const data = join(dir, 'data');
function pg(program, args) {
  const full = join(bin, program);
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', full, ...args]] : [full, args];
  execFileSync(file, argv, { stdio: ['ignore', 'ignore', 'inherit'] });
}

let started = false;
try {
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  pg('initdb', ['-D', data, '-U', 'datapact', '--auth=trust', '--no-locale', '-E', 'UTF8', '--no-sync']);
  const options = `-k ${dir} -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  pg('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-o', options, '-w', 'start']);
  started = true;
  pg('createdb', ['-h', dir, '-U', 'datapact', 'datapact']);
  process.env.DATAPACT_TEST_DATABASE_URL = `postgres://datapact@localhost/datapact?host=${encodeURIComponent(dir)}`;
  console.error(`with-postgres: a throwaway PostgreSQL (${bin}) on the unix socket in ${dir}`);
  process.exitCode = await run(1);
} catch (error) {
  console.error(`with-postgres: could not start PostgreSQL: ${error.message}`);
  process.exitCode = 1;
} finally {
  if (started) {
    try {
      pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    } catch (error) {
      console.error(`with-postgres: stopping the server failed: ${error.message}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
