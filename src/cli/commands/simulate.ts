import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../../config.js';
import type { ProposalBody } from '../../domain/simulation-proposal.js';
import { formatSimulation, isSimulationFormat, SIMULATION_FORMATS, type SimulationFormat } from '../../reports/simulation-format.js';
import { simulate } from '../../reports/simulation.js';
import { DATABASE_OPTION, openStoreToRead } from '../open-store.js';
import { afterOneSecond, withProgressBar } from '../progress-bar.js';

const LIST_KEYS = ['member_fields', 'friend_fields', 'purposes', 'sensitive_fields'] as const;
const INSTANT_KEYS = ['starts_at', 'ends_at'] as const;
const PHASE_KEYS = ['no_new_grants', 'no_friend_data', 'access_ended'] as const;

export function instantOption(value: string): number {
  const parsed = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(parsed)) throw new InvalidArgumentError('expected an ISO 8601 date or time, e.g. 2026-06-01T00:00:00Z');
  return parsed;
}

export function formatOption(value: string): SimulationFormat {
  if (!isSimulationFormat(value)) throw new InvalidArgumentError(`expected one of ${SIMULATION_FORMATS.join(', ')}`);
  return value;
}

/** `--set key=value`, repeatable, into the API's proposal body: lists comma-separated, wind-down phases as `wind_down.<phase>`. */
function setting(value: string, body: ProposalBody = {}): ProposalBody {
  const at = value.indexOf('=');
  const key = at < 0 ? value : value.slice(0, at);
  const text = at < 0 ? '' : value.slice(at + 1);
  if ((LIST_KEYS as readonly string[]).includes(key)) {
    return { ...body, [key]: text.split(',').map((name) => name.trim()).filter((name) => name !== '') };
  }
  if ((INSTANT_KEYS as readonly string[]).includes(key)) return { ...body, [key]: new Date(instantOption(text)).toISOString() };
  if (key === 'wind_down' && text === 'none') return { ...body, wind_down: null };
  const phase = key.startsWith('wind_down.') ? key.slice('wind_down.'.length) : '';
  if ((PHASE_KEYS as readonly string[]).includes(phase)) {
    return { ...body, wind_down: { ...(body.wind_down ?? {}), [phase]: new Date(instantOption(text)).toISOString() } };
  }
  throw new InvalidArgumentError(`unknown key ${JSON.stringify(key)}: use ${[...LIST_KEYS, ...INSTANT_KEYS].join(', ')}, `
    + `wind_down.${PHASE_KEYS.join(', wind_down.')} or wind_down=none`);
}

interface SimulateOptions {
  agreement: string; set?: ProposalBody; draft?: boolean; from?: number; to?: number; now?: number; format: SimulationFormat; database?: string;
}

/** `datapact simulate`: what an agreement change would have changed over the requests logged for it (issue 15). Reads only. */
export function simulateCommand(): Command {
  return new Command('simulate')
    .description('Replay the requests logged for an agreement (default: the last 90 days) under a proposed change and say what would '
      + 'have been released more or less, to how many members, and which requests refused. Nothing is changed or stored.')
    .requiredOption('--agreement <id>', 'the agreement')
    .option('--set <key=value>', 'a change, repeatable: member_fields=a,b | friend_fields=a,b | purposes=a,b | sensitive_fields=a | '
      + 'starts_at=ISO | ends_at=ISO | wind_down.no_new_grants=ISO | wind_down.no_friend_data=ISO | wind_down.access_ended=ISO | wind_down=none', setting)
    .option('--draft', 'simulate the agreement\'s pending draft (its fields and purposes); --set adds to it')
    .option('--from <iso>', 'first instant of the period (default: 90 days before --to)', instantOption)
    .option('--to <iso>', 'end of the period, excluded (default: --now)', instantOption)
    .option('--now <iso>', 'as of this instant (default: now)', instantOption)
    .option('--format <format>', `output format: ${SIMULATION_FORMATS.join(', ')}`, formatOption, 'table' as SimulationFormat)
    .option('--database <path|url>', DATABASE_OPTION)
    .action(async (options: SimulateOptions) => {
      const store = await openStoreToRead(options.database ?? loadConfig().database);
      try {
        const result = await withProgressBar('Replaying', (onProgress) => simulate(store, {
          agreementId: options.agreement,
          proposal: { ...(options.set ?? {}), ...(options.draft ? { draft: true } : {}) },
          now: options.now ?? Date.now(),
          ...(options.from === undefined ? {} : { from: options.from }),
          ...(options.to === undefined ? {} : { to: options.to }),
          onProgress: afterOneSecond(onProgress),
        }));
        process.stdout.write(formatSimulation(result, options.format));
      } finally {
        await store.close();
      }
    });
}
