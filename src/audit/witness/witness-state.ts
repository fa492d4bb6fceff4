import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { LogState, WitnessStateStore } from './witness.js';

/**
 * The witness's state in one JSON file, `{"logs":{"<origin>":{"size","root","note"}}}`, replaced
 * whole on each change: written to a temporary file beside it, flushed to disk, then renamed over
 * it (and the folder flushed), so a crash leaves the old state or the new one, never half of one.
 */
export class FileWitnessState implements WitnessStateStore {
  private logs: Record<string, LogState>;

  constructor(private readonly path: string) {
    this.logs = readState(path);
  }

  get(origin: string): LogState | undefined {
    return Object.hasOwn(this.logs, origin) ? this.logs[origin] : undefined;
  }

  async put(origin: string, state: LogState): Promise<void> {
    // Synchronous writes: the file is small, and the witness waits for it before answering anyway.
    const logs = { ...this.logs, [origin]: state };
    const temporary = join(dirname(this.path), `.state-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
    createFileExclusive(temporary, `${JSON.stringify({ logs }, null, 2)}\n`, 0o600);
    renameSync(temporary, this.path);
    syncFolder(dirname(this.path));
    this.logs = logs;
  }
}

function readState(path: string): Record<string, LogState> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  const parsed = JSON.parse(text) as { logs?: Record<string, LogState> };
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.logs !== 'object' || parsed.logs === null) {
    throw new Error(`${path} is not a witness state file`);
  }
  return parsed.logs;
}

function syncFolder(folder: string): void {
  const fd = openSync(folder, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes a new file that must not exist yet (a key, a config), flushed. */
export function createFileExclusive(path: string, content: string, mode: number): void {
  const fd = openSync(path, 'wx', mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
