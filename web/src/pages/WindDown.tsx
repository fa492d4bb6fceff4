import { Alert, Button, Group, Stack, Text, Textarea, TextInput, Timeline } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ok } from '../api/client';
import { day, Failure, SectionTitle } from './common';

/** What the planner reads of an agreement (GET /admin/v1/agreements/:id). */
interface AgreementView {
  id: string;
  status: string;
  ends_at: string;
  wind_down: { phase: string; no_new_grants: string; no_friend_data: string; access_ended: string } | null;
  deletion_attested_at: string | null;
  deletion_unconfirmed: boolean;
}

const DAY_MS = 86_400_000;
/** Days after access ends within which the partner must attest deletion (ATTESTATION_GRACE_DAYS on the server). */
const ATTESTATION_GRACE_DAYS = 30;

interface Plan { no_new_grants: string; no_friend_data: string; access_ended: string }

const PHASES: ReadonlyArray<{ key: keyof Plan; title: string; effect: string }> = [
  { key: 'no_new_grants', title: 'No new grants', effect: 'The consent page refuses the apps; grants given before keep working.' },
  { key: 'no_friend_data', title: 'No friend data', effect: 'Friend fields are no longer released.' },
  { key: 'access_ended', title: 'Access ends', effect: 'Every token and grant ends: the Graph API answers 403 agreement_not_in_effect.' },
];
const ORDER = ['none', 'no_new_grants', 'no_friend_data', 'access_ended'];

/** The wind-down as a timeline: its three phases, the deletion attestation due after them, and where the agreement is now. */
export function WindDownTimeline({ plan, phase, attestedAt, unconfirmed }: {
  plan: Plan; phase: string; attestedAt: string | null; unconfirmed: boolean;
}) {
  const reached = ORDER.indexOf(phase);
  const due = day(new Date(Date.parse(plan.access_ended) + ATTESTATION_GRACE_DAYS * DAY_MS).toISOString());
  const active = attestedAt ? 3 : reached - 1;
  return (
    <Timeline active={active} bulletSize={20} lineWidth={2} role="list" aria-label="Wind-down timeline">
      {PHASES.map((p, i) => (
        <Timeline.Item role="listitem" key={p.key} title={`${p.title}: ${day(plan[p.key])}`}>
          <Text size="sm">{p.effect}{i < reached ? ' (reached)' : ''}</Text>
        </Timeline.Item>
      ))}
      <Timeline.Item role="listitem" title={attestedAt ? `Deletion attested: ${day(attestedAt)}` : `Deletion attestation due by ${due}`}>
        <Text size="sm">
          {attestedAt ? 'The agreement is terminated.' : unconfirmed
            ? 'None came in time: the agreement is flagged deletion unconfirmed.'
            : 'The partner attests that it deleted the data; the agreement is then terminated.'}
        </Text>
      </Timeline.Item>
    </Timeline>
  );
}

/** What the dates picked break of the server's rules, before sending them (the server checks again, and whether they are in the future). */
function planProblem(plan: Plan, endsAt: string): string | null {
  if (!plan.no_new_grants || !plan.no_friend_data || !plan.access_ended) return 'Pick the three dates.';
  const [a, b, c] = [plan.no_new_grants, plan.no_friend_data, plan.access_ended].map((d) => Date.parse(d));
  if (!(a! < b! && b! < c!)) return 'The phases go in order: no new grants, then no friend data, then access ends.';
  if (c! > Date.parse(endsAt)) return `Access ends by the agreement's end date (${day(endsAt)}) at the latest.`;
  return null;
}

/** A day picked in a date field, as the start of that UTC day. */
const startOf = (picked: string) => (picked ? `${picked}T00:00:00.000Z` : '');

/** Schedule the wind-down of an active or suspended agreement: three dates, shown as the timeline they make before it is sent. */
export function WindDownPlanner({ agreement }: { agreement: AgreementView }) {
  const queryClient = useQueryClient();
  const [picked, setPicked] = useState<Plan>({ no_new_grants: '', no_friend_data: '', access_ended: '' });
  const [reason, setReason] = useState('');
  const plan: Plan = { no_new_grants: startOf(picked.no_new_grants), no_friend_data: startOf(picked.no_friend_data), access_ended: startOf(picked.access_ended) };
  const problem = planProblem(plan, agreement.ends_at);
  const schedule = useMutation({
    mutationFn: () => ok(api.POST('/admin/v1/agreements/{agreementId}/wind-down', {
      params: { path: { agreementId: agreement.id } },
      body: { ...plan, ...(reason.trim() ? { reason: reason.trim() } : {}) },
    })),
    onSuccess: () => queryClient.invalidateQueries(),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!problem) schedule.mutate();
  };
  return (
    <form onSubmit={submit} aria-label="Plan the wind-down">
      <SectionTitle>Plan the wind-down</SectionTitle>
      <Text size="sm" mb="sm">Three dated phases, announced to the partner by notice; each starts at 00:00 UTC of its day.</Text>
      <Group align="start" grow maw={720}>
        {PHASES.map((p) => (
          <TextInput key={p.key} type="date" label={p.title} required value={picked[p.key]}
            onChange={(e) => setPicked({ ...picked, [p.key]: e.currentTarget.value })} />
        ))}
      </Group>
      <Textarea label="Reason (kept in the history)" value={reason} onChange={(e) => setReason(e.currentTarget.value)} autosize minRows={1} maw={720} mt="sm" />
      {problem ? <Text size="sm" mt="sm" role="status">{problem}</Text> : (
        <Stack mt="sm" maw={720}>
          <Text size="sm" fw={600}>The plan as the partner will be told it:</Text>
          <WindDownTimeline plan={plan} phase="none" attestedAt={null} unconfirmed={false} />
        </Stack>
      )}
      <Failure error={schedule.error} />
      <Group mt="sm"><Button type="submit" disabled={problem !== null} loading={schedule.isPending}>Schedule the wind-down</Button></Group>
    </form>
  );
}

/** Record the partner's deletion attestation (after access has ended): the agreement is terminated. */
export function DeletionAttestation({ agreementId }: { agreementId: string }) {
  const queryClient = useQueryClient();
  const [signedBy, setSignedBy] = useState('');
  const [statement, setStatement] = useState('');
  const record = useMutation({
    mutationFn: () => ok(api.POST('/admin/v1/agreements/{agreementId}/deletion-attestation', {
      params: { path: { agreementId } }, body: { signed_by: signedBy.trim(), statement },
    })),
    onSuccess: () => queryClient.invalidateQueries(),
  });
  return (
    <form onSubmit={(e) => { e.preventDefault(); record.mutate(); }} aria-label="Record the deletion attestation">
      <SectionTitle>Deletion attestation</SectionTitle>
      <Alert color="blue" role="status" mb="sm">Access has ended. When the partner sends its signed statement that it deleted the data, record it here: the agreement is terminated.</Alert>
      <Stack maw={560}>
        <TextInput label="Signed by (at the partner)" required value={signedBy} onChange={(e) => setSignedBy(e.currentTarget.value)} />
        <Textarea label="Statement" required value={statement} onChange={(e) => setStatement(e.currentTarget.value)} autosize minRows={3} />
        <Failure error={record.error} />
        <Group><Button type="submit" loading={record.isPending}>Record the attestation</Button></Group>
      </Stack>
    </form>
  );
}
