import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { Cosigner, noteVerifierFromKey } from '../cosignature.js';
import { ED25519_NOTE_TYPE, isValidKeyName, parseVerifierKey } from '../signed-note.js';
import { createFileExclusive, FileWitnessState } from './witness-state.js';
import { Witness, type TrustedLog } from './witness.js';

/**
 * A witness's folder, all of it the auditor's own: `witness.json` (its name and the logs it
 * follows), `witness-ed25519.pem` (its signing key, PKCS#8, mode 0600) and `state.json` (the latest
 * checkpoint it cosigned of each log).
 */
export const CONFIG_FILE = 'witness.json';
export const KEY_FILE = 'witness-ed25519.pem';
export const STATE_FILE = 'state.json';

interface WitnessConfig {
  readonly name: string;
  readonly logs: readonly TrustedLog[];
}

/** A log to trust from its verifier key (Ed25519, type 0x01); its origin defaults to the key's name. */
export function trustedLog(vkey: string, origin?: string): TrustedLog {
  const key = parseVerifierKey(vkey);
  if (key.type !== ED25519_NOTE_TYPE) throw new Error(`${vkey} is not a log's key (Ed25519 signed-note, type 0x01)`);
  noteVerifierFromKey(vkey);
  const logOrigin = origin ?? key.name;
  if (logOrigin === '' || logOrigin.includes('\n')) throw new Error('an origin is one non-empty line');
  return { origin: logOrigin, vkey };
}

/** Makes the folder's key and config; refuses a folder that already holds a witness. */
export function initWitnessFolder(dir: string, name: string, logs: readonly TrustedLog[]): Cosigner {
  if (!isValidKeyName(name)) throw new Error(`'${name}' cannot name a witness: no spaces or '+' (a schema-less URL such as auditor.example/witness)`);
  if (existsSync(join(dir, CONFIG_FILE)) || existsSync(join(dir, KEY_FILE))) throw new Error(`${dir} already holds a witness`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  createFileExclusive(join(dir, KEY_FILE), pem, 0o600);
  writeConfig(dir, { name, logs });
  return Cosigner.fromPem(name, pem);
}

/** Adds (or replaces, by origin) a log the witness follows. */
export function trustLog(dir: string, log: TrustedLog): void {
  const config = readConfig(dir);
  writeConfig(dir, { ...config, logs: [...config.logs.filter((l) => l.origin !== log.origin), log] });
}

export function openWitnessFolder(dir: string, clock?: () => number): Witness {
  const config = readConfig(dir);
  const cosigner = Cosigner.fromPem(config.name, readFileSync(join(dir, KEY_FILE), 'utf8'));
  return new Witness({ cosigner, logs: config.logs, state: new FileWitnessState(join(dir, STATE_FILE)), clock });
}

function readConfig(dir: string): WitnessConfig {
  const path = join(dir, CONFIG_FILE);
  if (!existsSync(path)) throw new Error(`no witness in ${dir}: run \`datapact witness init\` first`);
  const config = JSON.parse(readFileSync(path, 'utf8')) as WitnessConfig;
  if (typeof config.name !== 'string' || !Array.isArray(config.logs)) throw new Error(`${path} is not a witness config`);
  return { name: config.name, logs: config.logs.map((log) => trustedLog(log.vkey, log.origin)) };
}

function writeConfig(dir: string, config: WitnessConfig): void {
  const temporary = join(dir, `.${CONFIG_FILE}.tmp`);
  createFileExclusive(temporary, `${JSON.stringify(config, null, 2)}\n`, 0o600);
  renameSync(temporary, join(dir, CONFIG_FILE));
}
