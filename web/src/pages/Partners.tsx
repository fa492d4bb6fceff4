import { Alert, Button, Checkbox, Code, Group, Select, Stack, Table, Text, Textarea, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ok } from '../api/client';
import { useRouter } from '../router';
import { useSession } from '../session';
import { Failure, Link, SectionTitle, Title } from './common';
import { usePartners } from './Agreements';

const RISK_FLAGS = ['state_influence', 'sanctions', 'prior_violation'];

/** Partners by legal name, and registering one (partnerships managers, admins). */
export function Partners() {
  const { can } = useSession();
  const partners = usePartners();
  return (
    <>
      <Title>Partners</Title>
      <Failure error={partners.error} />
      {partners.data && (
        <Table striped withTableBorder aria-label="Partners">
          <Table.Thead>
            <Table.Tr><Table.Th>Partner</Table.Th><Table.Th>Country</Table.Th><Table.Th>Kind</Table.Th><Table.Th>Risk flags</Table.Th><Table.Th>Storage</Table.Th></Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {partners.data.data.map((p) => (
              <Table.Tr key={p.id}>
                <Table.Td><Link to={`/partners/${p.id}`}>{p.legal_name}</Link></Table.Td>
                <Table.Td>{p.country}</Table.Td>
                <Table.Td>{p.kind.replace('_', ' ')}</Table.Td>
                <Table.Td>{p.risk_flags.join(', ') || '—'}</Table.Td>
                <Table.Td>{p.storage.location.replace('_', ' ')}{p.storage.country ? ` (${p.storage.country})` : ''}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {can('manage_partners') && <RegisterPartner />}
    </>
  );
}

function RegisterPartner() {
  const { navigate } = useRouter();
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [country, setCountry] = useState('');
  const [kind, setKind] = useState<string>('device_maker');
  const [flags, setFlags] = useState<string[]>([]);
  const [storage, setStorage] = useState<string>('on_device');
  const [storageCountry, setStorageCountry] = useState('');
  const create = useMutation({
    mutationFn: () => ok(api.POST('/admin/v1/partners', {
      body: {
        legal_name: name, country: country.trim().toUpperCase(), kind: kind as 'device_maker', risk_flags: flags as ['sanctions'],
        storage: storage === 'partner_servers' ? { location: 'partner_servers', country: storageCountry.trim().toUpperCase() } : { location: 'on_device' },
      },
    })),
    onSuccess: async (partner) => {
      await queryClient.invalidateQueries({ queryKey: ['partners'] });
      navigate(`/partners/${partner.id}`);
    },
  });
  const submit = (event: FormEvent) => { event.preventDefault(); create.mutate(); };
  return (
    <form onSubmit={submit} aria-label="Register a partner">
      <SectionTitle>Register a partner</SectionTitle>
      <Stack maw={560}>
        <TextInput label="Legal name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
        <Group grow>
          <TextInput label="Country" description="ISO code, e.g. GB" required maxLength={2} value={country} onChange={(e) => setCountry(e.currentTarget.value)} />
          <Select label="Kind" allowDeselect={false} value={kind} onChange={(v) => setKind(v ?? 'device_maker')}
            data={[{ value: 'device_maker', label: 'Device maker' }, { value: 'app_developer', label: 'App developer' }]} />
        </Group>
        <Checkbox.Group label="Risk flags" description="Any flag puts its agreements under the two-person rule" value={flags} onChange={setFlags}>
          <Group mt={4}>{RISK_FLAGS.map((f) => <Checkbox key={f} value={f} label={f.replace('_', ' ')} />)}</Group>
        </Checkbox.Group>
        <Group grow>
          <Select label="Where it keeps the data" allowDeselect={false} value={storage} onChange={(v) => setStorage(v ?? 'on_device')}
            data={[{ value: 'on_device', label: 'On the device' }, { value: 'partner_servers', label: "Partner's servers" }]} />
          {storage === 'partner_servers' && (
            <TextInput label="Servers' country" required maxLength={2} value={storageCountry} onChange={(e) => setStorageCountry(e.currentTarget.value)} />
          )}
        </Group>
        <Failure error={create.error} />
        <Group><Button type="submit" loading={create.isPending}>Register partner</Button></Group>
      </Stack>
    </form>
  );
}

/** A secret the server shows this once. */
function ShownOnce({ label, secret }: { label: string; secret: string }) {
  return (
    <Alert color="orange" title={label} role="status">
      <Text size="sm">Copy it now: it is shown this once and stored only as a hash.</Text>
      <Code block data-testid="secret">{secret}</Code>
    </Alert>
  );
}

/** One partner with its apps: register an app (its client secret shown once), rotate a secret. */
export function PartnerDetail({ partnerId }: { partnerId: string }) {
  const { can } = useSession();
  const queryClient = useQueryClient();
  const partner = useQuery({
    queryKey: ['partner', partnerId],
    queryFn: () => ok(api.GET('/admin/v1/partners/{partnerId}', { params: { path: { partnerId } } })),
  });
  const [secret, setSecret] = useState<{ label: string; value: string } | null>(null);
  const [name, setName] = useState('');
  const [appClass, setAppClass] = useState<string>('third_party');
  const [redirects, setRedirects] = useState('');
  const register = useMutation({
    mutationFn: () => ok(api.POST('/admin/v1/partners/{partnerId}/apps', {
      params: { path: { partnerId } },
      body: { name, class: appClass as 'third_party', redirect_uris: redirects.split(/\s+/).filter(Boolean) },
    })),
    onSuccess: async (app) => {
      setSecret({ label: `Client secret of ${app.name} (client id ${app.client_id})`, value: app.client_secret });
      setName(''); setRedirects('');
      await queryClient.invalidateQueries({ queryKey: ['partner', partnerId] });
    },
  });
  const rotate = useMutation({
    mutationFn: (appId: string) => ok(api.POST('/admin/v1/partners/{partnerId}/apps/{appId}/rotate-secret', { params: { path: { partnerId, appId } } })),
    onSuccess: (app) => setSecret({ label: `New client secret of ${app.name}: the old one no longer works`, value: app.client_secret }),
  });
  if (partner.error) return <Failure error={partner.error} />;
  const p = partner.data;
  if (!p) return <Text>Loading…</Text>;
  const manage = can('manage_partners');
  return (
    <Stack>
      <Title>{p.legal_name}</Title>
      <Text>{p.kind.replace('_', ' ')} in {p.country}; risk flags: {p.risk_flags.join(', ') || 'none'}; data kept {p.storage.location.replace('_', ' ')}
        {p.storage.country ? ` (${p.storage.country})` : ''}. <Link to={`/agreements?partner_id=${p.id}`}>Its agreements</Link></Text>
      {secret && <ShownOnce label={secret.label} secret={secret.value} />}
      <Failure error={register.error ?? rotate.error} />
      <SectionTitle>Apps</SectionTitle>
      {p.apps.length === 0 ? <Text>No app yet.</Text> : (
        <Table withTableBorder aria-label="Apps">
          <Table.Thead><Table.Tr><Table.Th>App</Table.Th><Table.Th>Client id</Table.Th><Table.Th>Class</Table.Th><Table.Th>Status</Table.Th>{manage && <Table.Th>Secret</Table.Th>}</Table.Tr></Table.Thead>
          <Table.Tbody>
            {p.apps.map((app) => (
              <Table.Tr key={app.id}>
                <Table.Td>{app.name}</Table.Td><Table.Td className="mono">{app.id}</Table.Td><Table.Td>{app.class.replace('_', ' ')}</Table.Td><Table.Td>{app.status}</Table.Td>
                {manage && <Table.Td><Button size="xs" variant="default" onClick={() => rotate.mutate(app.id)} aria-label={`Rotate secret of ${app.name}`}>Rotate secret</Button></Table.Td>}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
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
    </Stack>
  );
}
