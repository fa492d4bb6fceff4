import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { auditPublicKeyFromPem, auditSigningKeyPath } from '../../audit/signing-key.js';
import { loadConfig, type Config } from '../../config.js';
import { counterfactualReport } from '../../reports/counterfactual.js';
import { formatCounterfactual } from '../../reports/counterfactual-format.js';
import { exposureReport, monthlyRequest, type ExposureRequest } from '../../reports/exposure.js';
import { formatExposure } from '../../reports/exposure-format.js';
import { formatInventory, INVENTORY_FORMATS, isInventoryFormat, type InventoryFormat } from '../../reports/inventory-format.js';
import { inventoryReport } from '../../reports/inventory.js';
import { formatLeastPrivilege } from '../../reports/least-privilege-format.js';
import { leastPrivilegeReport } from '../../reports/least-privilege.js';
import { packHtml } from '../../reports/pack-html.js';
import { htmlToPdf } from '../../reports/pack-pdf.js';
import { regulatorPack } from '../../reports/pack.js';
import { formatRecords, isRecordsFormat, RECORDS_FORMATS, type RecordsFormat } from '../../reports/records-of-processing-format.js';
import { recordsOfProcessing } from '../../reports/records-of-processing.js';
import type { Store } from '../../store/store.js';
import { DATABASE_OPTION, openStoreToRead } from '../open-store.js';

function format(value: string): InventoryFormat {
  if (!isInventoryFormat(value)) throw new InvalidArgumentError(`expected one of ${INVENTORY_FORMATS.join(', ')}`);
  return value;
}

function recordsFormat(value: string): RecordsFormat {
  if (!isRecordsFormat(value)) throw new InvalidArgumentError(`expected one of ${RECORDS_FORMATS.join(', ')}`);
  return value;
}

function instant(value: string): number {
  const parsed = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(parsed)) throw new InvalidArgumentError('expected an ISO 8601 date or time, e.g. 2026-06-01T00:00:00Z');
  return parsed;
}

interface PeriodOptions { from?: string; to?: string; partner?: string; format: InventoryFormat; now?: number; database?: string }

/** A report over whole UTC months (`--from`, `--to`, `--partner`), in the inventory's formats. */
function monthlyReport(
  parent: Command, name: string, description: string,
  produce: (store: Store, request: ExposureRequest, options: PeriodOptions) => Promise<string>,
): void {
  parent
    .command(name)
    .description(description)
    .option('--from <YYYY-MM>', 'first month (default: --to, or the current month)')
    .option('--to <YYYY-MM>', 'last month, included (default: the current month)')
    .option('--partner <id>', 'only this partner')
    .option('--format <format>', `output format: ${INVENTORY_FORMATS.join(', ')}`, format, 'table' as InventoryFormat)
    .option('--now <iso>', 'report as of this instant (default: now)', instant)
    .option('--database <path|url>', DATABASE_OPTION)
    .action(async (options: PeriodOptions) => {
      const request = monthlyRequest(options.now ?? Date.now(), options.from, options.to, options.partner);
      await printReport(options.database ?? loadConfig().database, (store) => produce(store, request, options));
    });
}

/**
 * Opens the database read-only, writes what `produce` makes of it to stdout (or to `out`), and
 * closes it whatever happens. Nothing is written when `produce` fails.
 */
async function printReport(database: string, produce: (store: Store) => Promise<string | Uint8Array>, out?: string): Promise<void> {
  const store = await openStoreToRead(database);
  try {
    const report = await produce(store);
    if (out === undefined) process.stdout.write(report);
    else {
      writeFileSync(out, report);
      console.error(`Wrote ${out} (${report.length.toLocaleString('en')} ${typeof report === 'string' ? 'characters' : 'bytes'}).`);
    }
  } finally {
    await store.close();
  }
}

const PACK_FORMATS = ['html', 'pdf'] as const;
type PackFormat = (typeof PACK_FORMATS)[number];

function packFormat(value: string): PackFormat {
  if (!(PACK_FORMATS as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${PACK_FORMATS.join(', ')}`);
  return value as PackFormat;
}

/** The key the log's heads are checked with: --public-key, else the data directory's (its public half; never created here). */
function logPublicKey(config: Config, given: string | undefined) {
  const path = given ?? auditSigningKeyPath(config.dataDir);
  if (!existsSync(path)) {
    throw new Error(`no audit signing key at ${path}: the pack checks the latest tree head with the log's public key `
      + '(set DATAPACT_DATA_DIR to the server\'s data directory, or pass --public-key FILE)');
  }
  return auditPublicKeyFromPem(readFileSync(path, 'utf8'), path).publicKey;
}

interface PackOptions { partner?: string; format: PackFormat; now?: number; out?: string; publicKey?: string; database?: string }

