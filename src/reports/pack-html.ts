import { FIELD_CLASS, type Field } from '../domain/field-catalog.js';
import { Html, html } from '../web/html.js';
import type { CounterfactualRow } from './counterfactual.js';
import { ANY_FIELD, type ExposureGroupRow } from './exposure.js';
import type { InventoryRow } from './inventory.js';
import type { PartnerMonths, RegulatorPack } from './pack.js';
import type { ProcessingRecord } from './records-of-processing.js';

/**
 * The regulator's pack as one self-contained HTML document: inline CSS, the chart as inline SVG,
 * no script and nothing fetched from anywhere, so that it reads the same offline, printed or as
 * the PDF made from it. Every value goes through `html` (escaped): partner names are typed by people.
 */

const CSS = `
body { font: 10.5pt/1.45 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1b1f24; margin: 2em auto; max-width: 60em; padding: 0 1.5em; }
h1 { font-size: 1.7em; margin: 0 0 .2em; } h2 { font-size: 1.3em; margin: 1.8em 0 .5em; border-bottom: 2px solid #1b1f24; }
h3 { font-size: 1.05em; margin: 1.2em 0 .4em; }
table { border-collapse: collapse; width: 100%; margin: .4em 0 .8em; font-size: .92em; }
th, td { border: 1px solid #c9ced6; padding: .25em .45em; text-align: left; vertical-align: top; }
th { background: #eef1f5; } td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
dl { display: grid; grid-template-columns: 13em 1fr; gap: .2em .8em; margin: .4em 0; } dt { font-weight: bold; } dd { margin: 0; }
.sensitive { color: #9b1c1c; font-weight: bold; } .flag { color: #9b1c1c; } .ok { color: #1a6b2f; }
.muted { color: #5a636e; } .hash { font-family: "DejaVu Sans Mono", monospace; font-size: .85em; word-break: break-all; }
.compare { border-left: 4px solid #1b1f24; padding: .3em .8em; background: #f6f7f9; }
section.partner { break-before: page; }
svg text { font: 9px "DejaVu Sans", Arial, sans-serif; fill: #1b1f24; }
@media print { body { margin: 0; max-width: none; } }
`;

const count = (n: number) => n.toLocaleString('en');
const dayOf = (instant: string | null) => (instant === null ? '-' : instant.slice(0, 10));
const list = (values: readonly string[], none = 'none') => (values.length === 0 ? none : values.join(', '));

/** Fields in the agreement's order, the sensitive ones (GDPR Art. 9 categories) marked. */
function fieldList(fields: readonly string[]): Html {
  if (fields.length === 0) return html`none`;
  return html`${fields.map((field, i) => html`${i === 0 ? '' : ', '}${
    FIELD_CLASS[field as Field] === 'sensitive' ? html`<span class="sensitive">${field}*</span>` : field}`)}`;
}

function storageText(location: string, country: string | null): string {
  return country === null ? (location === 'on_device' ? "on the member's device" : location) : `partner's servers in ${country}`;
}

const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A small bar chart of members reached per month, drawn here as SVG (no library, no script). */
export function monthChart(series: PartnerMonths, legalName: string): Html {
  const width = 560;
  const height = 170;
  const left = 44;
  const top = 14;
  const bottom = 30;
  const plot = height - top - bottom;
  const step = (width - left - 6) / series.months.length;
  const max = Math.max(1, ...series.months.map((m) => m.members_total));
  const y = (value: number) => top + plot - (value / max) * plot;
  const bars = series.months.map(({ month, members_total: value }, i) => {
    const x = left + i * step;
    const monthIndex = Number(month.slice(5)) - 1;
    const label = i === 0 || monthIndex === 0 ? `${MONTH_NAMES[monthIndex]} ${month.slice(0, 4)}` : MONTH_NAMES[monthIndex]!;
    const barY = y(value);
    return html`<g><title>${month}: ${count(value)} members</title>
<rect x="${(x + step * 0.15).toFixed(1)}" y="${barY.toFixed(1)}" width="${(step * 0.7).toFixed(1)}" height="${(top + plot - barY).toFixed(1)}" fill="#2f5d8a"/>
${value > 0 ? html`<text x="${(x + step / 2).toFixed(1)}" y="${(barY - 3).toFixed(1)}" text-anchor="middle">${count(value)}</text>` : ''}
<text x="${(x + step / 2).toFixed(1)}" y="${height - bottom + 13}" text-anchor="middle">${label}</text></g>`;
  });
  return html`<svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img"
 aria-label="${`Members of ${legalName} reached per month, ${series.months[0]?.month} to ${series.months.at(-1)?.month}`}">
<line x1="${left}" y1="${top + plot}" x2="${width - 4}" y2="${top + plot}" stroke="#1b1f24"/>
<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plot}" stroke="#1b1f24"/>
<text x="${left - 4}" y="${top + plot + 3}" text-anchor="end">0</text>
<text x="${left - 4}" y="${top + 3}" text-anchor="end">${count(max)}</text>
${bars}
</svg>`;
}

