import { BarChart } from '@mantine/charts';
import { Alert, Anchor, Badge, Button, Group, List, Select, Stack, Table, Text } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ok } from '../api/client';
import { useRouter } from '../router';
import { useSession } from '../session';
import { day, Failure, Link, SectionTitle, StatusBadge, Title } from './common';
import { usePartners } from './Agreements';

/** The reports, each as the admin API serves it (GET /admin/v1/reports/…), with its CSV download. */
export const REPORTS: ReadonlyArray<{ to: string; label: string; what: string }> = [
  { to: '/reports/inventory', label: 'Inventory', what: 'Every partner and agreement: status, dates, fields, storage, certification, last access, volume in the last 30 days, wind-down progress.' },
  { to: '/reports/exposure', label: 'Exposure', what: 'Per partner, agreement, month and field, how many distinct members\u2019 data was released, directly and through friends.' },
  { to: '/reports/counterfactual', label: 'What the 2018 rules would have reached', what: 'Per partner, the members Datapact released data on beside those the 2018 device-integrated APIs would have exposed through the same requests: every friend, and friends of friends.' },
  { to: '/reports/least-privilege', label: 'Least privilege', what: 'Per agreement and per population of its live grants, the purposes and fields allowed and never used in the last 90 days, with a suggested draft that removes them.' },
  { to: '/reports/records-of-processing', label: 'Records of processing', what: 'GDPR Art. 30, per agreement: controller, purposes, data categories, recipient, transfers and safeguards, retention, dates, and findings to act on.' },
];

export function Reports() {
  return (
    <>
      <Title>Reports</Title>
      <List spacing="sm">
        {REPORTS.map((r) => <List.Item key={r.to}><Link to={r.to}>{r.label}</Link>: {r.what}</List.Item>)}
      </List>
      <SectionTitle>The regulator's pack</SectionTitle>
      <Text>One self-contained document answering the 2018 letters' questions for every partner: inventory, exposure, what the
        2018 rules would have reached, records of processing and the latest verified tree head.</Text>
      <Group>
        <Anchor href="/admin/v1/reports/pack?format=html" download>Download the pack (HTML)</Anchor>
        <Anchor href="/admin/v1/reports/pack?format=pdf" download>Download the pack (PDF)</Anchor>
      </Group>
    </>
  );
}

/** The JSON form of a report (its CSV is the other answer the API may give). */
async function json<T>(pending: Promise<T>): Promise<Exclude<T, string>> {
  const answer = await pending;
  if (typeof answer === 'string') throw new Error('The server answered CSV where JSON was asked for.');
  return answer as Exclude<T, string>;
}

function Download({ path }: { path: string }) {
  // A plain link: the session cookie goes with a GET, and the server names the file.
  return <Anchor href={path} download>Download as CSV</Anchor>;
}

function Header({ title, generatedAt, csv }: { title: string; generatedAt?: string; csv: string }) {
  return (
    <Group justify="space-between" align="baseline">
      <Title>{title}</Title>
      <Group>
        {generatedAt && <Text size="sm" c="dimmed">As of {generatedAt.slice(0, 16).replace('T', ' ')} UTC</Text>}
        <Download path={csv} />
      </Group>
    </Group>
  );
}

const list = (values: readonly string[]) => (values.length ? values.join(', ') : '—');

