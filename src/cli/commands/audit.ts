import { createReadStream, createWriteStream, existsSync, openSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../../config.js';
import { isPostgresUrl } from '../../store/database.js';
import { checkCosignatures, type WitnessCheck } from '../../audit/checkpoint-witnessing.js';
import { COSIGNATURE_V1_TYPE } from '../../audit/cosignature.js';
import { verifyExport } from '../../audit/export-verifier.js';
import { parseVerifierKey } from '../../audit/signed-note.js';
import { writeExport } from '../../audit/log-export.js';
import type { VerifyResult } from '../../audit/log-verifier.js';
import { AuditBlinding, auditBlindingKeyPath } from '../../audit/blinding.js';
import { auditPublicKeyFromPem, auditSigningKeyPath, type AuditPublicKey } from '../../audit/signing-key.js';
import { verifyStoredLog } from '../../audit/stored-log-verifier.js';
import type { Store } from '../../store/store.js';
import { auditReplay } from '../../reports/audit-replay.js';
import { formatAuditReplay, SIMULATION_FORMATS, type SimulationFormat } from '../../reports/simulation-format.js';
import { ReplaySealer } from '../../store/replay-sealer.js';
import { openStore, openStoreToRead } from '../open-store.js';
import { afterOneSecond, withProgressBar } from '../progress-bar.js';
import { formatOption, instantOption } from './simulate.js';

/**
 * `datapact audit`: export the audit log for an auditor, and verify it (issue 5; README, "Audit
 * log"). Exit codes of `verify`: 0 verified, 1 a problem found (named on stderr), 2 bad usage (a
 * missing file, an unreadable key).
 */
export function auditCommand(): Command {
  const audit = usageExits(new Command('audit').description('The tamper-evident audit log: export it, verify it'));
  audit.addCommand(exportCommand());
  audit.addCommand(verifyCommand());
  audit.addCommand(replayCommand());
  audit.addCommand(sealCommand());
  return audit;
}

/**
 * `datapact audit seal` (issue 15): packs each agreement's logged requests into replay segments
 * now, which the server's scheduler otherwise does as the log grows (an agreement's newest few
 * thousand requests stay rows until then).
 */
function sealCommand(): Command {
  const command = new Command('seal')
    .description('Pack every agreement\'s logged requests into replay segments, which simulations read instead of a row per request '
      + '(the server\'s scheduler does this as the log grows). Safe beside a running server; on PostgreSQL there is nothing to seal.')
    .option('--database <path|url>', DATABASE_HELP);
  return usageExits(command.action(async (options: { database?: string }) => {
    const location = existingDatabase(command, options.database);
    const store = await openStore(location, 'existing');
    try {
      const sealed = await withProgressBar('Sealing', (onProgress) => new ReplaySealer(store.db).seal({ minRequests: 1, onProgress: afterOneSecond(onProgress) }));
      process.stdout.write(isPostgresUrl(location) ? 'PostgreSQL: replays read the log\'s rows; nothing to seal.\n'
        : `Sealed ${count(sealed.requests)} request(s), ${count(sealed.subjects)} subject(s), in ${count(sealed.segments)} segment(s).\n`);
    } finally {
      await store.close();
    }
  }));
}

interface ReplayOptions { from?: number; to?: number; now?: number; strict?: boolean; format: SimulationFormat; database?: string }

/**
 * `datapact audit replay` (issue 15): every logged Graph API request decided again with the
 * agreement version and rules version it records. Exit 1 when the rules decide any request
 * otherwise than the log says (with --strict, also when members' changed settings explain it).
 */
function replayCommand(): Command {
  const command = new Command('replay')
    .description('Re-decide every logged Graph API request with the agreement version it records, at its own instant, and report each '
      + 'whose logged outcome the engine would not produce today (a regression detector for the rules). Exit 1 on a difference of the rules.')
    .option('--from <iso>', 'first instant (default: the start of the log)', instantOption)
    .option('--to <iso>', 'end, excluded (default: --now)', instantOption)
    .option('--now <iso>', 'as of this instant (default: now)', instantOption)
    .option('--strict', 'exit 1 also on differences that members\' settings changed since explain')
    .option('--format <format>', `output format: ${SIMULATION_FORMATS.join(', ')}`, formatOption, 'table' as SimulationFormat)
    .option('--database <path|url>', DATABASE_HELP);
  return usageExits(command.action(async (options: ReplayOptions) => {
    const store = await storeToRead(command, existingDatabase(command, options.database));
    try {
      const now = options.now ?? Date.now();
      const result = await withProgressBar('Replaying', (onProgress) =>
        auditReplay(store, { from: options.from ?? 0, to: options.to ?? now, now, onProgress: afterOneSecond(onProgress) }));
      process.stdout.write(formatAuditReplay(result, options.format));
      if (result.differences.rules > 0 || (options.strict && result.differences.member_settings > 0)) process.exitCode = 1;
    } finally {
      await store.close();
    }
  }));
}

const DATABASE_HELP = 'SQLite database file (default: DATAPACT_DATABASE or ./data/datapact.db)';

/** Bad usage exits with 2, commander's own parse errors included, so scripts can tell it from a failed check. */
function usageExits(command: Command): Command {
  return command.exitOverride((error) => process.exit(error.exitCode === 1 ? 2 : error.exitCode));
}

function usage(command: Command, message: string): never {
  command.error(`error: ${message}`, { exitCode: 2, code: 'datapact.usage' });
}

/** A leaf index, or an ISO 8601 instant meaning the first entry at or after it. */
type Position = { readonly index: number } | { readonly at: string };

function position(value: string): Position {
  if (/^\d+$/.test(value) && Number.isSafeInteger(Number(value))) return { index: Number(value) };
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms)) {
    throw new InvalidArgumentError('expected a leaf index (0, 1, …) or an ISO 8601 instant, e.g. 2026-06-01T00:00:00Z');
  }
  return { at: new Date(ms).toISOString() };
}

