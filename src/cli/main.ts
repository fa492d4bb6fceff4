import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { PROJECT_ROOT } from '../project-root.js';

const { version } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };

/**
 * Each command's module, loaded only when it runs: `serve` pulls in the whole HTTP stack (Fastify,
 * oidc-provider, the console), about a second of start-up that `report` or `audit verify` would
 * otherwise pay on every call. `datapact --help` (or an unknown command) loads them all.
 */
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  serve: async () => (await import('./commands/serve.js')).serveCommand(),
  seed: async () => (await import('./commands/seed.js')).seedCommand(),
  migrate: async () => (await import('./commands/migrate.js')).migrateCommand(),
  tokens: async () => (await import('./commands/tokens.js')).tokensCommand(),
  staff: async () => (await import('./commands/staff.js')).staffCommand(),
  tick: async () => (await import('./commands/tick.js')).tickCommand(),
  report: async () => (await import('./commands/report.js')).reportCommand(),
  simulate: async () => (await import('./commands/simulate.js')).simulateCommand(),
  audit: async () => (await import('./commands/audit.js')).auditCommand(),
  'demo-credentials': async () => (await import('./commands/demo-credentials.js')).demoCredentialsCommand(),
  witness: async () => (await import('./commands/witness.js')).witnessCommand(),
};

async function program(argv: readonly string[]): Promise<Command> {
  const program = new Command('datapact')
    .version(version, '-V, --version', 'print the version of datapact')
    .description('Datapact: share member data with partners under agreements, and prove what was shared')
    .showHelpAfterError();
  const named = argv[2];
  const wanted = named !== undefined && Object.hasOwn(COMMANDS, named) ? [COMMANDS[named]!] : Object.values(COMMANDS);
  for (const command of await Promise.all(wanted.map((load) => load()))) program.addCommand(command);
  return program;
}

try {
  await (await program(process.argv)).parseAsync(process.argv);
} catch (error) {
  console.error(`datapact: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