async function writePack(options: PackOptions): Promise<void> {
  const config = loadConfig();
  if (options.format === 'pdf' && options.out === undefined && process.stdout.isTTY) {
    throw new Error('a PDF is not for the terminal: pass --out FILE (or redirect stdout to a file)');
  }
  const publicKey = logPublicKey(config, options.publicKey);
  const log = { publicKey, origin: config.logOrigin, witnessKeys: config.witnesses.map((w) => w.vkey), quorum: config.witnessQuorum };
  await printReport(options.database ?? config.database, async (store) => {
    const pack = await regulatorPack({ store, controller: config.controller, log }, {
      now: options.now ?? Date.now(), ...(options.partner === undefined ? {} : { partnerId: options.partner }),
    });
    const document = packHtml(pack);
    return options.format === 'pdf' ? htmlToPdf(document, config.chromium) : document;
  }, options.out);
}

/** `datapact report`: the reports of PRODUCT.md §6, read from the live database, printed to stdout. */
export function reportCommand(): Command {
  const report = new Command('report').description('Reports that answer the regulators\' questions from the live system');
  report
    .command('inventory')
    .description('Every partner and agreement: status, dates, purposes, fields, storage, certification, last access, '
      + 'volume released in the last 30 days, wind-down progress')
    .option('--format <format>', `output format: ${INVENTORY_FORMATS.join(', ')}`, format, 'table' as InventoryFormat)
    .option('--now <iso>', 'report as of this instant (default: now)', instant)
    .option('--database <path|url>', DATABASE_OPTION)
    .action(async (options: { format: InventoryFormat; now?: number; database?: string }) => {
      await printReport(options.database ?? loadConfig().database,
        async (store) => formatInventory(await inventoryReport(store, options.now ?? Date.now()), options.format));
    });
  report
    .command('records')
    .description('Records of processing (GDPR Art. 30) per agreement: controller, purposes, members and data concerned, '
      + 'recipient, transfer and its safeguard, retention, security measures, dates')
    .option('--format <format>', `output format: ${RECORDS_FORMATS.join(', ')}`, recordsFormat, 'table' as RecordsFormat)
    .option('--now <iso>', 'report as of this instant (default: now)', instant)
    .option('--database <path|url>', DATABASE_OPTION)
    .action(async (options: { format: RecordsFormat; now?: number; database?: string }) => {
      const config = loadConfig();
      await printReport(options.database ?? config.database,
        async (store) => formatRecords(await recordsOfProcessing(store, config.controller, options.now ?? Date.now()), options.format));
    });
  monthlyReport(report, 'exposure', 'Distinct members whose data was released, per partner, agreement, month and field: directly, through friends '
    + 'and both together, how many times, and per partner and storage country over the period (whole UTC months)',
  async (store, request, options) => formatExposure(await exposureReport(store, request), options.format));
  monthlyReport(report, 'counterfactual', 'What the 2018 rules would have reached: per partner, the members Datapact released data on beside those the 2018 '
    + 'device-integrated APIs would have exposed through the same requests (every friend, and friends of friends; whole UTC months)',
  async (store, request, options) => formatCounterfactual(await counterfactualReport(store, request), options.format));
  report
    .command('least-privilege')
    .description('Per agreement and per population of its live grants: the purposes and fields allowed and never used in the last '
      + '90 days (member fields never released directly, friend fields never released through friends), as suggested removals')
    .option('--agreement <id>', 'only this agreement')
    .option('--format <format>', `output format: ${INVENTORY_FORMATS.join(', ')}`, format, 'table' as InventoryFormat)
    .option('--now <iso>', 'report as of this instant (default: now)', instant)
    .option('--database <path|url>', DATABASE_OPTION)
    .action(async (options: { agreement?: string; format: InventoryFormat; now?: number; database?: string }) => {
      await printReport(options.database ?? loadConfig().database,
        async (store) => formatLeastPrivilege(await leastPrivilegeReport(store, options.now ?? Date.now(), options.agreement), options.format));
    });
  report
    .command('pack')
    .description("The regulator's pack: one self-contained document (HTML, or PDF through Chromium) answering the 2018 letters' "
      + 'questions for every partner or one: who, which data, since when, stored where, which safeguards, audited how (the latest '
      + 'tree head checked with the log\'s public key), how many members reached (last 12 months) and what the 2018 rules would have reached')
    .option('--partner <id>', 'only this partner')
    .option('--format <format>', `output format: ${PACK_FORMATS.join(', ')}`, packFormat, 'html' as PackFormat)
    .option('--now <iso>', 'report as of this instant (default: now); the audit section is the log as it is when written', instant)
    .option('--out <file>', 'write the document to this file (default: stdout)')
    .option('--public-key <pem>', 'the log\'s public key to check the latest head with (default: the data directory\'s audit key)')
    .option('--database <path|url>', DATABASE_OPTION)
    .action(writePack);
  return report;
}