async function leafIndexOf(store: Store, at: Position | undefined, fallback: number): Promise<number> {
  if (at === undefined) return fallback;
  return 'index' in at ? at.index : (await store.audit.firstSeqAtOrAfter(at.at)) - 1;
}

/** The database to read: --database, else DATAPACT_DATABASE_URL or the SQLite file, which must exist (verify creates nothing). */
function existingDatabase(command: Command, given: string | undefined): string {
  const location = given ?? loadConfig().database;
  if (isPostgresUrl(location)) return location;
  if (!existsSync(location)) usage(command, `no database at ${location} (set DATAPACT_DATABASE or DATAPACT_DATABASE_URL, or pass --database)`);
  return location;
}

/** The database, unmigrated; one that cannot be read (unreachable, schema behind) is a usage error (exit 2). */
async function storeToRead(command: Command, location: string): Promise<Store> {
  try {
    return await openStoreToRead(location);
  } catch (error) {
    usage(command, (error as Error).message);
  }
}

function readKey(command: Command, path: string, what: string): AuditPublicKey {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    usage(command, `cannot read ${what} ${path}: ${(error as Error).message}`);
  }
  try {
    return auditPublicKeyFromPem(pem, `${what} ${path}`);
  } catch (error) {
    usage(command, (error as Error).message);
  }
}

/** The data directory's signing key (its public half), never created here: a verifier must not make keys. */
function dataDirKey(command: Command): AuditPublicKey & { path: string } {
  const path = auditSigningKeyPath(loadConfig().dataDir);
  if (!existsSync(path)) usage(command, `no audit signing key at ${path} (set DATAPACT_DATA_DIR, or pass --public-key FILE)`);
  return { ...readKey(command, path, 'the audit signing key'), path };
}

/**
 * The data directory's blinding key, never created here. Without it blinded entries cannot be
 * hashed: verify and export then stop at the first one, naming the missing key.
 */
