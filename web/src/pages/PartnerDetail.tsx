import { Alert, Button, Checkbox, Group, Select, Stack, Table, Text, Textarea, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ok } from '../api/client';
import { useSession } from '../session';
import { Failure, Link, SectionTitle, ShownOnce, Title } from './common';

export const RISK_FLAGS = ['state_influence', 'sanctions', 'prior_violation'];

/** A partner as GET /admin/v1/partners/:id gives it. */
interface PartnerView {
  id: string; legal_name: string; country: string; kind: string; risk_flags: string[];
  storage: { location: string; country?: string }; contacts: string[]; webhook_url: string | null; privacy_policy_url: string | null;
}

const lines = (text: string) => text.split(/\s+/).filter(Boolean);
const when = (iso: string | null | undefined) => (iso ? iso.slice(0, 19).replace('T', ' ') : '—');

/** One partner: its details (edited by managers), its webhook with the delivery log, and its apps. */
export function PartnerDetail({ partnerId }: { partnerId: string }) {
  const { can } = useSession();
  const partner = useQuery({
    queryKey: ['partner', partnerId],
    queryFn: () => ok(api.GET('/admin/v1/partners/{partnerId}', { params: { path: { partnerId } } })),
  });
  const [secret, setSecret] = useState<{ label: string; value: string } | null>(null);
  if (partner.error) return <Failure error={partner.error} />;
  const p = partner.data;
  if (!p) return <Text>Loading…</Text>;
  const manage = can('manage_partners');
  return (
    <Stack>
      <Title>{p.legal_name}</Title>
      <Text>{p.kind.replace('_', ' ')} in {p.country}; risk flags: {p.risk_flags.join(', ') || 'none'}; data kept {p.storage.location.replace('_', ' ')}
        {p.storage.country ? ` (${p.storage.country})` : ''}. <Link to={`/agreements?partner_id=${p.id}`}>Its agreements</Link>
        {' · '}<Link to={`/audit?partner_id=${p.id}`}>Its audit entries</Link></Text>
      {secret && <ShownOnce title={secret.label} secret={secret.value} testId="secret" note="Copy it now: it is shown this once and stored only as a hash." />}
      {manage && <EditPartner key={JSON.stringify(p)} partner={p} />}
      <Webhook partner={p} manage={manage} onSecret={setSecret} />
      <Apps partnerId={p.id} manage={manage} onSecret={setSecret} />
    </Stack>
  );
}

function EditPartner({ partner }: { partner: PartnerView }) {
  const queryClient = useQueryClient();
  const [flags, setFlags] = useState(partner.risk_flags);
  const [storage, setStorage] = useState(partner.storage.location);
  const [storageCountry, setStorageCountry] = useState(partner.storage.country ?? '');
  const [webhookUrl, setWebhookUrl] = useState(partner.webhook_url ?? '');
  const [policyUrl, setPolicyUrl] = useState(partner.privacy_policy_url ?? '');
  const [contacts, setContacts] = useState(partner.contacts.join('\n'));
  const save = useMutation({
    mutationFn: () => ok(api.PATCH('/admin/v1/partners/{partnerId}', {
      params: { path: { partnerId: partner.id } },
      body: {
        risk_flags: flags as ['sanctions'],
        storage: storage === 'partner_servers' ? { location: 'partner_servers', country: storageCountry.trim().toUpperCase() } : { location: 'on_device' },
        webhook_url: webhookUrl.trim() || null,
        privacy_policy_url: policyUrl.trim() || null,
        contacts: lines(contacts),
      },
    })),
    onSuccess: () => queryClient.invalidateQueries({ predicate: (q) => ['partner', 'partners'].includes(String(q.queryKey[0])) }),
  });
  const submit = (event: FormEvent) => { event.preventDefault(); save.mutate(); };
  return (
    <form onSubmit={submit} aria-label="Edit the partner">
      <SectionTitle>Details</SectionTitle>
      <Stack maw={560}>
        <RiskAndStorageFields flags={flags} setFlags={setFlags} storage={storage} setStorage={setStorage}
          storageCountry={storageCountry} setStorageCountry={setStorageCountry} />
        <TextInput label="Webhook URL" description="Where notices are sent (https); empty for none" value={webhookUrl} onChange={(e) => setWebhookUrl(e.currentTarget.value)} />
        <TextInput label="Privacy policy URL" value={policyUrl} onChange={(e) => setPolicyUrl(e.currentTarget.value)} />
        <Textarea label="Contacts" description="Email addresses, one per line" value={contacts} onChange={(e) => setContacts(e.currentTarget.value)} autosize minRows={1} />
        <Failure error={save.error} />
        {save.isSuccess && <Alert color="green" role="status">Saved.</Alert>}
        <Group><Button type="submit" loading={save.isPending}>Save changes</Button></Group>
      </Stack>
    </form>
  );
}

