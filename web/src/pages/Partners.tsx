import { Button, Group, Select, Stack, Table, TextInput } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ok } from '../api/client';
import { useRouter } from '../router';
import { useSession } from '../session';
import { Failure, Link, SectionTitle, Title } from './common';
import { usePartners } from './Agreements';
import { RiskAndStorageFields } from './PartnerDetail';


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
        <RiskAndStorageFields flags={flags} setFlags={setFlags} storage={storage} setStorage={setStorage}
          storageCountry={storageCountry} setStorageCountry={setStorageCountry} />
        <Failure error={create.error} />
        <Group><Button type="submit" loading={create.isPending}>Register partner</Button></Group>
      </Stack>
    </form>
  );
}

