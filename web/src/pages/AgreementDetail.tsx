import { Alert, Button, Group, Stack, Table, Text, Textarea } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ok } from '../api/client';
import { useLinkProps } from '../router';
import { useSession } from '../session';
import { day, Failure, Link, SectionTitle, StatusBadge, Title } from './common';
import { WhatWouldChange } from './DraftSimulation';
import { DeletionAttestation, WindDownPlanner, WindDownTimeline } from './WindDown';

type Agreement = Awaited<ReturnType<typeof fetchAgreement>>;

function fetchAgreement(id: string) {
  return ok(api.GET('/admin/v1/agreements/{agreementId}', { params: { path: { agreementId: id } } }));
}

const list = (values: readonly string[]) => (values.length ? values.join(', ') : '—');

/** The terms a reviewer compares, one row each. */
function termRows(a: Agreement): Array<[string, string]> {
  return [
    ['Apps', list(a.app_ids)],
    ['Purposes', list(a.purposes)],
    ['Member fields', list(a.member_fields)],
    ['Friend fields', list(a.friend_fields)],
    ['Retention', `${a.retention_days} days`],
    ['Storage', a.storage.location + (a.storage.country ? ` (${a.storage.country})` : '')],
    ['Term', `${day(a.starts_at)} to ${day(a.ends_at)}`],
  ];
}

/**
 * For a draft or a version under review, the partner's agreement in force for the same apps (the one
 * it would follow): undefined while loading (and for other statuses), null when none.
 */
function useInForce(agreement: Agreement | undefined): Agreement | null | undefined {
  const others = useQuery({
    queryKey: ['agreements', agreement?.partner_id, undefined],
    enabled: agreement?.status === 'draft' || agreement?.status === 'under_review',
    queryFn: () => ok(api.GET('/admin/v1/agreements', { params: { query: { partner_id: agreement!.partner_id } } })),
  });
  if (!agreement || !others.data) return undefined;
  return others.data.data.find((o) => o.id !== agreement.id && ['active', 'suspended', 'winding_down'].includes(o.status)
    && o.app_ids.some((app) => agreement.app_ids.includes(app))) ?? null;
}

/** This agreement's terms beside the partner's agreement in force (the version it would follow), changes marked. */
function Comparison({ agreement, previous }: { agreement: Agreement; previous: Agreement | null | undefined }) {
  const mine = termRows(agreement);
  const theirs = previous ? termRows(previous) : undefined;
  return (
    <Table withTableBorder aria-label="Terms compared with the agreement in force">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Term</Table.Th>
          <Table.Th>In force now{previous ? ` (${previous.id} v${previous.version})` : ''}</Table.Th>
          <Table.Th>This version (v{agreement.version})</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {mine.map(([name, value], i) => {
          const before = theirs?.[i]?.[1];
          const changed = before !== undefined && before !== value;
          return (
            <Table.Tr key={name} className={changed ? 'changed' : undefined}>
              <Table.Th scope="row">{name}</Table.Th>
              <Table.Td>{before ?? '—'}</Table.Td>
              <Table.Td>{value}{changed && <Text span fw={700}> (changed)</Text>}</Table.Td>
            </Table.Tr>
          );
        })}
      </Table.Tbody>
    </Table>
  );
}

type Action = 'submit' | 'approve' | 'activate' | 'resume' | 'suspend' | 'return-to-draft';

function useAct(agreementId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ action, text }: { action: Action; text?: string }) => {
      const path = { agreementId };
      switch (action) {
        case 'approve': return ok(api.POST('/admin/v1/agreements/{agreementId}/approve', { params: { path }, body: text ? { comment: text } : {} }));
        case 'suspend': return ok(api.POST('/admin/v1/agreements/{agreementId}/suspend', { params: { path }, body: { reason: text ?? '' } }));
        case 'return-to-draft': return ok(api.POST('/admin/v1/agreements/{agreementId}/return-to-draft', { params: { path }, body: { reason: text ?? '' } }));
        case 'submit': return ok(api.POST('/admin/v1/agreements/{agreementId}/submit', { params: { path } }));
        case 'activate': return ok(api.POST('/admin/v1/agreements/{agreementId}/activate', { params: { path } }));
        case 'resume': return ok(api.POST('/admin/v1/agreements/{agreementId}/resume', { params: { path } }));
      }
    },
    onSuccess: () => queryClient.invalidateQueries(),
  });
}