export function InventoryReport() {
  const report = useQuery({ queryKey: ['report', 'inventory'], queryFn: () => json(ok(api.GET('/admin/v1/reports/inventory', { params: { query: {} } }))) });
  const data = report.data;
  return (
    <Stack>
      <Header title="Inventory" generatedAt={data?.generated_at} csv="/admin/v1/reports/inventory?format=csv" />
      <Failure error={report.error} />
      {data && (
        <Table.ScrollContainer minWidth={1100}>
          <Table striped withTableBorder aria-label="Inventory">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Partner</Table.Th><Table.Th>Agreement</Table.Th><Table.Th>Status</Table.Th><Table.Th>Term</Table.Th><Table.Th>Fields (friends)</Table.Th>
                <Table.Th>Storage</Table.Th><Table.Th>Certification</Table.Th><Table.Th>Last access</Table.Th><Table.Th>Members, 30 days</Table.Th><Table.Th>Wind-down</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {data.data.map((r) => (
                <Table.Tr key={`${r.partner_id}-${r.agreement_id ?? ''}`}>
                  <Table.Td><Link to={`/partners/${r.partner_id}`}>{r.partner_legal_name}</Link> ({r.partner_country}){r.risk_flags.map((f) => <Badge key={f} ml={4} color="red" variant="light" c="dark.9">{f}</Badge>)}</Table.Td>
                  <Table.Td>{r.agreement_id ? <Link to={`/agreements/${r.agreement_id}`}>{r.agreement_id}</Link> : '—'}</Table.Td>
                  <Table.Td>{r.status ? <StatusBadge status={r.status} /> : '—'}{!r.in_effect && r.not_in_effect_cause && <Text size="xs">not in effect: {r.not_in_effect_cause}</Text>}</Table.Td>
                  <Table.Td>{day(r.starts_at)} to {day(r.ends_at)}</Table.Td>
                  <Table.Td>{list(r.member_fields)}{r.friend_fields.length > 0 && <Text size="xs">friends: {list(r.friend_fields)}</Text>}</Table.Td>
                  <Table.Td>{r.storage_location.replace('_', ' ')}{r.storage_country ? ` (${r.storage_country})` : ''}</Table.Td>
                  <Table.Td>{r.certification_state ?? '—'}</Table.Td>
                  <Table.Td>{day(r.last_access_at)}</Table.Td>
                  <Table.Td>{r.members_reached_30d}</Table.Td>
                  <Table.Td>{r.wind_down ?? '—'}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}

/** `2026-11` minus `n` months. */
function monthsBefore(month: string, n: number): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const index = y * 12 + (m - 1) - n;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}

const MONTHS_SHOWN = 6;

export function ExposureReport() {
  const partners = usePartners();
  const { query, navigate } = useRouter();
  const partnerId = query.get('partner_id') ?? undefined;
  // The month of the server's `now` (not the browser's clock): the report's own default period.
  const current = useQuery({ queryKey: ['report', 'exposure', 'now'], queryFn: () => json(ok(api.GET('/admin/v1/reports/exposure', { params: { query: {} } }))) });
  const to = current.data?.to;
  const report = useQuery({
    queryKey: ['report', 'exposure', to, partnerId],
    enabled: to !== undefined,
    queryFn: () => json(ok(api.GET('/admin/v1/reports/exposure', { params: { query: { from: monthsBefore(to!, MONTHS_SHOWN - 1), to: to!, partner_id: partnerId } } }))),
  });
  const data = report.data;
  const months = to ? Array.from({ length: MONTHS_SHOWN }, (_, i) => monthsBefore(to, MONTHS_SHOWN - 1 - i)) : [];
  const perMonth = months.map((month) => {
    const rows = (data?.data ?? []).filter((r) => r.period === month && r.field === '*');
    return {
      month,
      Directly: rows.reduce((sum, r) => sum + r.members_direct, 0),
      'Through friends': rows.reduce((sum, r) => sum + r.members_through_friends, 0),
    };
  });
  const csv = `/admin/v1/reports/exposure?format=csv${to ? `&from=${monthsBefore(to, MONTHS_SHOWN - 1)}&to=${to}` : ''}${partnerId ? `&partner_id=${encodeURIComponent(partnerId)}` : ''}`;
  return (
    <Stack>
      <Header title="Exposure" generatedAt={data?.generated_at} csv={csv} />
      <Select label="Partner" placeholder="All partners" clearable maw={320} value={partnerId ?? null}
        onChange={(v) => navigate(`/reports/exposure${v ? `?partner_id=${encodeURIComponent(v)}` : ''}`)}
        data={(partners.data?.data ?? []).map((p) => ({ value: p.id, label: p.legal_name }))} />
      <Failure error={current.error ?? report.error} />
      {data && (
        <>
          <section aria-label="Members reached per month">
            <SectionTitle>Members whose data was released, per month</SectionTitle>
            <Text size="sm" mb="xs">{data.from} to {data.to}. Each agreement counts a member once a month; a member reached under two agreements counts in both.</Text>
            <figure className="chart">
              <BarChart h={260} data={perMonth} dataKey="month" type="stacked" withLegend
                series={[{ name: 'Directly', color: 'indigo.8' }, { name: 'Through friends', color: 'orange.7' }]} />
              <figcaption className="sr-only">
                {perMonth.map((m) => `${m.month}: ${m.Directly} directly, ${m['Through friends']} through friends`).join('; ')}
              </figcaption>
            </figure>
          </section>
          <SectionTitle>Over the period, per partner</SectionTitle>
          <Table withTableBorder striped aria-label="Exposure per partner">
            <Table.Thead><Table.Tr><Table.Th>Partner</Table.Th><Table.Th>Directly</Table.Th><Table.Th>Through friends</Table.Th><Table.Th>Members in all</Table.Th></Table.Tr></Table.Thead>
            <Table.Tbody>
              {data.by_partner.map((p) => (
                <Table.Tr key={p.partner_id}><Table.Td>{p.partner_legal_name}</Table.Td><Table.Td>{p.members_direct}</Table.Td><Table.Td>{p.members_through_friends}</Table.Td><Table.Td>{p.members_total}</Table.Td></Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          <SectionTitle>Over the period, per storage</SectionTitle>
          <Table withTableBorder striped aria-label="Exposure per storage">
            <Table.Thead><Table.Tr><Table.Th>Kept</Table.Th><Table.Th>Directly</Table.Th><Table.Th>Through friends</Table.Th><Table.Th>Members in all</Table.Th></Table.Tr></Table.Thead>
            <Table.Tbody>
              {data.by_storage.map((s) => (
                <Table.Tr key={s.storage}><Table.Td>{s.storage.replace('_', ' ')}</Table.Td><Table.Td>{s.members_direct}</Table.Td><Table.Td>{s.members_through_friends}</Table.Td><Table.Td>{s.members_total}</Table.Td></Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          <SectionTitle>Per agreement, month and field</SectionTitle>
          <Table withTableBorder striped aria-label="Exposure per field">
            <Table.Thead><Table.Tr><Table.Th>Partner</Table.Th><Table.Th>Agreement</Table.Th><Table.Th>Period</Table.Th><Table.Th>Field</Table.Th><Table.Th>Directly</Table.Th><Table.Th>Through friends</Table.Th><Table.Th>Members</Table.Th></Table.Tr></Table.Thead>
            <Table.Tbody>
              {data.data.map((r, i) => (
                <Table.Tr key={i}>
                  <Table.Td>{r.partner_legal_name}</Table.Td><Table.Td>{r.agreement_id}</Table.Td><Table.Td>{r.period}</Table.Td>
                  <Table.Td>{r.field === '*' ? 'any field' : r.field}</Table.Td><Table.Td>{r.members_direct}</Table.Td><Table.Td>{r.members_through_friends}</Table.Td><Table.Td>{r.members_total}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </>
      )}
    </Stack>
  );
}

const REACH_MONTHS = 12;

export function CounterfactualReport() {
  // The month of the server's `now`, then the twelve months up to it.
  const current = useQuery({ queryKey: ['report', 'counterfactual', 'now'], queryFn: () => json(ok(api.GET('/admin/v1/reports/counterfactual', { params: { query: {} } }))) });
  const to = current.data?.to;
  const from = to ? monthsBefore(to, REACH_MONTHS - 1) : undefined;
  const report = useQuery({
    queryKey: ['report', 'counterfactual', from, to],
    enabled: to !== undefined,
    queryFn: () => json(ok(api.GET('/admin/v1/reports/counterfactual', { params: { query: { from: from!, to: to! } } }))),
  });
  const data = report.data;
  const bars = (data?.data ?? []).map((r) => ({
    partner: r.partner_legal_name, 'Released by Datapact': r.released_members, 'Exposed under the 2018 rules': r.reach_2018,
  }));
  return (
    <Stack>
      <Header title="What the 2018 rules would have reached" generatedAt={data?.generated_at}
        csv={`/admin/v1/reports/counterfactual?format=csv${from ? `&from=${from}&to=${to}` : ''}`} />
      <Failure error={current.error ?? report.error} />
      {data && (
        <>
          <Text size="sm">{data.from} to {data.to}. {data.graph_note}</Text>
          {data.data.length === 0 ? <Text>No partner made a request in this period.</Text> : (
            <figure className="chart">
              <BarChart h={280} data={bars} dataKey="partner"
                series={[{ name: 'Released by Datapact', color: 'indigo.8' }, { name: 'Exposed under the 2018 rules', color: 'red.8' }]} withLegend />
              <figcaption className="sr-only">
                {bars.map((b) => `${b.partner}: ${b['Released by Datapact']} released, ${b['Exposed under the 2018 rules']} under the 2018 rules`).join('; ')}
              </figcaption>
            </figure>
          )}
          <Table withTableBorder striped aria-label="The 2018 reach per partner">
            <Table.Thead><Table.Tr><Table.Th>Partner</Table.Th><Table.Th>Token members</Table.Th><Table.Th>Released</Table.Th><Table.Th>2018 reach</Table.Th><Table.Th>Only as friends of friends</Table.Th></Table.Tr></Table.Thead>
            <Table.Tbody>
              {data.data.map((r) => (
                <Table.Tr key={r.partner_id}>
                  <Table.Td><Link to={`/partners/${r.partner_id}`}>{r.partner_legal_name}</Link></Table.Td><Table.Td>{r.token_members}</Table.Td>
                  <Table.Td>{r.released_members}</Table.Td><Table.Td>{r.reach_2018}</Table.Td><Table.Td>{r.reach_2018_friends_of_friends_only}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </>
      )}
    </Stack>
  );
}

export function RecordsOfProcessing() {
  const report = useQuery({
    queryKey: ['report', 'records'],
    queryFn: () => json(ok(api.GET('/admin/v1/reports/records-of-processing', { params: { query: {} } }))),
  });
  const data = report.data;
  return (
    <Stack>
      <Header title="Records of processing" generatedAt={data?.generated_at} csv="/admin/v1/reports/records-of-processing?format=csv" />
      <Failure error={report.error} />
      {data && <Text>Controller: {data.controller.name} ({data.controller.country}). One record per agreement (GDPR Art. 30).</Text>}
      {data?.data.map((r) => (
        <section key={r.agreement_id} aria-label={`Record of ${r.agreement_id}`}>
          <SectionTitle>
            <Link to={`/agreements/${r.agreement_id}`}>{r.agreement_id}</Link> v{r.version}: {r.recipient.legal_name} <StatusBadge status={r.status} />
            {r.findings.map((f) => <Badge key={f} ml={6} color="red" variant="light" c="dark.9">{f.replace(/_/g, ' ')}</Badge>)}
          </SectionTitle>
          <Table withTableBorder aria-label={`Processing under ${r.agreement_id}`}>
            <Table.Tbody>
              {([
                ['Recipient', `${r.recipient.legal_name} (${r.recipient.country}, ${r.recipient.kind.replace('_', ' ')}); apps ${list(r.recipient.apps)}${r.recipient.risk_flags.length ? `; risk flags ${list(r.recipient.risk_flags)}` : ''}`],
                ['Purposes', r.purposes.map((p) => `${p.purpose}: ${p.description}`).join(' ')],
                ['Members concerned', list(r.member_categories)],
                ['Data', r.data_categories.map((c) => `${c.about} ${c.class}: ${c.fields.join(', ')}`).join('; ')],
                ['Storage', `${r.storage.location.replace('_', ' ')}${r.storage.country ? ` (${r.storage.country})` : ''}`],
                ['Transfer', r.transfer.outside_controller_country ? `to ${r.transfer.destination_country ?? '?'}, safeguard: ${r.transfer.safeguard ?? 'none stated'}` : 'none outside the controller\u2019s country'],
                ['Retention', `${r.retention_days} days`],
                ['Security measures', r.security_measures.join('; ')],
                ['Dates', `from ${day(r.dates.starts_at)} to ${day(r.dates.ends_at)}; certification due ${day(r.dates.certification_due_at)}; last transfer ${day(r.dates.last_transfer_at)}`
                  + (r.dates.access_ended_at ? `; access ended ${day(r.dates.access_ended_at)}` : '') + (r.dates.deletion_attested_at ? `; deletion attested ${day(r.dates.deletion_attested_at)}` : '')],
              ] as Array<[string, string]>).map(([name, value]) => (
                <Table.Tr key={name}><Table.Th scope="row" w={200}>{name}</Table.Th><Table.Td>{value}</Table.Td></Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </section>
      ))}
    </Stack>
  );
}

type LeastPrivilegeRow = Exclude<Awaited<ReturnType<typeof fetchLeastPrivilege>>, string>['data'][number];

function fetchLeastPrivilege() {
  return json(ok(api.GET('/admin/v1/reports/least-privilege', { params: { query: {} } })));
}

const STATE_COLOR: Record<string, string> = { suggestions: 'orange', least_privilege: 'green', unused: 'red' };

/** One agreement's suggestions, and the button that drafts them (shown disabled to the roles that may not draft). */
function LeastPrivilegeAgreement({ row }: { row: LeastPrivilegeRow }) {
  const { can } = useSession();
  const queryClient = useQueryClient();
  const draft = useMutation({
    mutationFn: () => ok(api.POST('/admin/v1/agreements/{agreementId}/least-privilege-draft', { params: { path: { agreementId: row.agreement_id } }, body: {} })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['agreements'] }),
  });
  const mayDraft = can('manage_agreements');
  const neverUsed: Array<[string, readonly string[]]> = [
    ['Purposes', row.unused_purposes], ['Member fields', row.unused_member_fields], ['Friend fields', row.unused_friend_fields],
  ];
  return (
    <section aria-label={`Least privilege of ${row.agreement_id}`}>
      <SectionTitle>
        <Link to={`/agreements/${row.agreement_id}`}>{row.agreement_id}</Link> v{row.version}: {row.partner_legal_name}{' '}
        <Badge color={STATE_COLOR[row.state] ?? 'gray'} variant="light" c="dark.9">{row.state.replace('_', ' ')}</Badge>
      </SectionTitle>
      {/* With suggestions, the table below says what the note would. */}
      {row.state !== 'suggestions' && <Text size="sm" mb="xs">{row.note}</Text>}
      {row.friend_fields_cut && <Text size="sm" mb="xs">Friend fields are already cut by the wind-down: none is suggested.</Text>}
      {row.state !== 'too_young' && row.state !== 'not_in_effect' && row.state !== 'access_ended' && (
        <Table withTableBorder aria-label={`Never used under ${row.agreement_id}`}>
          <Table.Thead><Table.Tr><Table.Th>Allowed and never used</Table.Th><Table.Th>In the agreement</Table.Th><Table.Th>Population of live grants</Table.Th></Table.Tr></Table.Thead>
          <Table.Tbody>
            {neverUsed.map(([name, values]) => (
              <Table.Tr key={name}>
                <Table.Th scope="row">{name}</Table.Th>
                <Table.Td>{list(values)}</Table.Td>
                <Table.Td>{name === 'Purposes' ? '—' : row.grant_populations.map((p) => {
                  const unused = name === 'Member fields' ? p.unused_member_fields : p.unused_friend_fields;
                  return `${p.app_id} for ${p.purpose} (${p.grants} grants): ${list(unused)}`;
                }).join('; ') || '—'}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {row.suggested && (
        <Group mt="xs" align="center">
          <Button onClick={() => draft.mutate()} loading={draft.isPending} disabled={!mayDraft || draft.isSuccess}>Create suggested draft</Button>
          {!mayDraft && <Text size="sm">Drafting needs the partnerships manager or admin role.</Text>}
          <Text size="sm">Purposes {list(row.suggested.purposes)}; member fields {list(row.suggested.member_fields)}; friend fields {list(row.suggested.friend_fields)}.</Text>
        </Group>
      )}
      <Failure error={draft.error} />
      {draft.data && (
        <Alert color="green" role="status" mt="xs">
          Draft <Link to={`/agreements/${draft.data.id}`}>{draft.data.id}</Link> made, from {day(draft.data.starts_at)} to {day(draft.data.ends_at)}:
          it needs {draft.data.approvals.needed} approval{draft.data.approvals.needed === 1 ? '' : 's'} like any other.
        </Alert>
      )}
    </section>
  );
}

export function LeastPrivilegeReport() {
  const report = useQuery({ queryKey: ['report', 'least-privilege'], queryFn: fetchLeastPrivilege });
  const data = report.data;
  return (
    <Stack>
      <Header title="Least privilege" generatedAt={data?.generated_at} csv="/admin/v1/reports/least-privilege?format=csv" />
      <Failure error={report.error} />
      {data && (
        <Text size="sm">
          What each agreement allowed and was never used from {day(data.window_from)} to {day(data.window_to)} ({data.window_days} days):
          member fields never released directly, friend fields never released through friends, purposes no request used.
          A suggested draft removes them and goes through review and approval like any other.
        </Text>
      )}
      {data?.data.map((row) => <LeastPrivilegeAgreement key={row.agreement_id} row={row} />)}
    </Stack>
  );
}
