import { resolve } from 'node:path';
import { Command } from 'commander';
import { initWitnessFolder, openWitnessFolder, trustedLog, trustLog } from '../../audit/witness/witness-folder.js';

/**
 * `datapact witness`: a C2SP tlog-witness that an auditor runs on their own machine, with their
 * own key and state (README, "Checkpoints and witnesses"). It cosigns a log's checkpoint only with
 * a valid consistency proof from the last one it cosigned.
 */
export function witnessCommand(): Command {
  const witness = new Command('witness').description('Run a transparency-log witness (C2SP tlog-witness) that cosigns the audit log\'s checkpoints');
  witness.addCommand(initCommand());
  witness.addCommand(trustCommand());
  witness.addCommand(keyCommand());
  witness.addCommand(serveWitnessCommand());
  return witness;
}

const DIR_HELP = 'the witness folder: its key, the logs it follows, what it cosigned (default: DATAPACT_WITNESS_DIR or ./witness)';

function folder(options: { dir?: string }): string {
  return resolve(options.dir ?? process.env.DATAPACT_WITNESS_DIR ?? './witness');
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function initCommand(): Command {
  return new Command('init')
    .description('Make a witness: a new Ed25519 key and an empty state, in its own folder; prints its verifier key')
    .requiredOption('--name <name>', 'the witness\'s name, a schema-less URL such as auditor.example/witness')
    .option('--log <vkey>', 'a log to follow, by its verifier key (GET /v1/audit/verifier-key); repeatable', collect)
    .option('--dir <dir>', DIR_HELP)
    .action((options: { name: string; log?: string[]; dir?: string }) => {
      const dir = folder(options);
      const cosigner = initWitnessFolder(dir, options.name, (options.log ?? []).map((vkey) => trustedLog(vkey)));
      console.log(cosigner.verifierKey);
      console.error(`Witness ${options.name} made in ${dir}. Give the line above (its verifier key) to the logs it witnesses and to whoever checks its cosignatures.`);
    });
}

function trustCommand(): Command {
  return new Command('trust')
    .description('Follow one more log (or replace the key of one followed), by the log\'s verifier key')
    .argument('<vkey>', 'the log\'s verifier key, <origin>+<key id>+<key>')
    .option('--origin <origin>', 'the checkpoints\' origin line, when it differs from the key\'s name')
    .option('--dir <dir>', DIR_HELP)
    .action((vkey: string, options: { origin?: string; dir?: string }) => {
      const log = trustedLog(vkey, options.origin);
      trustLog(folder(options), log);
      console.error(`Following ${log.origin}.`);
    });
}

function keyCommand(): Command {
  return new Command('key')
    .description('Print the witness\'s verifier key (cosignature/v1)')
    .option('--dir <dir>', DIR_HELP)
    .action((options: { dir?: string }) => {
      console.log(openWitnessFolder(folder(options)).cosigner.verifierKey);
    });
}

function serveWitnessCommand(): Command {
  return new Command('serve')
    .description('Serve tlog-witness: POST /add-checkpoint, GET /<sha256(origin)>/checkpoint')
    .option('--port <port>', 'port to listen on', '8090')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--dir <dir>', DIR_HELP)
    .action(async (options: { port: string; host: string; dir?: string }) => {
      const witness = openWitnessFolder(folder(options));
      const { buildWitnessServer } = await import('../../audit/witness/witness-server.js');
      const server = await buildWitnessServer(witness, { level: process.env.LOG_LEVEL ?? 'info' });
      const close = async () => {
        await server.close();
        process.exit(0);
      };
      process.once('SIGINT', close);
      process.once('SIGTERM', close);
      const url = await server.listen({ port: Number(options.port), host: options.host });
      console.log(`Witness ${witness.cosigner.name} listening on ${url}`);
      console.log(`Verifier key: ${witness.cosigner.verifierKey}`);
    });
}