function compareText(released: number, row: CounterfactualRow | undefined): Html {
  if (row === undefined) return html`<p class="compare">No request of this partner's apps in the period.</p>`;
  return html`<p class="compare">Datapact released data on <strong>${count(released)}</strong> members; the 2018 rules would have exposed
 <strong>${count(row.reach_2018)}</strong>, of which <strong>${count(row.reach_2018_friends_of_friends_only)}</strong> only as friends of friends
 (through the requests of ${count(row.token_members)} ${row.token_members === 1 ? 'member' : 'members'} who used the partner's apps).</p>`;
}

function glanceRow(pack: RegulatorPack, partnerId: string, rows: readonly InventoryRow[]): Html {
  const first = rows[0]!;
  const agreements = rows.filter((row) => row.agreement_id !== null);
  const since = agreements.map((row) => row.starts_at!).sort()[0] ?? null;
  const stored = [...new Set(rows.map((row) => storageText(row.storage_location, row.storage_country)))];
  const reached = pack.exposure.by_partner.find((row) => row.partner_id === partnerId)?.members_total ?? 0;
  const reach2018 = pack.counterfactual.data.find((row) => row.partner_id === partnerId);
  return html`<tr><td>${first.partner_legal_name}<br><span class="muted">${partnerId}</span></td><td>${first.partner_country}</td>
<td>${first.risk_flags.length === 0 ? 'none' : html`<span class="flag">${first.risk_flags.join(', ')}</span>`}</td>
<td>${agreements.length === 0 ? 'no agreement' : agreements.map((row, i) => html`${i === 0 ? '' : html`<br>`}${row.agreement_id} v${row.version}: ${row.status}${row.in_effect ? ', in effect' : `, not in effect (${row.not_in_effect_cause})`}`)}</td>
<td>${dayOf(since)}</td><td>${list(stored)}</td><td class="n">${count(reached)}</td><td class="n">${reach2018 === undefined ? '-' : count(reach2018.reach_2018)}</td></tr>`;
}

function glance(pack: RegulatorPack, partners: ReadonlyMap<string, InventoryRow[]>): Html {
  return html`<h2>At a glance</h2>
<table><thead><tr><th>Partner</th><th>Country</th><th>Risk flags</th><th>Agreements</th><th>Since</th><th>Stored</th>
<th class="n">Members reached</th><th class="n">2018 rules would have reached</th></tr></thead>
<tbody>${[...partners].map(([id, rows]) => glanceRow(pack, id, rows))}</tbody></table>
<p class="muted">Members reached: distinct members whose data was released to the partner, directly or through friends, ${pack.from} to ${pack.to}.
Fields marked <span class="sensitive">*</span> are sensitive (GDPR Art. 9 categories).</p>`;
}

