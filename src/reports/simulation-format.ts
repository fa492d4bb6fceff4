import Table from 'cli-table3';
import { toCsv } from './csv.js';
import type { AuditReplayResult } from './audit-replay.js';
import type { FieldLine, SimulationResult } from './simulation.js';

/** A simulation and an audit replay as JSON, CSV (a simulation's field lines) and a terminal table. */

export const SIMULATION_FORMATS = ['table', 'csv', 'json'] as const;
export type SimulationFormat = (typeof SIMULATION_FORMATS)[number];

export function isSimulationFormat(value: string): value is SimulationFormat {
  return (SIMULATION_FORMATS as readonly string[]).includes(value);
}

const FIELD_COLUMNS: readonly (keyof FieldLine)[] = [
  'field', 'released_more', 'released_less', 'members_more_direct', 'members_more_through_friends',
  'members_less_direct', 'members_less_through_friends', 'reason_changed',
];

const PLAIN = { head: [], border: [], compact: true };
/** The table's columns: `members` are distinct members released directly (to their own token), `via friends` through a friend's. */
const count = (n: number) => n.toLocaleString('en');

function proposalText(result: SimulationResult): string {
  return Object.entries(result.proposal).map(([key, value]) => `${key}=${Array.isArray(value) ? value.join(',') : JSON.stringify(value)}`).join(' ')
    + (result.draft_agreement_id === null ? '' : ` (the draft ${result.draft_agreement_id})`);
}

function simulationTable(result: SimulationResult): string {
  const lines = [
    `Simulation of ${result.agreement_id}: ${proposalText(result)}`,
    `Requests logged ${result.from} to ${result.to}: ${count(result.requests)} (${count(result.subject_decisions)} subject decisions); `
      + `${count(result.requests_changed)} would have been decided otherwise.`,
  ];
  if (result.fields.length === 0) lines.push('No field would have been released more or less.');
  else {
    const table = new Table({
      head: ['field', 'less: times', 'members direct', 'via friends', 'more: times', 'members direct', 'via friends', 'other reason'],
      style: PLAIN, colAligns: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    });
    for (const line of result.fields) {
      table.push([line.field, count(line.released_less), count(line.members_less_direct), count(line.members_less_through_friends),
        count(line.released_more), count(line.members_more_direct), count(line.members_more_through_friends), count(line.reason_changed)]);
    }
    lines.push(table.toString());
  }
  const m = result.members;
  lines.push(`Distinct members released less: ${count(m.less_direct)} directly, ${count(m.less_through_friends)} through friends; `
    + `more: ${count(m.more_direct)} directly, ${count(m.more_through_friends)} through friends.`);
  for (const refusal of result.refused) {
    lines.push(`Would have been refused: ${count(refusal.requests)} requests (${refusal.code}${refusal.cause ? `: ${refusal.cause}` : ''}).`);
  }
  if (result.served_instead > 0) lines.push(`Would have been served instead of refused: ${count(result.served_instead)} requests (their subjects are unknown: the log lists none).`);
  for (const skip of result.skipped) lines.push(`Not replayed: ${count(skip.requests)} requests (${skip.reason}).`);
  if (result.differ_from_log_today > 0) {
    lines.push(`Note: ${count(result.differ_from_log_today)} requests replayed under their own terms already differ from the log today (members changed their settings since).`);
  }
  lines.push(result.world_note);
  return `${lines.join('\n')}\n`;
}

export function formatSimulation(result: SimulationResult, format: SimulationFormat): string {
  if (format === 'json') return `${JSON.stringify(result, null, 2)}\n`;
  if (format === 'csv') return toCsv(FIELD_COLUMNS, result.fields.map((line) => FIELD_COLUMNS.map((column) => line[column])));
  return simulationTable(result);
}

export function formatAuditReplay(result: AuditReplayResult, format: SimulationFormat): string {
  if (format === 'json') return `${JSON.stringify(result, null, 2)}\n`;
  if (format === 'csv') {
    const columns = ['seq', 'at', 'agreement_id', 'agreement_version', 'rules_version', 'kind', 'difference'] as const;
    return toCsv(columns, result.listed.map((line) => columns.map((column) => line[column] ?? '')));
  }
  const lines = [
    `Replayed ${count(result.requests)} Graph API requests logged ${Date.parse(result.from) === 0 ? 'from the start of the log' : result.from} to ${result.to} (${count(result.subject_decisions)} subject decisions): `
      + `${count(result.same)} decided as logged.`,
    `Differences the rules make: ${count(result.differences.rules)}; explained by members' settings changed since: ${count(result.differences.member_settings)}.`,
  ];
  for (const skip of result.skipped) lines.push(`Skipped: ${count(skip.requests)} requests (${skip.reason}).`);
  for (const line of result.listed) lines.push(`  #${line.seq} ${line.at} ${line.agreement_id ?? '-'} v${line.agreement_version ?? '-'} [${line.kind}] ${line.difference}`);
  lines.push(result.world_note);
  return `${lines.join('\n')}\n`;
}
