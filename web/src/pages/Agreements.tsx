import { Button, Group, Select, Table, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api, ok } from '../api/client';
import { useLinkProps, useRouter } from '../router';
import { useSession } from '../session';
import { day, Failure, Link, StatusBadge, Title } from './common';

const STATUSES = ['draft', 'under_review', 'active', 'suspended', 'winding_down', 'terminated'];

export function usePartners() {
  return useQuery({ queryKey: ['partners'], queryFn: () => ok(api.GET('/admin/v1/partners')) });
}

/** Every agreement, filtered by partner and status (the filters live in the address, so a filtered list can be shared). */
export function Agreements() {
  const { can } = useSession();
  const { query, navigate } = useRouter();
  const partnerId = query.get('partner_id') ?? undefined;
  const status = query.get('status') ?? undefined;
  const partners = usePartners();
  const agreements = useQuery({
    queryKey: ['agreements', partnerId, status],
    queryFn: () => ok(api.GET('/admin/v1/agreements', { params: { query: { partner_id: partnerId, status: status as never } } })),
  });
  const newDraft = useLinkProps('/agreements/new');
  const filter = (key: string, value: string | null) => {
    const next = new URLSearchParams(query);
    if (value) next.set(key, value);
    else next.delete(key);
    const search = next.toString();
    navigate(`/agreements${search ? `?${search}` : ''}`);
  };
  return (
    <>
      <Group justify="space-between">
        <Title>Agreements</Title>
        {can('manage_agreements') && <Button component="a" {...newDraft}>New draft</Button>}
      </Group>
      <Group mb="md">
        <Select label="Partner" placeholder="All partners" clearable value={partnerId ?? null} onChange={(v) => filter('partner_id', v)}
          data={(partners.data?.data ?? []).map((p) => ({ value: p.id, label: p.legal_name }))} />
        <Select label="Status" placeholder="Any status" clearable value={status ?? null} onChange={(v) => filter('status', v)}
          data={STATUSES.map((s) => ({ value: s, label: s.replace('_', ' ') }))} />
      </Group>
      <Failure error={agreements.error} />
      {agreements.data && (agreements.data.data.length === 0 ? <Text>No agreement matches.</Text> : (
        <Table striped highlightOnHover withTableBorder aria-label="Agreements">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Agreement</Table.Th><Table.Th>Partner</Table.Th><Table.Th>Status</Table.Th><Table.Th>In effect</Table.Th>
              <Table.Th>Approvals</Table.Th><Table.Th>Term</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {agreements.data.data.map((a) => (
              <Table.Tr key={a.id}>
                <Table.Td><Link to={`/agreements/${a.id}`}>{a.id}</Link> v{a.version}</Table.Td>
                <Table.Td>{a.partner_id}</Table.Td>
                <Table.Td><StatusBadge status={a.status} /></Table.Td>
                <Table.Td>{a.in_effect ? 'yes' : `no (${a.not_in_effect_cause ?? '—'})`}</Table.Td>
                <Table.Td>{a.approvals.given.length} of {a.approvals.needed}</Table.Td>
                <Table.Td>{day(a.starts_at)} to {day(a.ends_at)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ))}
    </>
  );
}