/** One agreement: its terms, approvals, the actions the signed-in role may take now, and its whole history with actors. */
export function AgreementDetail({ agreementId }: { agreementId: string }) {
  const { me, can } = useSession();
  const agreement = useQuery({ queryKey: ['agreement', agreementId], queryFn: () => fetchAgreement(agreementId) });
  const history = useQuery({
    queryKey: ['agreement', agreementId, 'history'],
    queryFn: () => ok(api.GET('/admin/v1/agreements/{agreementId}/history', { params: { path: { agreementId } } })),
  });
  const act = useAct(agreementId);
  const [comment, setComment] = useState('');
  const [reason, setReason] = useState('');
  const edit = useLinkProps(`/agreements/${agreementId}/edit`);
  const inForce = useInForce(agreement.data);

  if (agreement.error) return <Failure error={agreement.error} />;
  const a = agreement.data;
  if (!a) return <Text>Loading…</Text>;
  const manage = can('manage_agreements');
  const approve = can('approve_agreements');
  const mayApprove = approve && a.status === 'under_review' && a.author_id !== me.id && !a.approvals.given.includes(me.id);
  const whatWouldChange = (a.status === 'draft' || a.status === 'under_review') && <WhatWouldChange draft={a} inForceId={inForce === undefined ? undefined : inForce?.id ?? null} />;
  const run = (action: Action, text?: string) => act.mutate({ action, ...(text === undefined ? {} : { text }) }, {
    onSuccess: () => { setComment(''); setReason(''); },
  });

  return (
    <Stack gap="sm">
      <Group>
        <Title>{a.id} <Text span c="dimmed" fz="1.2rem">v{a.version}</Text></Title>
        <StatusBadge status={a.status} />
      </Group>
      <Text>
        Partner {a.partner_id}. {a.in_effect ? 'In effect now.' : `Not in effect (${a.not_in_effect_cause ?? '—'}).`}
        {a.status_reason ? ` Reason: ${a.status_reason}.` : ''}
      </Text>
      <Alert color={a.approvals.two_person_rule ? 'orange' : 'blue'} title="Approvals" role="status">
        {a.approvals.given.length} of {a.approvals.needed} given
        {a.approvals.two_person_rule ? ' (two-person rule: friend fields, sensitive fields or a partner risk flag)' : ''}.
        {a.approvals.approved_by.length > 0 && ` Approved by ${a.approvals.approved_by.join(', ')}.`}
      </Alert>
      <Failure error={act.error} />
      {act.isSuccess && <Alert color="green" role="status">Done: the agreement is now {a.status.replace('_', ' ')}.</Alert>}

      <section aria-label="Actions">
        <Group>
          {manage && a.status === 'draft' && <Button component="a" variant="default" {...edit}>Edit draft</Button>}
          {manage && a.status === 'draft' && <Button onClick={() => run('submit')} loading={act.isPending}>Submit for review</Button>}
          {manage && a.status === 'under_review' && <Button onClick={() => run('activate')} loading={act.isPending}>Activate</Button>}
          {approve && a.status === 'suspended' && <Button onClick={() => run('resume')} loading={act.isPending}>Resume</Button>}
        </Group>
        {manage && (a.status === 'active' || a.status === 'under_review') && (
          <Group align="end" mt="sm">
            <Textarea label={a.status === 'active' ? 'Reason to suspend' : 'Reason to send back to draft'} value={reason}
              onChange={(e) => setReason(e.currentTarget.value)} autosize minRows={1} w={420} />
            <Button color="red.8" disabled={!reason.trim()} loading={act.isPending}
              onClick={() => run(a.status === 'active' ? 'suspend' : 'return-to-draft', reason)}>
              {a.status === 'active' ? 'Suspend' : 'Return to draft'}
            </Button>
          </Group>
        )}
      </section>

      {a.status === 'under_review' && (
        <section aria-label="Review">
          <SectionTitle>Review</SectionTitle>
          <Comparison agreement={a} previous={inForce} />
          {whatWouldChange}
          {mayApprove && (
            <Stack mt="sm" maw={560}>
              <Textarea label="Comment (kept in the history)" value={comment} onChange={(e) => setComment(e.currentTarget.value)} autosize minRows={2} />
              <Group><Button onClick={() => run('approve', comment)} loading={act.isPending}>Approve</Button></Group>
            </Stack>
          )}
          {approve && !mayApprove && <Text size="sm" c="dimmed" mt="sm">You cannot approve this version: you wrote it, or approved it already.</Text>}
        </section>
      )}

      {a.status === 'draft' && whatWouldChange}

      {a.wind_down && (
        <section aria-label="Wind-down">
          <SectionTitle>Wind-down</SectionTitle>
          <WindDownTimeline plan={a.wind_down} phase={a.wind_down.phase} attestedAt={a.deletion_attested_at} unconfirmed={a.deletion_unconfirmed} />
        </section>
      )}
      {manage && (a.status === 'active' || a.status === 'suspended') && <WindDownPlanner agreement={a} />}
      {manage && a.status === 'winding_down' && a.wind_down?.phase === 'access_ended' && <DeletionAttestation agreementId={a.id} />}

      <SectionTitle>Terms</SectionTitle>
      <Table withTableBorder aria-label="Terms">
        <Table.Tbody>
          {[...termRows(a), ['Certification due', day(a.certification_due_at)] as [string, string],
            ['Wind-down', a.wind_down ? `${a.wind_down.phase}: no new grants ${day(a.wind_down.no_new_grants)}, no friend data ${day(a.wind_down.no_friend_data)}, access ends ${day(a.wind_down.access_ended)}` : '—'] as [string, string],
          ].map(([name, value]) => (
            <Table.Tr key={name}><Table.Th scope="row" w={200}>{name}</Table.Th><Table.Td>{value}</Table.Td></Table.Tr>
          ))}
        </Table.Tbody>
      </Table>

      <Group justify="space-between" align="end">
        <SectionTitle>History</SectionTitle>
        <Link to={`/audit?agreement_id=${encodeURIComponent(a.id)}`}>Its audit entries</Link>
      </Group>
      <Failure error={history.error} />
      <Table withTableBorder striped aria-label="History">
        <Table.Thead>
          <Table.Tr><Table.Th>Version</Table.Th><Table.Th>When</Table.Th><Table.Th>Who</Table.Th><Table.Th>Action</Table.Th><Table.Th>Why</Table.Th><Table.Th>What changed</Table.Th></Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(history.data?.data ?? []).map((h, i) => (
            <Table.Tr key={i}>
              <Table.Td>{h.version}</Table.Td>
              <Table.Td>{h.at.slice(0, 16).replace('T', ' ')}</Table.Td>
              <Table.Td>{h.actor_name ?? h.actor}{h.actor_name && <Text span c="dimmed" size="xs"> {h.actor}</Text>}</Table.Td>
              <Table.Td>{h.action}</Table.Td>
              <Table.Td>{h.reason ?? ''}</Table.Td>
              <Table.Td className="diff">{h.diff ?? ''}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}
