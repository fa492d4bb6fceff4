import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/project-root.js';

/**
 * Go's golang.org/x/mod/sumdb/note, the reference signed-note implementation, as an outside
 * verifier of what Datapact publishes. Needs the `go` command and the package in GOPATH form
 * (Debian: `apt-get install golang-go golang-golang-x-mod-dev`); tests skip when either is missing.
 */
const GOPATH = process.env.DATAPACT_TEST_GOPATH ?? '/usr/share/gocode';
const PROGRAM = join(PROJECT_ROOT, 'test', 'fixtures', 'go-note-open', 'main.go');

export function goNoteAvailable(): boolean {
  if (!existsSync(`${GOPATH}/src/golang.org/x/mod/sumdb/note/note.go`)) return false;
  return spawnSync('go', ['version'], { encoding: 'utf8' }).status === 0;
}

/** Runs Go's `note.Open` on the note with these verifier keys: exit status and what it printed. */
export function goNoteOpen(note: string, vkeys: readonly string[]): { status: number | null; output: string } {
  const run = spawnSync('go', ['run', PROGRAM, ...vkeys], {
    input: note,
    encoding: 'utf8',
    env: { ...process.env, GO111MODULE: 'off', GOPATH, GOCACHE: process.env.GOCACHE ?? '/tmp/datapact-go-cache', GOFLAGS: '' },
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}
