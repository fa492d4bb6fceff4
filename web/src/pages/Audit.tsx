import { Alert, Button, Group, List, Select, Table, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { api, ok } from '../api/client';
import { useRouter } from '../router';
import { checkInclusion } from '../audit-proof';
import { Failure, Title } from './common';

const FILTERS = ['member_id', 'request_id', 'partner_id', 'app_id', 'agreement_id', 'outcome', 'from', 'to'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

/** The filters in the address (so a search can be shared, and other pages can link to one), dates as days. */
function filtersOf(query: URLSearchParams): Filters {
  return Object.fromEntries(FILTERS.flatMap((key) => (query.get(key) ? [[key, query.get(key)!]] : [])));
}

/** The API's query: a day picked in `from` starts that UTC day; one in `to` includes the whole day. */
function apiQuery(filters: Filters) {
  const dayAfter = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString();
  return {
    ...filters,
    outcome: filters.outcome as never,
    from: filters.from ? `${filters.from}T00:00:00Z` : undefined,
    to: filters.to ? dayAfter(filters.to) : undefined,
  };
}

/** The check of one entry: the head and key come from the public endpoints, the proof from the admin API; the maths is done here. */
async function verify(leafIndex: number) {
  const head = await ok(api.GET('/v1/audit/tree-head'));
  if (leafIndex >= head.tree_size) return { pending: true as const, head };
  const inclusion = await ok(api.GET('/admin/v1/audit/inclusion', { params: { query: { leaf_index: leafIndex, tree_size: head.tree_size } } }));
  const pem = await (await fetch('/v1/audit/public-key')).text();
  return { pending: false as const, head, entry: inclusion.entry, check: await checkInclusion(inclusion, head, pem) };
}

/** Audit entries, newest first, filtered; each entry's inclusion proof checked in the browser. */
export function Audit() {
  const { query, navigate } = useRouter();
  const filters = filtersOf(query);
  const [draft, setDraft] = useState<Filters>(filters);
  const address = query.toString();
  // A link to another search (from an agreement, a member) puts its filters in the form.
  useEffect(() => setDraft(filtersOf(new URLSearchParams(address))), [address]);
  const entries = useQuery({
    queryKey: ['audit', filters],
    queryFn: () => ok(api.GET('/admin/v1/audit/entries', { params: { query: { ...apiQuery(filters), limit: 50 } } })),
  });
  const proof = useMutation({ mutationFn: verify });
  const [checked, setChecked] = useState<number | null>(null);
  const search = (event: FormEvent) => {
    event.preventDefault();
    const search = new URLSearchParams(Object.entries(draft).filter((pair): pair is [string, string] => Boolean(pair[1]))).toString();
    navigate(`/audit${search ? `?${search}` : ''}`);
  };
  const result = proof.data;
  return (
    <>
      <Title>Audit log</Title>
      <form onSubmit={search} aria-label="Search the audit log">
        <Group align="end" mb="md">
          <TextInput label="Member id" description="As the subject or the token's member" value={draft.member_id ?? ''}
            onChange={(e) => setDraft({ ...draft, member_id: e.currentTarget.value.trim() })} />
          <TextInput label="Request id" value={draft.request_id ?? ''} onChange={(e) => setDraft({ ...draft, request_id: e.currentTarget.value.trim() })} />
          <TextInput label="Partner id" value={draft.partner_id ?? ''} onChange={(e) => setDraft({ ...draft, partner_id: e.currentTarget.value.trim() })} />
          <TextInput label="App id" value={draft.app_id ?? ''} onChange={(e) => setDraft({ ...draft, app_id: e.currentTarget.value.trim() })} />
          <TextInput label="Agreement id" value={draft.agreement_id ?? ''} onChange={(e) => setDraft({ ...draft, agreement_id: e.currentTarget.value.trim() })} />
          <Select label="Outcome" clearable placeholder="Any" value={draft.outcome ?? null} onChange={(v) => setDraft({ ...draft, outcome: v ?? undefined })}
            data={['served', 'released', 'withheld', 'denied', 'staff_action']} />
          <TextInput label="From (UTC day)" type="date" value={draft.from ?? ''} onChange={(e) => setDraft({ ...draft, from: e.currentTarget.value })} />
          <TextInput label="To (UTC day, included)" type="date" value={draft.to ?? ''} onChange={(e) => setDraft({ ...draft, to: e.currentTarget.value })} />
          <Button type="submit">Search</Button>
        </Group>
      </form>
      {checked !== null && (
        <section aria-label="Inclusion proof">
          {proof.isPending && <Text>Checking entry {checked + 1}…</Text>}
          <Failure error={proof.error} />
          {result?.pending && (
            <Alert color="yellow" role="status" title="Not in a signed tree head yet">
              Entry {checked + 1} is newer than the latest signed head (size {result.head.tree_size}); heads are signed within seconds. Check again shortly.
            </Alert>
          )}
          {result && !result.pending && (
            <Alert color={result.check.leafMatches && result.check.pathLeadsToRoot && result.check.signatureValid ? 'green' : 'red'} role="status"
              title={result.check.leafMatches && result.check.pathLeadsToRoot && result.check.signatureValid ? `Entry ${checked + 1} is in the log: checked in this browser` : `Entry ${checked + 1} failed the check`}>
              <List size="sm">
                <List.Item>The entry's bytes hash to its leaf: {result.check.leafMatches ? 'yes' : 'NO'}</List.Item>
                <List.Item>Its audit path leads to the root of the signed head of size {result.head.tree_size}: {result.check.pathLeadsToRoot ? 'yes' : 'NO'}</List.Item>
                <List.Item>The head's Ed25519 signature checks with the log's public key: {result.check.signatureValid ? 'yes' : 'NO'}</List.Item>
              </List>
            </Alert>
          )}
          {result && !result.pending && <EntryDetail entry={result.entry} />}
        </section>
      )}
      <Failure error={entries.error} />
      {entries.data && (entries.data.data.length === 0 ? <Text>No entry matches.</Text> : (
        <Table striped withTableBorder aria-label="Audit entries">
          <Table.Thead>
            <Table.Tr><Table.Th>#</Table.Th><Table.Th>When</Table.Th><Table.Th>Outcome</Table.Th><Table.Th>What</Table.Th><Table.Th>Member</Table.Th><Table.Th>Request</Table.Th><Table.Th>Partner</Table.Th><Table.Th>Agreement</Table.Th><Table.Th>Actor</Table.Th><Table.Th>Proof</Table.Th></Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {entries.data.data.map((e) => (
              <Table.Tr key={e.seq}>
                <Table.Td>{e.seq}</Table.Td>
                <Table.Td>{e.at.slice(0, 19).replace('T', ' ')}</Table.Td>
                <Table.Td>{e.outcome}</Table.Td>
                <Table.Td>{e.action ?? e.code ?? (e.released.length ? `released ${e.released.join(', ')}` : '')}</Table.Td>
                <Table.Td className="mono">{e.subject_member_id ?? ''}{e.token_member_id && e.token_member_id !== e.subject_member_id ? ` (token ${e.token_member_id})` : ''}</Table.Td>
                <Table.Td className="mono">{e.request_id}</Table.Td>
                <Table.Td>{e.partner_id ?? ''}</Table.Td>
                <Table.Td>{e.agreement_id ?? ''}</Table.Td>
                <Table.Td className="mono">{e.actor ?? ''}</Table.Td>
                <Table.Td>
                  <Button size="xs" variant="default" aria-label={`Check proof of entry ${e.seq}`}
                    onClick={() => { setChecked(e.leaf_index); proof.mutate(e.leaf_index); }}>Check proof</Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ))}
    </>
  );
}

type Entry = Awaited<ReturnType<typeof verify>> extends infer R ? (R extends { entry: infer E } ? E : never) : never;

/** Every field of the entry the proof covers. */
function EntryDetail({ entry }: { entry: Entry }) {
  const json = (value: unknown) => (value == null || (typeof value === 'object' && Object.keys(value).length === 0) ? '—' : JSON.stringify(value));
  const rows: Array<[string, string]> = [
    ['When', entry.at], ['Request', entry.request_id], ['Outcome', entry.outcome + (entry.code ? ` (${entry.code})` : '')],
    ['Partner, app, agreement', [entry.partner_id, entry.app_id, entry.agreement_id && `${entry.agreement_id} v${entry.agreement_version ?? '?'}`].filter(Boolean).join(', ') || '—'],
    ['Member (subject)', entry.subject_member_id ?? '—'], ["Token's member", entry.token_member_id ?? '—'], ['Purpose', entry.purpose ?? '—'],
    ['Released', entry.released.join(', ') || '—'], ['Withheld', json(entry.withheld)],
    ['Staff action', entry.action ? `${entry.action} by ${entry.actor ?? '?'}` : '—'], ['Detail', json(entry.detail)], ['Rules version', entry.rules_version],
  ];
  return (
    <Table withTableBorder mt="sm" mb="md" aria-label={`Entry ${entry.seq}`}>
      <Table.Tbody>
        {rows.map(([name, value]) => <Table.Tr key={name}><Table.Th scope="row" w={220}>{name}</Table.Th><Table.Td className="mono">{value}</Table.Td></Table.Tr>)}
      </Table.Tbody>
    </Table>
  );
}
