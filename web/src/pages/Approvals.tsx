import { Table, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api, ok } from '../api/client';
import { useSession } from '../session';
import { day, Failure, Link, Title } from './common';

/** Agreements under review, oldest first; each opens on its review (the comparison, a comment, Approve). */
export function Approvals() {
  const { me } = useSession();
  const queue = useQuery({
    queryKey: ['agreements', undefined, 'under_review'],
    queryFn: () => ok(api.GET('/admin/v1/agreements', { params: { query: { status: 'under_review' } } })),
  });
  return (
    <>
      <Title>Approval queue</Title>
      <Failure error={queue.error} />
      {queue.data && (queue.data.data.length === 0 ? <Text>Nothing is waiting for approval.</Text> : (
        <Table striped withTableBorder aria-label="Approval queue">
          <Table.Thead>
            <Table.Tr><Table.Th>Agreement</Table.Th><Table.Th>Partner</Table.Th><Table.Th>Approvals</Table.Th><Table.Th>Submitted</Table.Th><Table.Th>Yours to approve</Table.Th></Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {queue.data.data.map((a) => (
              <Table.Tr key={a.id}>
                <Table.Td><Link to={`/agreements/${a.id}`}>Review {a.id} v{a.version}</Link></Table.Td>
                <Table.Td>{a.partner_id}</Table.Td>
                <Table.Td>{a.approvals.given.length} of {a.approvals.needed}{a.approvals.two_person_rule ? ' (two-person rule)' : ''}</Table.Td>
                <Table.Td>{day(a.updated_at)}</Table.Td>
                <Table.Td>{a.author_id === me.id ? 'no: you wrote it' : a.approvals.given.includes(me.id) ? 'no: approved already' : 'yes'}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ))}
    </>
  );
}
