import { Readable } from 'node:stream';
import { Value } from 'typebox/value';
import type { AuditBlinding } from '../../audit/blinding.js';
import type { LogProofs } from '../../audit/log-proofs.js';
import type { Instant } from '../../domain/time.js';
import { toCsv, type CsvValue } from '../../reports/csv.js';
import type { StoredTreeHead } from '../../store/audit-repository.js';
import type { Store } from '../../store/store.js';
import { treeHeadView } from '../audit/audit-schemas.js';
import { accessHistory, withProofs } from './access-history.js';
import { memberApps, readPrivacy } from './member-privacy.js';
import { AccessHistoryItem, MemberApp } from './privacy-schemas.js';

/**
 * The member's export (GDPR Art. 15 and 20, PRODUCT.md §6): their settings, every grant they gave,
 * and their whole access history, each entry with its inclusion proof against one signed tree head
 * (the latest when the export starts), streamed page by page so a long history never sits in memory.
 * A stream bypasses the response schema, so each item is cleaned against its schema before it is
 * written: nothing leaves that the JSON API would not let leave.
 */

/** CSV is one table per request: the access history (default), the grants, or the settings. */
export type ExportPart = 'access_history' | 'grants' | 'settings';

const PAGE = 100;

export interface ExportSource {
  readonly store: Store;
  readonly proofs: LogProofs;
  readonly blinding: AuditBlinding;
  readonly memberId: string;
  readonly now: Instant;
}

/** The access history, newest first, every entry proven against `head`. */
async function* provenHistory(source: ExportSource, head: StoredTreeHead | undefined): AsyncGenerator<AccessHistoryItem> {
  let after: string | undefined;
  do {
    const page = await accessHistory(source.store, source.memberId, PAGE, after);
    const proven = await withProofs(source.store, source.proofs, page, source.blinding, head);
    for (const item of proven.data) yield Value.Clean(AccessHistoryItem, structuredClone(item)) as AccessHistoryItem;
    after = page.after;
  } while (after !== undefined);
}

/** `{"member_id",…,"settings","grants","tree_head","access_history":[…]}`, one history entry per line. */
export function exportJson(source: ExportSource): Readable {
  return Readable.from((async function* () {
    const head = await source.store.audit.latestHead();
    const settings = await readPrivacy(source.store, source.memberId);
    const grants = (await memberApps(source.store, source.memberId, source.now)).map((grant) => Value.Clean(MemberApp, grant));
    const opening = {
      member_id: source.memberId,
      generated_at: new Date(source.now).toISOString(),
      settings,
      grants,
      tree_head: head === undefined ? null : treeHeadView(head),
    };
    yield `${JSON.stringify(opening).slice(0, -1)},"access_history":[`;
    let first = true;
    for await (const item of provenHistory(source, head)) {
      yield `${first ? '' : ','}\n${JSON.stringify(item)}`;
      first = false;
    }
    yield '\n]}\n';
  })(), { objectMode: false });
}

const HISTORY_COLUMNS = [
  'at', 'app_id', 'app_name', 'partner_id', 'partner_legal_name', 'partner_country', 'agreement_id', 'agreement_version',
  'purpose', 'fields', 'via', 'tree_size', 'leaf_index', 'leaf_hash', 'audit_path', 'canonical_entry',
] as const;

function historyRow(item: AccessHistoryItem, treeSize: number | null): CsvValue[] {
  const proof = item.proof ?? null;
  return [
    item.at, item.app.id, item.app.name, item.partner.id, item.partner.legal_name, item.partner.country,
    item.agreement?.id ?? '', item.agreement?.version ?? '', item.purpose ?? '', item.fields.join(' '), item.via,
    proof === null || treeSize === null ? '' : treeSize, proof?.leaf_index ?? '', proof?.leaf_hash ?? '',
    proof?.audit_path.join(' ') ?? '', proof?.canonical_entry ?? '',
  ];
}

const GRANT_COLUMNS = [
  'grant_id', 'app_id', 'app_name', 'partner_name', 'partner_country', 'purpose', 'member_fields', 'friend_fields',
  'granted_at', 'last_used_at', 'status', 'ended_at', 'end_reason',
] as const;

/** One CSV table: `part` of the export. */
export function exportCsv(source: ExportSource, part: ExportPart): Readable {
  return Readable.from((async function* () {
    if (part === 'settings') {
      const settings = await readPrivacy(source.store, source.memberId);
      const rows: CsvValue[][] = [['platform_enabled', String(settings.platform_enabled)], ['share_via_friends', String(settings.share_via_friends)]];
      for (const [field, audience] of Object.entries(settings.audiences)) rows.push([`audience.${field}`, audience]);
      yield toCsv(['setting', 'value'], rows);
      return;
    }
    if (part === 'grants') {
      const grants = await memberApps(source.store, source.memberId, source.now);
      yield toCsv(GRANT_COLUMNS, grants.map((g) => [
        g.grant_id, g.app.id, g.app.name, g.partner.name, g.partner.country, g.purpose, g.member_fields.join(' '),
        g.friend_fields.join(' '), g.granted_at, g.last_used_at ?? '', g.status, g.ended_at ?? '', g.end_reason ?? '',
      ]));
      return;
    }
    const head = await source.store.audit.latestHead();
    const rows: CsvValue[][] = [];
    let header = true;
    for await (const item of provenHistory(source, head)) {
      rows.push(historyRow(item, head?.size ?? null));
      if (rows.length === PAGE) {
        yield toCsv(HISTORY_COLUMNS, rows.splice(0), { header });
        header = false;
      }
    }
    if (rows.length > 0 || header) yield toCsv(HISTORY_COLUMNS, rows, { header });
  })(), { objectMode: false });
}
