import { Badge, Table, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { api, ok } from '../api/client';
import { day, Failure, Link, SectionTitle, StatusBadge, Title } from './common';

function Section<T>({ title, rows, empty, head, row }: {
  title: string; rows: readonly T[]; empty: string; head: readonly string[]; row: (item: T) => ReactNode;
}) {
  return (
    <section aria-label={title}>
      <SectionTitle>{title} <Badge variant="light" c="dark.9" color="gray">{rows.length}</Badge></SectionTitle>
      {rows.length === 0 ? <Text c="dimmed" size="sm">{empty}</Text> : (
        <Table striped withTableBorder>
          <Table.Thead><Table.Tr>{head.map((h) => <Table.Th key={h}>{h}</Table.Th>)}</Table.Tr></Table.Thead>
          <Table.Tbody>{rows.map(row)}</Table.Tbody>
        </Table>
      )}
    </section>
  );
}

const agreementLink = (id: string) => <Link to={`/agreements/${id}`}>{id}</Link>;

/** What needs someone today (GET /admin/v1/attention). */
export function Home() {
  const attention = useQuery({ queryKey: ['attention'], queryFn: () => ok(api.GET('/admin/v1/attention')) });
  if (attention.error) return <Failure error={attention.error} />;
  const a = attention.data;
  return (
    <>
      <Title>What needs someone today</Title>
      {!a ? <Text>Loading…</Text> : (
        <>
          <Text size="sm" c="dimmed">As of {a.generated_at.slice(0, 16).replace('T', ' ')} UTC, looking {a.horizon_days} days ahead.</Text>
          <Section title="Approvals waiting" rows={a.approvals_waiting} empty="No agreement is waiting for approval."
            head={['Agreement', 'Partner', 'Approvals', 'Waiting since']}
            row={(r) => (
              <Table.Tr key={r.agreement_id}>
                <Table.Td>{agreementLink(r.agreement_id)} v{r.version}</Table.Td><Table.Td>{r.partner_id}</Table.Td>
                <Table.Td>{r.approvals_given} of {r.approvals_needed}</Table.Td><Table.Td>{day(r.since)}</Table.Td>
              </Table.Tr>
            )} />
          <Section title="Certifications due or overdue" rows={a.certifications_due} empty="No certification is due within 30 days."
            head={['Agreement', 'Partner', 'Status', 'Due', 'Suspended without one at']}
            row={(r) => (
              <Table.Tr key={r.agreement_id}>
                <Table.Td>{agreementLink(r.agreement_id)}</Table.Td><Table.Td>{r.partner_id}</Table.Td><Table.Td><StatusBadge status={r.status} /></Table.Td>
                <Table.Td>{day(r.certification_due_at)}{r.overdue && <Text span c="red.9" fw={600}> overdue</Text>}</Table.Td><Table.Td>{day(r.lapses_at)}</Table.Td>
              </Table.Tr>
            )} />
          <Section title="Wind-down phases in the next 30 days" rows={a.wind_down_phases} empty="No wind-down phase starts within 30 days."
            head={['Agreement', 'Partner', 'Phase', 'Starts']}
            row={(r) => (
              <Table.Tr key={`${r.agreement_id}-${r.phase}`}>
                <Table.Td>{agreementLink(r.agreement_id)}</Table.Td><Table.Td>{r.partner_id}</Table.Td><Table.Td>{r.phase}</Table.Td><Table.Td>{day(r.at)}</Table.Td>
              </Table.Tr>
            )} />
          <Section title="Deletion unconfirmed" rows={a.deletion_unconfirmed} empty="Every partner whose access ended has attested deletion, or still has time to."
            head={['Agreement', 'Partner', 'Access ended']}
            row={(r) => (
              <Table.Tr key={r.agreement_id}>
                <Table.Td>{agreementLink(r.agreement_id)}</Table.Td><Table.Td>{r.partner_id}</Table.Td><Table.Td>{day(r.access_ended_at)}</Table.Td>
              </Table.Tr>
            )} />
          <Section title="Members' deletion requests unconfirmed" rows={a.member_deletions_unconfirmed} empty="Every member's deletion request was confirmed in time, or still has time to be."
            head={['Request', 'Member', 'Partner', 'Requested', 'Confirm by']}
            row={(r) => (
              <Table.Tr key={r.id}>
                <Table.Td className="mono">{r.id}</Table.Td><Table.Td>{r.member_id}</Table.Td><Table.Td>{r.partner_id}</Table.Td>
                <Table.Td>{day(r.requested_at)}</Table.Td><Table.Td>{day(r.confirm_by)}</Table.Td>
              </Table.Tr>
            )} />
          {a.witnesses && (
            <section aria-label="Witnesses">
              <SectionTitle>Witnesses</SectionTitle>
              <Text>
                The latest signed head (tree size {a.witnesses.tree_size}) has {a.witnesses.cosignatures} of the {a.witnesses.quorum} witness
                cosignatures it needs{a.witnesses.behind && <Text span c="red.9" fw={600}>: witnesses are behind</Text>}.
              </Text>
            </section>
          )}
          <Section title="Notices abandoned" rows={a.abandoned_notices} empty="No notice to a partner was given up on."
            head={['Notice', 'Partner', 'Type', 'Created', 'Attempts']}
            row={(r) => (
              <Table.Tr key={r.id}>
                <Table.Td className="mono">{r.id}</Table.Td><Table.Td>{r.partner_id}</Table.Td><Table.Td>{r.type}</Table.Td>
                <Table.Td>{day(r.created_at)}</Table.Td><Table.Td>{r.attempts}</Table.Td>
              </Table.Tr>
            )} />
        </>
      )}
    </>
  );
}