function dataDirBlinding(): AuditBlinding | undefined {
  const path = auditBlindingKeyPath(loadConfig().dataDir);
  if (!existsSync(path)) return undefined;
  return new AuditBlinding(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64url'));
}

function exportCommand(): Command {
  return usageExits(new Command('export'))
    .description('Write entries and the signed heads over them as NDJSON that anyone can verify without the database '
      + '(line 1 a header, then each entry\'s canonical bytes, one per line)')
    .option('--from <position>', 'first entry: a leaf index (seq - 1) or an ISO 8601 instant (the first entry at or after it); default 0', position)
    .option('--to <position>', 'end, exclusive: a leaf index or an ISO 8601 instant; default the end of the log', position)
    .option('--out <file>', 'write to this file (default: stdout)')
    .option('--database <path>', DATABASE_HELP)
    .action(async (options: { from?: Position; to?: Position; out?: string; database?: string }, command: Command) => {
      const key = dataDirKey(command);
      const store = await storeToRead(command, existingDatabase(command, options.database));
      try {
        const size = await store.audit.treeSize();
        const from = await leafIndexOf(store, options.from, 0);
        const to = await leafIndexOf(store, options.to, size);
        if (from > to || to > size) usage(command, `--from ${from} and --to ${to} must satisfy 0 ≤ from ≤ to ≤ ${size} (the log's size)`);
        const started = performance.now();
        const draft = options.out === undefined ? undefined : `${options.out}.partial-${process.pid}`;
        const out = draft === undefined ? stdoutForExport() : fileForExport(command, draft);
        // Written under a temporary name and renamed when whole: a failed export leaves no partial file behind.
        const removeDraft = () => { if (draft !== undefined) rmSync(draft, { force: true }); };
        process.once('exit', removeDraft);
        const written = await withProgressBar('Export', (onProgress) =>
          writeExport(store.audit, {
            from, to, publicKeyPem: key.publicKeyPem, out, onProgress: afterOneSecond(onProgress), ...blindingOption(dataDirBlinding()),
          }));
        if (out !== process.stdout) await finished(out.end());
        if (draft !== undefined) {
          renameSync(draft, options.out!);
          process.removeListener('exit', removeDraft);
        }
        const seconds = (performance.now() - started) / 1000;
        console.error(`Exported ${plural(written.entries, 'entry', 'entries')} (leaf indices ${from}..${to - 1}) and ${plural(written.heads, 'signed head', 'signed heads')}`
          + `${options.out === undefined ? '' : ` to ${options.out}`} in ${seconds.toFixed(2)} s.`);
      } finally {
        await store.close();
      }
    });
}

/** Opened now, so that a path that cannot be written is bad usage before anything is read. */
function fileForExport(command: Command, path: string): Writable {
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (error) {
    usage(command, `cannot write ${path}: ${(error as Error).message}`);
  }
  return createWriteStream(path, { fd }); // the path is only a label once fd is given
}

/** `audit export | head` closes the pipe early: that is the reader's choice, not an error. */
function stdoutForExport(): Writable {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(0);
  });
  return process.stdout;
}

function verifyCommand(): Command {
  return usageExits(new Command('verify'))
    .description('Check the audit log: every entry against its leaf hash, every stored node, every signed head and their '
      + 'consistency (the database); or, with --file, an export with nothing but the public key you trust')
    .option('--file <export>', 'verify this export (`datapact audit export`) offline: no database, no data directory')
    .option('--public-key <pem>', 'the public key heads must be signed with (required with --file; default: the data directory\'s key)')
    .option('--database <path>', DATABASE_HELP)
    .option('--witness-key <vkey>', 'a witness whose cosignatures count (its cosignature/v1 verifier key); repeatable', collect)
    .option('--witness-quorum <n>', 'how many of those witnesses must have cosigned the latest checkpoint (default: all of them)')
    .option('--origin <origin>', 'the checkpoints\' origin line (default: DATAPACT_LOG_ORIGIN, or the host of DATAPACT_PUBLIC_URL and /audit)')
    .action(async (options: VerifyOptions, command: Command) => {
      if (options.file !== undefined && options.witnessKey !== undefined) usage(command, '--witness-key checks the cosignatures kept in the database, not an export');
      const witnesses = witnessRequirement(command, options);
      if (options.file !== undefined) return report(await verifyFile(command, options.file, options.publicKey), options.file);
      const { result, witnessCheck } = await verifyDatabase(command, options, witnesses);
      report(result, 'the database');
      if (result.ok && witnessCheck !== undefined) reportWitnesses(witnessCheck);
    });
}

interface VerifyOptions {
  file?: string;
  publicKey?: string;
  database?: string;
  witnessKey?: string[];
  witnessQuorum?: string;
  origin?: string;
}

