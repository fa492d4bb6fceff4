import { Alert, Button, Group, List, Select, Table, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ok } from '../api/client';
import { checkInclusion } from '../audit-proof';
import { Failure, Title } from './common';

interface Filters { partner_id?: string; agreement_id?: string; app_id?: string; outcome?: string }

/** The check of one entry: the head and key come from the public endpoints, the proof from the admin API; the maths is done here. */
async function verify(leafIndex: number) {
  const head = await ok(api.GET('/v1/audit/tree-head'));
  if (leafIndex >= head.tree_size) return { pending: true as const, head };
  const inclusion = await ok(api.GET('/admin/v1/audit/inclusion', { params: { query: { leaf_index: leafIndex, tree_size: head.tree_size } } }));
  const pem = await (await fetch('/v1/audit/public-key')).text();
  return { pending: false as const, head, check: await checkInclusion(inclusion, head, pem) };
}

/** Audit entries, newest first, filtered; each entry's inclusion proof checked in the browser. */
export function Audit() {
  const [draft, setDraft] = useState<Filters>({});
  const [filters, setFilters] = useState<Filters>({});
  const entries = useQuery({
    queryKey: ['audit', filters],
    queryFn: () => ok(api.GET('/admin/v1/audit/entries', { params: { query: { ...filters, outcome: filters.outcome as never, limit: 50 } } })),
  });
  const proof = useMutation({ mutationFn: verify });
  const [checked, setChecked] = useState<number | null>(null);
  const search = (event: FormEvent) => {
    event.preventDefault();
    setFilters(Object.fromEntries(Object.entries(draft).filter(([, v]) => v)) as Filters);
  };
  const result = proof.data;
  return (
    <>
      <Title>Audit log</Title>
      <form onSubmit={search} aria-label="Search the audit log">
        <Group align="end" mb="md">
          <TextInput label="Partner id" value={draft.partner_id ?? ''} onChange={(e) => setDraft({ ...draft, partner_id: e.currentTarget.value.trim() })} />
          <TextInput label="App id" value={draft.app_id ?? ''} onChange={(e) => setDraft({ ...draft, app_id: e.currentTarget.value.trim() })} />
          <TextInput label="Agreement id" value={draft.agreement_id ?? ''} onChange={(e) => setDraft({ ...draft, agreement_id: e.currentTarget.value.trim() })} />
          <Select label="Outcome" clearable placeholder="Any" value={draft.outcome ?? null} onChange={(v) => setDraft({ ...draft, outcome: v ?? undefined })}
            data={['released', 'withheld', 'denied', 'staff_action']} />
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
        </section>
      )}
      <Failure error={entries.error} />
      {entries.data && (entries.data.data.length === 0 ? <Text>No entry matches.</Text> : (
        <Table striped withTableBorder aria-label="Audit entries">
          <Table.Thead>
            <Table.Tr><Table.Th>#</Table.Th><Table.Th>When</Table.Th><Table.Th>Outcome</Table.Th><Table.Th>What</Table.Th><Table.Th>Partner</Table.Th><Table.Th>Agreement</Table.Th><Table.Th>Actor</Table.Th><Table.Th>Proof</Table.Th></Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {entries.data.data.map((e) => (
              <Table.Tr key={e.seq}>
                <Table.Td>{e.seq}</Table.Td>
                <Table.Td>{e.at.slice(0, 19).replace('T', ' ')}</Table.Td>
                <Table.Td>{e.outcome}</Table.Td>
                <Table.Td>{e.action ?? e.code ?? (e.released.length ? `released ${e.released.join(', ')}` : '')}</Table.Td>
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
