import { Alert, Anchor, Button, Group, Loader, List, Progress, Stack, Table, Text } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { api, ok } from '../api/client';
import { useSession } from '../session';
import { day, Failure, Link, SectionTitle, Title } from './common';

type Fetched = Awaited<ReturnType<typeof fetchSimulation>>;
type Simulation = Extract<Fetched, { status: 'done' }>;
type Run = Exclude<Fetched, { status: 'done' }>;
interface DraftTerms { id: string; member_fields: string[]; friend_fields: string[]; purposes: string[] }

function fetchSimulation(agreementId: string, simulationId: string) {
  return ok(api.GET('/admin/v1/agreements/{agreementId}/simulations/{simulationId}', { params: { path: { agreementId, simulationId } } }));
}

const count = (n: number) => n.toLocaleString('en');
/** How often a running simulation is asked for its progress. */
const POLL_MS = 400;

/** A simulation by id, asked again while it runs (the API answers 202 with its progress until the result is stored). */
function useSimulation(agreementId: string | null | undefined, simulationId: string | undefined) {
  return useQuery({
    queryKey: ['simulation', agreementId, simulationId],
    enabled: Boolean(agreementId && simulationId),
    queryFn: () => fetchSimulation(agreementId!, simulationId!),
    refetchInterval: (query) => (query.state.data?.status === 'running' ? POLL_MS : false),
  });
}

/** A run's progress: requests replayed of those logged, or why it failed. */
function RunProgress({ run, agreementId }: { run: Run; agreementId: string }) {
  if (run.status === 'failed') return <Alert color="red" title="The simulation failed">{run.error?.message}</Alert>;
  const { done, total } = run.progress;
  return (
    <Stack gap={4} role="status" data-testid="simulation-progress">
      <Group gap="xs">
        <Loader size="sm" aria-hidden />
        <Text>Replaying the requests logged for {agreementId}: {count(done)} of {count(total)}…</Text>
      </Group>
      <Progress value={total === 0 ? 0 : (100 * done) / total} aria-label="Requests replayed" />
    </Stack>
  );
}
const sameSet = (a: readonly string[] | undefined, b: readonly string[]) => a !== undefined && a.length === b.length && a.every((x) => b.includes(x));

/** Whether a stored simulation still shows the draft as it is (it may have been edited since). */
function simulatesTermsOf(simulation: Simulation, draft: DraftTerms): boolean {
  const { member_fields, friend_fields, purposes } = simulation.proposal;
  return sameSet(member_fields, draft.member_fields) && sameSet(friend_fields, draft.friend_fields) && sameSet(purposes, draft.purposes);
}