interface WitnessRequirement {
  readonly keys: readonly string[];
  readonly quorum: number;
  readonly origin: string;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function witnessRequirement(command: Command, options: VerifyOptions): WitnessRequirement | undefined {
  const keys = options.witnessKey ?? [];
  if (keys.length === 0) {
    if (options.witnessQuorum !== undefined) usage(command, '--witness-quorum needs --witness-key');
    return undefined;
  }
  for (const vkey of keys) {
    try {
      if (parseVerifierKey(vkey).type !== COSIGNATURE_V1_TYPE) usage(command, `--witness-key ${vkey} is not a witness's key (cosignature/v1, type 0x04)`);
    } catch (error) {
      usage(command, `--witness-key: ${(error as Error).message}`);
    }
  }
  if (new Set(keys).size !== keys.length) usage(command, '--witness-key names a witness twice');
  const quorum = options.witnessQuorum === undefined ? keys.length : Number(options.witnessQuorum);
  if (!Number.isInteger(quorum) || quorum < 1 || quorum > keys.length) usage(command, `--witness-quorum must be from 1 to the number of --witness-key (${keys.length})`);
  return { keys, quorum, origin: options.origin ?? loadConfig().logOrigin };
}

async function verifyDatabase(
  command: Command, options: VerifyOptions, witnesses: WitnessRequirement | undefined,
): Promise<{ result: VerifyResult; witnessCheck?: WitnessCheck }> {
  let key: AuditPublicKey;
  if (options.publicKey === undefined) {
    const trusted = dataDirKey(command);
    // Checking a log against the key that sits beside it proves less than against a key held apart: say which it was.
    console.error(`Trusting the data directory's audit key ${trusted.path} (key id ${trusted.keyId}); pass --public-key to check against a key you hold.`);
    key = trusted;
  } else {
    key = readKey(command, options.publicKey, 'public key');
  }
  const store = await storeToRead(command, existingDatabase(command, options.database));
  try {
    const result = await withProgressBar('Verify', (onProgress) =>
      verifyStoredLog(store.audit, { key, onProgress: afterOneSecond(onProgress), ...blindingOption(dataDirBlinding()) }));
    if (!result.ok || witnesses === undefined) return { result };
    const heads = await store.audit.heads();
    return { result, witnessCheck: await checkCosignatures(witnesses.origin, heads, store.cosignatures, witnesses.keys, witnesses.quorum) };
  } finally {
    await store.close();
  }
}

/** The latest checkpoint must carry the quorum of cosignatures (exit 1 otherwise); older heads that lack them are named. */
function reportWitnesses(check: WitnessCheck): void {
  const names = check.latestCosigners.map((vkey) => vkey.split('+')[0]).join(', ');
  if (check.latestSize === undefined) {
    console.error('FAILED: no signed head, so no checkpoint for the witnesses to have cosigned');
    process.exitCode = 1;
    return;
  }
  const have = `${check.latestCosigners.length} valid cosignature${check.latestCosigners.length === 1 ? '' : 's'} of the ${check.quorum} required`;
  if (check.latestCosigners.length < check.quorum) {
    console.error(`FAILED: the latest checkpoint (tree size ${check.latestSize}) has ${have} from the given witness keys${names ? ` (${names})` : ''}`);
    process.exitCode = 1;
  } else {
    console.log(`Witnessed: the latest checkpoint (tree size ${check.latestSize}) has ${have} (${names}).`);
  }
  const older = check.lacking.filter((size) => size !== check.latestSize);
  if (older.length > 0) {
    console.log(`Note: ${plural(older.length, 'earlier head has', 'earlier heads have')} fewer than ${check.quorum} cosignatures: tree sizes ${sizeList(older)}.`);
  }
}

/** The first 20 sizes, and how many more. */
function sizeList(sizes: readonly number[]): string {
  const items = sizes.slice(0, 20).map(String);
  return sizes.length > 20 ? `${items.join(', ')}, … (${count(sizes.length - 20)} more)` : items.join(', ');
}

async function verifyFile(command: Command, file: string, publicKey: string | undefined): Promise<VerifyResult> {
  if (publicKey === undefined) usage(command, '--file needs --public-key FILE: the public key you trust, not one taken from the export');
  const key = readKey(command, publicKey, 'public key');
  if (!existsSync(file) || !statSync(file).isFile()) usage(command, `no export file at ${file}`);
  const input = createReadStream(file, { highWaterMark: 1 << 20 });
  return withProgressBar('Verify', (onProgress) => verifyExport(input, { key, onProgress: afterOneSecond(onProgress) }));
}

/** The summary on stdout; a problem on stderr, with exit code 1. */
function report(result: VerifyResult, what: string): void {
  const rate = result.seconds > 0 ? ` (${count(Math.round(result.entries / result.seconds))} entries/s)` : '';
  const checked = `${plural(result.entries, 'entry', 'entries')} and ${plural(result.heads, 'signed head', 'signed heads')} of ${what} in ${result.seconds.toFixed(2)} s${rate}`;
  if (!result.ok) {
    console.error(`FAILED: ${result.problem.message}`);
    console.log(`Checked ${checked} before the problem.`);
    process.exitCode = 1;
    return;
  }
  console.log(`OK: verified ${checked}.`);
  const end = result.from + result.entries;
  const signed = result.lastGoodHead ?? result.from;
  if (signed >= end) return;
  if (result.signedBeyond === undefined) console.log(`Note: seq ${signed + 1}..${end} come after the last signed head: no signature covers them yet.`);
  else {
    console.log(`Note: seq ${signed + 1}..${end} come after the last head within ${what}; head ${result.signedBeyond}, past its end, signs them `
      + '(its signature was checked, its root cannot be recomputed without the entries after them).');
  }
}

function blindingOption(blinding: AuditBlinding | undefined): { blinding?: AuditBlinding } {
  return blinding === undefined ? {} : { blinding };
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function plural(n: number, one: string, many: string): string {
  return `${count(n)} ${n === 1 ? one : many}`;
}