function auditSection(pack: RegulatorPack): Html {
  const { audit } = pack;
  const { head, witnesses } = audit;
  const verdict = (ok: boolean | null, none: string) => (ok === null ? none : ok ? html`<span class="ok">valid</span>` : html`<span class="flag">INVALID</span>`);
  const headPart = head === null
    ? html`<p class="flag">No tree head has been signed yet: nothing in the log is covered by a signature.</p>`
    : html`<dl><dt>Tree size</dt><dd>${count(head.tree_size)} entries (the log holds ${count(audit.entries)} now)</dd>
<dt>Root hash</dt><dd class="hash">${head.root_hash}</dd><dt>Signed at</dt><dd>${head.signed_at}</dd><dt>Origin</dt><dd>${head.origin}</dd>
<dt>Head signature</dt><dd>${verdict(head.signature_valid, '')}</dd>
<dt>Checkpoint signature</dt><dd>${verdict(head.checkpoint_signature_valid, 'none (signed before checkpoints)')}</dd>
<dt>Verdict</dt><dd>${head.verified ? html`<strong class="ok">verified</strong>` : html`<strong class="flag">NOT VERIFIED</strong>`}</dd></dl>`;
  const cosigners = witnesses.cosignatures.length === 0
    ? 'none'
    : witnesses.cosignatures.map((c) => `${c.witness} (${c.cosigned_at})`).join('; ');
  return html`<h2>Audited how</h2>
<p>Every field released, and every refusal, is written to an append-only log before the response leaves. Its signed tree heads
(RFC 9162 Merkle trees, C2SP checkpoints signed with Ed25519) make any change to past entries evident. The latest signed head,
checked with the log's public key as this document was written:</p>
${headPart}
<dl><dt>Log's verifier key</dt><dd class="hash">${audit.verifier_key}</dd>
<dt>Witnesses</dt><dd>${witnesses.configured === 0 ? 'none configured' : `${witnesses.configured} configured, ${witnesses.quorum} cosignatures required`}</dd>
<dt>Cosigned by</dt><dd>${cosigners}${witnesses.under_quorum ? html` <span class="flag">(fewer than required)</span>` : ''}</dd></dl>`;
}

function agreementBlock(row: InventoryRow, record: ProcessingRecord | undefined): Html {
  const transfer = record === undefined
    ? '-'
    : record.transfer.destination_country === null
      ? "none: kept on the member's device"
      : !record.transfer.outside_controller_country
        ? `none: kept in ${record.transfer.destination_country}`
        : html`to ${record.transfer.destination_country}, safeguard: ${record.transfer.safeguard ?? html`<span class="flag">NONE STATED</span>`}`;
  return html`<h3>Agreement ${row.agreement_id} version ${row.version}</h3>
<dl><dt>Status</dt><dd>${row.status}${row.status_reason === null ? '' : ` (${row.status_reason})`}; ${row.in_effect ? 'in effect' : `not in effect: ${row.not_in_effect_cause}`}</dd>
<dt>Since when</dt><dd>${dayOf(row.starts_at)} (${row.age_days === null ? 'not started' : `${count(row.age_days)} days`}), ends ${dayOf(row.ends_at)}</dd>
<dt>Purposes</dt><dd>${record === undefined ? list(row.purposes) : record.purposes.map((p) => p.description).join('; ')}</dd>
<dt>Member fields</dt><dd>${fieldList(row.member_fields)}</dd>
<dt>Friend fields</dt><dd>${fieldList(row.friend_fields)}${row.friend_fields.some((f) => FIELD_CLASS[f as Field] === 'sensitive') ? ' (sensitive fields never leave through friends)' : ''}</dd>
<dt>Stored where</dt><dd>${storageText(row.storage_location, row.storage_country)}, kept at most ${row.retention_days} days</dd>
<dt>Transfer</dt><dd>${transfer}</dd>
<dt>Certification</dt><dd>${row.certification_state} (due ${dayOf(row.certification_due_at)})</dd>
<dt>Wind-down</dt><dd>${row.wind_down ?? 'none planned'}</dd>
<dt>Last access</dt><dd>${row.last_access_at ?? 'never'}</dd>
${record === undefined ? '' : html`<dt>Safeguards</dt><dd><ul>${record.security_measures.map((m) => html`<li>${m}</li>`)}</ul></dd>
<dt>Findings</dt><dd>${record.findings.length === 0 ? 'none' : html`<span class="flag">${record.findings.join(', ')}</span>`}</dd>`}</dl>`;
}