/** The webhook: secret rotation and a test ping (managers), and the delivery log of every notice with its attempts. */
function Webhook({ partner, manage, onSecret }: { partner: PartnerView; manage: boolean; onSecret: (s: { label: string; value: string }) => void }) {
  const queryClient = useQueryClient();
  const notices = useQuery({
    queryKey: ['notices', partner.id],
    queryFn: () => ok(api.GET('/admin/v1/notices', { params: { query: { partner_id: partner.id, limit: 20 } } })),
  });
  const [opened, setOpened] = useState<string | null>(null);
  const attempts = useQuery({
    queryKey: ['notice', opened],
    enabled: opened !== null,
    queryFn: () => ok(api.GET('/admin/v1/notices/{id}', { params: { path: { id: opened! } } })),
  });
  const rotate = useMutation({
    mutationFn: () => ok(api.POST('/admin/v1/partners/{id}/webhook-secret/rotate', { params: { path: { id: partner.id } } })),
    onSuccess: (rotated) => onSecret({ label: `New webhook signing secret of ${partner.legal_name}: the old one no longer verifies`, value: rotated.webhook_secret }),
  });
  const ping = useMutation({
    mutationFn: () => ok(api.POST('/admin/v1/partners/{id}/webhook-ping', { params: { path: { id: partner.id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['notices', partner.id] }),
  });
  return (
    <section aria-label="Webhook">
      <SectionTitle>Webhook and delivery log</SectionTitle>
      <Text size="sm">Notices go to <span className="mono">{partner.webhook_url ?? 'nowhere: no webhook URL, so they are recorded as undeliverable'}</span>.</Text>
      {manage && (
        <Group my="sm">
          <Button variant="default" onClick={() => ping.mutate()} loading={ping.isPending}>Send a test ping</Button>
          <Button variant="default" onClick={() => rotate.mutate()} loading={rotate.isPending}>Rotate the signing secret</Button>
          <Button variant="subtle" onClick={() => void notices.refetch()}>Refresh the log</Button>
        </Group>
      )}
      {ping.data && <Alert color="blue" role="status" mb="sm">Test ping {ping.data.id} {ping.data.status === 'undeliverable' ? 'recorded: there is no webhook URL to send it to' : 'queued: it is sent within seconds; refresh the log to see the attempt'}.</Alert>}
      <Failure error={notices.error ?? rotate.error ?? ping.error} />
      {notices.data && (notices.data.data.length === 0 ? <Text size="sm">No notice yet.</Text> : (
        <Table withTableBorder striped aria-label="Delivery log">
          <Table.Thead><Table.Tr><Table.Th>Notice</Table.Th><Table.Th>Type</Table.Th><Table.Th>Created</Table.Th><Table.Th>Status</Table.Th><Table.Th>Attempts</Table.Th><Table.Th>Delivered</Table.Th><Table.Th /></Table.Tr></Table.Thead>
          <Table.Tbody>
            {notices.data.data.map((n) => (
              <Table.Tr key={n.id}>
                <Table.Td className="mono">{n.id}</Table.Td><Table.Td>{n.type}</Table.Td><Table.Td>{when(n.created_at)}</Table.Td>
                <Table.Td>{n.status}{n.reason ? ` (${n.reason})` : ''}</Table.Td><Table.Td>{n.attempts}</Table.Td><Table.Td>{when(n.delivered_at)}</Table.Td>
                <Table.Td><Button size="xs" variant="default" aria-label={`Attempts of ${n.id}`} onClick={() => setOpened(n.id)}>Attempts</Button></Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ))}
      {opened && attempts.data && (
        <Table withTableBorder mt="sm" aria-label={`Attempts of ${opened}`}>
          <Table.Thead><Table.Tr><Table.Th>#</Table.Th><Table.Th>When</Table.Th><Table.Th>Result</Table.Th><Table.Th>HTTP</Table.Th><Table.Th>Error</Table.Th><Table.Th>Next attempt</Table.Th></Table.Tr></Table.Thead>
          <Table.Tbody>
            {attempts.data.deliveries.length === 0 ? <Table.Tr><Table.Td colSpan={6}>Not attempted yet.</Table.Td></Table.Tr> : attempts.data.deliveries.map((d) => (
              <Table.Tr key={d.attempt}>
                <Table.Td>{d.attempt}</Table.Td><Table.Td>{when(d.attempted_at)}</Table.Td><Table.Td>{d.status}</Table.Td>
                <Table.Td>{d.http_status ?? ''}</Table.Td><Table.Td>{d.error ?? ''}</Table.Td><Table.Td>{when(d.next_attempt_at)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </section>
  );
}

/** The partner's apps: redirect URIs, status, secret rotation (the new secret shown once), and registering one. */
function Apps({ partnerId, manage, onSecret }: { partnerId: string; manage: boolean; onSecret: (s: { label: string; value: string }) => void }) {
  const queryClient = useQueryClient();
  const apps = useQuery({
    queryKey: ['partner', partnerId, 'apps'],
    queryFn: () => ok(api.GET('/admin/v1/partners/{partnerId}/apps', { params: { path: { partnerId } } })),
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['partner', partnerId] });
  const [name, setName] = useState('');
  const [appClass, setAppClass] = useState<string>('third_party');
  const [redirects, setRedirects] = useState('');
  const register = useMutation({
    mutationFn: () => ok(api.POST('/admin/v1/partners/{partnerId}/apps', {
      params: { path: { partnerId } },
      body: { name, class: appClass as 'third_party', redirect_uris: lines(redirects) },
    })),
    onSuccess: async (app) => {
      onSecret({ label: `Client secret of ${app.name} (client id ${app.client_id})`, value: app.client_secret });
      setName(''); setRedirects('');
      await refresh();
    },
  });
  const rotate = useMutation({
    mutationFn: (appId: string) => ok(api.POST('/admin/v1/partners/{partnerId}/apps/{appId}/rotate-secret', { params: { path: { partnerId, appId } } })),
    onSuccess: (app) => onSecret({ label: `New client secret of ${app.name}: the old one no longer works`, value: app.client_secret }),
  });
  const change = useMutation({
    mutationFn: ({ appId, body }: { appId: string; body: { redirect_uris?: string[]; status?: 'active' | 'disabled' } }) =>
      ok(api.PATCH('/admin/v1/partners/{partnerId}/apps/{appId}', { params: { path: { partnerId, appId } }, body })),
    onSuccess: refresh,
  });
  const [editing, setEditing] = useState<{ appId: string; uris: string } | null>(null);
  return (
    <section aria-label="Apps">
      <SectionTitle>Apps</SectionTitle>
      <Failure error={apps.error ?? register.error ?? rotate.error ?? change.error} />
      {apps.data && (apps.data.data.length === 0 ? <Text>No app yet.</Text> : (
        <Table withTableBorder aria-label="Apps">
          <Table.Thead><Table.Tr><Table.Th>App</Table.Th><Table.Th>Client id</Table.Th><Table.Th>Class</Table.Th><Table.Th>Status</Table.Th><Table.Th>Redirect URIs</Table.Th>{manage && <Table.Th>Changes</Table.Th>}</Table.Tr></Table.Thead>
          <Table.Tbody>
            {apps.data.data.map((app) => (
              <Table.Tr key={app.id}>
                <Table.Td>{app.name}</Table.Td><Table.Td className="mono">{app.client_id}</Table.Td><Table.Td>{app.class.replace('_', ' ')}</Table.Td><Table.Td>{app.status}</Table.Td>
                <Table.Td className="mono">
                  {editing?.appId === app.id ? (
                    <form aria-label={`Redirect URIs of ${app.name}`} onSubmit={(e) => { e.preventDefault(); change.mutate({ appId: app.id, body: { redirect_uris: lines(editing.uris) } }, { onSuccess: () => setEditing(null) }); }}>
                      <Textarea label="Redirect URIs, one per line" value={editing.uris} onChange={(e) => setEditing({ appId: app.id, uris: e.currentTarget.value })} autosize minRows={2} />
                      <Group mt={4}><Button size="xs" type="submit">Save URIs</Button><Button size="xs" variant="default" onClick={() => setEditing(null)}>Cancel</Button></Group>
                    </form>
                  ) : (app.redirect_uris.join(' ') || '— (client credentials only)')}
                </Table.Td>
                {manage && (
                  <Table.Td>
                    <Group gap="xs">
                      <Button size="xs" variant="default" onClick={() => rotate.mutate(app.id)} aria-label={`Rotate secret of ${app.name}`}>Rotate secret</Button>
                      <Button size="xs" variant="default" onClick={() => setEditing({ appId: app.id, uris: app.redirect_uris.join('\n') })} aria-label={`Edit redirect URIs of ${app.name}`}>Edit redirect URIs</Button>
                      <Button size="xs" variant="default" color={app.status === 'active' ? 'red.8' : undefined}
                        onClick={() => change.mutate({ appId: app.id, body: { status: app.status === 'active' ? 'disabled' : 'active' } })}
                        aria-label={`${app.status === 'active' ? 'Disable' : 'Enable'} ${app.name}`}>{app.status === 'active' ? 'Disable' : 'Enable'}</Button>
                    </Group>
                  </Table.Td>
                )}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ))}
      {manage && (
        <form onSubmit={(e) => { e.preventDefault(); register.mutate(); }} aria-label="Register an app">
          <SectionTitle>Register an app</SectionTitle>
          <Stack maw={560}>
            <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
            <Select label="Class" allowDeselect={false} value={appClass} onChange={(v) => setAppClass(v ?? 'third_party')}
              data={[{ value: 'third_party', label: 'Third party' }, { value: 'device_partner', label: 'Device partner (device makers only)' }]} />
            <Textarea label="Redirect URIs" description="One per line; none for client credentials only" value={redirects}
              onChange={(e) => setRedirects(e.currentTarget.value)} autosize minRows={2} />
            <Group><Button type="submit" loading={register.isPending}>Register app</Button></Group>
          </Stack>
        </form>
      )}
    </section>
  );
}

/** A partner's risk flags and where it keeps the data: the same fields when registering and editing. */
export function RiskAndStorageFields(props: {
  flags: string[]; setFlags: (flags: string[]) => void;
  storage: string; setStorage: (storage: string) => void;
  storageCountry: string; setStorageCountry: (country: string) => void;
}) {
  return (
    <>
      <Checkbox.Group label="Risk flags" description="Any flag puts the partner's agreements under the two-person rule" value={props.flags} onChange={props.setFlags}>
        <Group mt={4}>{RISK_FLAGS.map((f) => <Checkbox key={f} value={f} label={f.replace('_', ' ')} />)}</Group>
      </Checkbox.Group>
      <Group grow>
        <Select label="Where it keeps the data" allowDeselect={false} value={props.storage} onChange={(v) => props.setStorage(v ?? 'on_device')}
          data={[{ value: 'on_device', label: 'On the device' }, { value: 'partner_servers', label: "Partner's servers" }]} />
        {props.storage === 'partner_servers' && (
          <TextInput label="Servers' country" required maxLength={2} value={props.storageCountry} onChange={(e) => props.setStorageCountry(e.currentTarget.value)} />
        )}
      </Group>
    </>
  );
}
