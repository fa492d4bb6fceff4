import { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { findDemoCredentials, refusalMessage, removeDemoCredentials } from '../../seed/demo-credentials.js';
import { DATABASE_OPTION, openStore, openStoreToRead } from '../open-store.js';

/**
 * `datapact demo-credentials`: what a production server refuses to start with (the demo world's
 * passwords, client secrets and plain-http redirect URIs), and their removal. Works on the database
 * directly, since the server that would offer the admin API does not start while they exist.
 */
export function demoCredentialsCommand(): Command {
  const command = new Command('demo-credentials')
    .description('The demo world\'s published credentials, which a production server refuses to start with');
  command
    .command('check')
    .description('List the demo credentials in the database; exit 1 when there are any')
    .option('--database <path|url>', DATABASE_OPTION)
    .action(async (options) => {
      const store = await openStoreToRead(options.database ?? loadConfig().database);
      try {
        const found = await findDemoCredentials(store);
        if (found.length === 0) {
          console.error('No demo credentials: a production server can start on this database.');
          return;
        }
        console.error(refusalMessage(found).replace(/^Refusing to start in production: the database/, 'The database'));
        process.exitCode = 1;
      } finally {
        await store.close();
      }
    });
  command
    .command('remove')
    .description('Disable demo staff accounts, delete demo members\' passwords, rotate demo client secrets (the new ones are '
      + 'printed once, on stdout), remove plain-http redirect URIs; each change is audited')
    .option('--database <path|url>', DATABASE_OPTION)
    .action(async (options) => {
      const store = await openStore(options.database ?? loadConfig().database, 'existing');
      try {
        const removed = await removeDemoCredentials(store, Date.now());
        for (const email of removed.staffDisabled) console.error(`Disabled staff account ${email} (it had the demo password).`);
        if (removed.memberPasswordsDeleted > 0) console.error(`Deleted the demo password of ${removed.memberPasswordsDeleted} member(s).`);
        for (const { appId, uri } of removed.redirectUrisRemoved) console.error(`Removed redirect URI ${uri} from app ${appId}.`);
        if (removed.rotatedSecrets.length > 0) console.error('New client secrets (shown this once; hand each to its partner):');
        for (const { appId, clientSecret } of removed.rotatedSecrets) console.log(`${appId} ${clientSecret}`);
        const total = removed.staffDisabled.length + removed.memberPasswordsDeleted + removed.redirectUrisRemoved.length + removed.rotatedSecrets.length;
        console.error(total === 0 ? 'No demo credentials to remove.' : 'Done: a production server can start on this database.');
      } finally {
        await store.close();
      }
    });
  return command;
}