function exposureTable(pack: RegulatorPack, partnerId: string): Html {
  const period = `${pack.from}..${pack.to}`;
  const rows = pack.exposure.data.filter((row) => row.partner_id === partnerId && row.period === period);
  if (rows.length === 0) return html`<p>No data was released to this partner from ${pack.from} to ${pack.to}.</p>`;
  return html`<table><thead><tr><th>Agreement</th><th>Field</th><th class="n">Directly</th><th class="n">Through friends</th>
<th class="n">Members</th><th class="n">Times directly</th><th class="n">Times through friends</th></tr></thead><tbody>
${rows.map((row) => html`<tr><td>${row.agreement_id}</td><td>${row.field === ANY_FIELD ? 'any field' : fieldList([row.field])}</td>
<td class="n">${count(row.members_direct)}</td><td class="n">${count(row.members_through_friends)}</td><td class="n">${count(row.members_total)}</td>
<td class="n">${row.times_direct === null ? '' : count(row.times_direct)}</td><td class="n">${row.times_through_friends === null ? '' : count(row.times_through_friends)}</td></tr>`)}
</tbody></table>`;
}

function reachedText(group: ExposureGroupRow | undefined): string {
  if (group === undefined) return 'none';
  return `${count(group.members_total)} distinct members (${count(group.members_direct)} directly, ${count(group.members_through_friends)} through friends)`;
}

function partnerSection(pack: RegulatorPack, partnerId: string, rows: readonly InventoryRow[]): Html {
  const first = rows[0]!;
  const agreements = rows.filter((row) => row.agreement_id !== null);
  const group = pack.exposure.by_partner.find((row) => row.partner_id === partnerId);
  const months = pack.members_per_month.find((series) => series.partner_id === partnerId);
  return html`<section class="partner"><h2>${first.partner_legal_name}</h2>
<dl><dt>Partner</dt><dd>${partnerId}, ${first.partner_kind}</dd><dt>Country</dt><dd>${first.partner_country}</dd>
<dt>Risk flags</dt><dd>${first.risk_flags.length === 0 ? 'none' : html`<span class="flag">${first.risk_flags.join(', ')}</span>`}</dd>
<dt>Apps</dt><dd>${list(first.apps)}</dd></dl>
${agreements.length === 0
    ? html`<p>No agreement: every request of its apps is refused (<code>no_agreement</code>). Its declared storage: ${storageText(first.storage_location, first.storage_country)}.</p>`
    : agreements.map((row) => agreementBlock(row, pack.records.data.find((r) => r.agreement_id === row.agreement_id)))}
${agreements.length === 0 ? '' : html`<h3>Members reached, ${pack.from} to ${pack.to}</h3>
<p>${reachedText(group)}.</p>
${months === undefined ? '' : monthChart(months, first.partner_legal_name)}
${exposureTable(pack, partnerId)}
<h3>What the 2018 rules would have reached</h3>
${compareText(group?.members_total ?? 0, pack.counterfactual.data.find((row) => row.partner_id === partnerId))}`}
</section>`;
}

/** Inventory rows by partner, in the inventory's order. */
function byPartner(rows: readonly InventoryRow[]): Map<string, InventoryRow[]> {
  const partners = new Map<string, InventoryRow[]>();
  for (const row of rows) partners.set(row.partner_id, [...(partners.get(row.partner_id) ?? []), row]);
  return partners;
}

export function packHtml(pack: RegulatorPack): string {
  const partners = byPartner(pack.inventory.data);
  const scope = pack.partner_id === null ? `every partner (${partners.size})` : (partners.values().next().value?.[0]?.partner_legal_name ?? pack.partner_id);
  const title = `Data shared with partners: ${pack.controller.name}`;
  return html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title><style>${new Html(CSS)}</style></head>
<body><header><h1>${title}</h1>
<p>Regulator's pack for ${scope}, as of ${pack.generated_at}. Controller: ${pack.controller.name} (${pack.controller.country}).
Period of the counts: ${pack.from} to ${pack.to} (whole UTC months).</p>
<p class="muted">Which partners, which data, since when, stored where, with which safeguards, audited how, how many members reached,
and what the 2018 device-partner rules would have reached: from the live system, at one instant.</p></header>
${glance(pack, partners)}
${auditSection(pack)}
${[...partners].map(([id, rows]) => partnerSection(pack, id, rows))}
<footer><h2>Notes</h2><p class="muted">${pack.counterfactual.graph_note}
Counts are exact distinct members from the counts the log keeps as entries are appended. The audit section describes the log as it stood
when this document was written.</p></footer>
</body></html>
`.markup;
}
