import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { auditCommand } from './commands/audit.js';
import { demoCredentialsCommand } from './commands/demo-credentials.js';
import { migrateCommand } from './commands/migrate.js';
import { reportCommand } from './commands/report.js';
import { seedCommand } from './commands/seed.js';
import { serveCommand } from './commands/serve.js';
import { simulateCommand } from './commands/simulate.js';
import { staffCommand } from './commands/staff.js';
import { tickCommand } from './commands/tick.js';
import { tokensCommand } from './commands/tokens.js';
import { witnessCommand } from './commands/witness.js';

/** package.json's version: src/cli/ and dist/cli/ are both two folders below it. */
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('datapact')
  .version(version, '-V, --version', 'print the version of datapact')
  .description('Datapact: share member data with partners under agreements, and prove what was shared')
  .showHelpAfterError()
  .addCommand(serveCommand())
  .addCommand(seedCommand())
  .addCommand(migrateCommand())
  .addCommand(tokensCommand())
  .addCommand(staffCommand())
  .addCommand(tickCommand())
  .addCommand(reportCommand())
  .addCommand(simulateCommand())
  .addCommand(auditCommand())
  .addCommand(demoCredentialsCommand())
  .addCommand(witnessCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  console.error(`datapact: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