/** One simulation's result: what the proposal would have changed in the requests the log holds, in the API's figures. */
export function SimulationResult({ simulation }: { simulation: Simulation }) {
  const s = simulation;
  const permalink = `/agreements/${s.agreement_id}/simulations/${s.id}`;
  return (
    <Stack gap="xs" data-testid="simulation-result">
      <Text>
        <Text span fw={700} data-testid="simulation-requests">{count(s.requests)}</Text> requests logged for {s.agreement_id} from {day(s.from)} to {day(s.to)} replayed
        ({count(s.subject_decisions)} subject decisions); <Text span fw={700} data-testid="simulation-changed">{count(s.requests_changed)}</Text> would have been decided otherwise.
      </Text>
      {s.fields.length === 0 ? <Text>No field would have been released more or less.</Text> : (
        <Table withTableBorder striped aria-label="What would change, per field">
          <Table.Thead>
            <Table.Tr>
              <Table.Th rowSpan={2}>Field</Table.Th>
              <Table.Th colSpan={3}>Released less</Table.Th>
              <Table.Th colSpan={3}>Released more</Table.Th>
              <Table.Th rowSpan={2}>Withheld for another reason</Table.Th>
            </Table.Tr>
            <Table.Tr>
              <Table.Th>times</Table.Th><Table.Th>members directly</Table.Th><Table.Th>through friends</Table.Th>
              <Table.Th>times</Table.Th><Table.Th>members directly</Table.Th><Table.Th>through friends</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {s.fields.map((f) => (
              <Table.Tr key={f.field}>
                <Table.Th scope="row">{f.field}</Table.Th>
                {[f.released_less, f.members_less_direct, f.members_less_through_friends, f.released_more, f.members_more_direct,
                  f.members_more_through_friends, f.reason_changed].map((n, i) => <Table.Td key={i} ta="right">{count(n)}</Table.Td>)}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <Text data-testid="simulation-members">
        Distinct members released less: {count(s.members.less_direct)} directly, {count(s.members.less_through_friends)} through friends;
        more: {count(s.members.more_direct)} directly, {count(s.members.more_through_friends)} through friends.
      </Text>
      {s.refused.length === 0 ? <Text>No request served then would be refused.</Text> : (
        <div>
          <Text>Requests served then that would be refused:</Text>
          <List aria-label="Refusals it would cause">
            {s.refused.map((r) => <List.Item key={`${r.code}/${r.cause ?? ''}`}>{count(r.requests)}: {r.code}{r.cause ? ` (${r.cause})` : ''}</List.Item>)}
          </List>
        </div>
      )}
      {s.served_instead > 0 && <Text>{count(s.served_instead)} requests refused then would be served (their subjects are unknown: a refusal lists none).</Text>}
      {s.differ_from_log_today > 0 && (
        <Alert color="orange" title="Compare with care">
          {count(s.differ_from_log_today)} requests replayed under their logged terms already come out otherwise than the log: members changed their settings since.
        </Alert>
      )}
      {s.skipped.length > 0 && <Text size="sm">Not replayed: {s.skipped.map((k) => `${count(k.requests)} (${k.reason})`).join(', ')}.</Text>}
      <Text size="sm" c="dimmed">{s.world_note}</Text>
      <Text size="sm">
        Simulation <Link to={permalink}>{s.id}</Link> of {day(s.generated_at)}
        {' '}(<Anchor href={`/admin/v1${permalink}`}>as JSON</Anchor>).
      </Text>
    </Stack>
  );
}

/**
 * "What would change": the draft's pending changes replayed against the last 90 days of the log of
 * the agreement it replaces, before anyone approves (issue 15). Running one is an audited staff
 * action for those who draft or approve; everyone else sees the last one stored for this draft.
 */
export function WhatWouldChange({ draft, inForceId }: { draft: DraftTerms; inForceId: string | null | undefined }) {
  const { can } = useSession();
  const queryClient = useQueryClient();
  const mayRun = can('manage_agreements') || can('approve_agreements');
  const storedKey = ['simulations', inForceId, draft.id];
  const stored = useQuery({
    queryKey: storedKey,
    enabled: Boolean(inForceId),
    queryFn: () => ok(api.GET('/admin/v1/agreements/{agreementId}/simulations', {
      params: { path: { agreementId: inForceId! }, query: { draft_agreement_id: draft.id, limit: 1 } },
    })),
  });
  const run = useMutation({
    mutationFn: () => ok(api.POST('/admin/v1/agreements/{agreementId}/simulations', {
      params: { path: { agreementId: inForceId! } }, body: { proposal: { draft: true } },
    })),
  });
  const followed = useSimulation(inForceId, run.data?.id);
  const ran = followed.data?.status === 'done' ? followed.data : undefined;
  const running = run.isPending || (run.data !== undefined && ran === undefined && followed.data?.status !== 'failed');
  useEffect(() => {
    if (ran !== undefined) void queryClient.invalidateQueries({ queryKey: storedKey });
  }, [ran?.id]);

  let body;
  if (inForceId === undefined) body = <Text>Loading…</Text>;
  else if (inForceId === null) {
    body = <Text>Nothing to replay against: this draft amends no agreement in force, so the log holds no request its changes would have decided.</Text>;
  } else {
    const shown = ran ?? stored.data?.data[0];
    body = (
      <Stack gap="xs">
        <Text size="sm">
          The draft's fields and purposes in place of {inForceId}'s, every request logged for {inForceId} in the last 90 days decided again at its own instant.
        </Text>
        <Failure error={stored.error ?? run.error ?? followed.error} />
        {mayRun && (
          <Group>
            <Button onClick={() => run.mutate()} loading={running} variant={shown ? 'default' : 'filled'}>
              {shown ? 'Run the simulation again' : 'Run the simulation'}
            </Button>
          </Group>
        )}
        {run.isPending && (
          <Group role="status" gap="xs">
            <Loader size="sm" aria-hidden />
            <Text>Replaying the requests logged for {inForceId} over the last 90 days…</Text>
          </Group>
        )}
        {followed.data !== undefined && followed.data.status !== 'done' && <RunProgress run={followed.data} agreementId={inForceId} />}
        {!mayRun && !shown && stored.isSuccess && (
          <Text>
            No simulation of this draft is stored yet. Running one needs the right to manage or approve agreements
            (partnerships managers, privacy officers, admins); the last one run shows here.
          </Text>
        )}
        {shown && shown.draft_agreement_id !== draft.id && (
          <Alert color="orange" role="status" title="Another draft was simulated">
            The pending draft for {inForceId}'s apps is the newest, {shown.draft_agreement_id}: the figures below are its changes, not this draft's.
          </Alert>
        )}
        {shown && !ran && !simulatesTermsOf(shown, draft) && (
          <Alert color="orange" role="status" title="The draft changed since">This simulation was run on earlier terms of the draft.</Alert>
        )}
        {shown && !running && <SimulationResult simulation={shown} />}
      </Stack>
    );
  }
  return (
    <section aria-label="What would change">
      <SectionTitle>What would change</SectionTitle>
      {body}
    </section>
  );
}

/** A stored simulation on a page of its own (the permalink a review can cite). */
export function SimulationPage({ agreementId, simulationId }: { agreementId: string; simulationId: string }) {
  const simulation = useSimulation(agreementId, simulationId);
  const data = simulation.data;
  return (
    <Stack gap="sm">
      <Title>Simulation {simulationId}</Title>
      <Text>
        Of <Link to={`/agreements/${agreementId}`}>{agreementId}</Link>
        {data?.status === 'done' && data.draft_agreement_id && <>, the pending changes of draft <Link to={`/agreements/${data.draft_agreement_id}`}>{data.draft_agreement_id}</Link></>}.
      </Text>
      <Failure error={simulation.error} />
      {data === undefined ? !simulation.error && <Text>Loading…</Text>
        : data.status === 'done' ? <SimulationResult simulation={data} /> : <RunProgress run={data} agreementId={agreementId} />}
    </Stack>
  );
}
