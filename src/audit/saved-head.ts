import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { StoredTreeHead } from '../store/audit-repository.js';
import { treeHeadFromJson, treeHeadToJson } from './tree-head.js';

/** The file in the data directory that keeps the latest head this log signed. */
export const SAVED_HEAD_FILE = 'audit-checkpoint';

export function savedHeadPath(dataDir: string): string {
  return join(dataDir, SAVED_HEAD_FILE);
}

/**
 * The latest signed head, kept outside the database (issue 11, point 1): someone who can write the
 * database but not the data directory can delete heads from the database, not this copy, so the
 * log still knows how far its signed history went and refuses to start on a rewritten one.
 */
export function readSavedHead(path: string): StoredTreeHead | undefined {
  if (!existsSync(path)) return undefined;
  let json: { key_id?: unknown };
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as { key_id?: unknown };
  } catch (error) {
    throw new Error(`${path} is not the audit log's saved head: ${(error as Error).message}`);
  }
  const { key_id: keyId, ...head } = json;
  if (typeof keyId !== 'string') throw new Error(`${path} is not the audit log's saved head: it names no key_id`);
  return { ...treeHeadFromJson(head), keyId };
}

/** Written whole to a file of its own and renamed into place: a reader never sees half a head. */
export function saveHead(path: string, head: StoredTreeHead): void {
  mkdirSync(dirname(path), { recursive: true });
  const draft = `${path}.${process.pid}.${randomBytes(6).toString('hex')}`;
  writeFileSync(draft, `${JSON.stringify({ ...treeHeadToJson(head), key_id: head.keyId })}\n`, { mode: 0o644 });
  renameSync(draft, path);
}
