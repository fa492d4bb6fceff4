import { Alert, Badge, Button, Checkbox, Group, Select, Stack, Table, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ok } from '../api/client';
import { useSession } from '../session';
import { day, Failure, SectionTitle, ShownOnce, Title } from './common';

const ROLES = ['viewer', 'partnerships_manager', 'privacy_officer', 'admin'];
/** Roles whose account an admin cannot reset alone (409 guarded_account): remove them, reset, propose them again. */
const GUARDED = ['privacy_officer', 'admin'];

/** Staff accounts, role grants waiting for a second admin, and API keys (admins only). */
export function Staff() {
  const { me } = useSession();
  const queryClient = useQueryClient();
  const staff = useQuery({ queryKey: ['staff'], queryFn: () => ok(api.GET('/admin/v1/staff')) });
  const proposals = useQuery({ queryKey: ['role-proposals'], queryFn: () => ok(api.GET('/admin/v1/role-proposals')) });
  const keys = useQuery({ queryKey: ['api-keys'], queryFn: () => ok(api.GET('/admin/v1/api-keys')) });
  const [shown, setShown] = useState<{ title: string; secret: string } | null>(null);
  const refresh = () => queryClient.invalidateQueries({ predicate: (q) => ['staff', 'role-proposals', 'api-keys'].includes(String(q.queryKey[0])) });

  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [roles, setRoles] = useState<string[]>(['viewer']);
  const create = useMutation({
    mutationFn: () => ok(api.POST('/admin/v1/staff', { body: { email, name, roles: roles as ['viewer'] } })),
    onSuccess: async (made) => {
      if (made.initial_password) setShown({ title: `Initial password of ${made.email}`, secret: made.initial_password });
      setEmail(''); setName('');
      await refresh();
    },
  });
  const decide = useMutation({
    mutationFn: ({ id, confirm }: { id: string; confirm: boolean }) => confirm
      ? ok(api.POST('/admin/v1/role-proposals/{id}/confirm', { params: { path: { id } } }))
      : ok(api.POST('/admin/v1/role-proposals/{id}/reject', { params: { path: { id } }, body: { reason: 'Turned down in the staff console.' } })),
    onSuccess: async (decided) => {
      const password = (decided as { new_password?: string }).new_password;
      if (password) setShown({ title: 'New password of the account whose roles were confirmed', secret: password });
      await refresh();
    },
  });
  const [label, setLabel] = useState('');
  const [keyOwner, setKeyOwner] = useState<string | null>(null);
  const issue = useMutation({
    mutationFn: () => ok(api.POST('/admin/v1/api-keys', { body: { label, ...(keyOwner ? { staff_id: keyOwner } : {}) } })),
    onSuccess: async (key) => {
      setShown({ title: `API key "${key.label ?? ''}"`, secret: key.key });
      setLabel('');
      await refresh();
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => ok(api.DELETE('/admin/v1/api-keys/{id}', { params: { path: { id } } })),
    onSuccess: refresh,
  });

  const [editing, setEditing] = useState<{ id: string; email: string; roles: string[] } | null>(null);
  const change = useMutation({
    mutationFn: ({ id, body }: { id: string; body: { roles?: string[]; disabled?: boolean } }) =>
      ok(api.PATCH('/admin/v1/staff/{id}', { params: { path: { id } }, body: body as { roles?: ['viewer']; disabled?: boolean } })),
    onSuccess: refresh,
  });
  const reset = useMutation({
    mutationFn: (s: { id: string; email: string }) => ok(api.POST('/admin/v1/staff/{id}/password-reset', { params: { path: { id: s.id } }, body: {} }))
      .then((answer) => ({ ...answer, email: s.email })),
    onSuccess: (answer) => setShown({
      title: `One-time password of ${answer.email} (to be changed at the next sign-in; ${answer.sessions_ended} session${answer.sessions_ended === 1 ? '' : 's'} ended)`,
      secret: answer.one_time_password,
    }),
  });
  const emailOf = (id: string) => staff.data?.data.find((s) => s.id === id)?.email ?? id;
  return (
    <Stack>
      <Title>Staff and API keys</Title>
      {shown && <ShownOnce title={shown.title} secret={shown.secret} testId="shown-once" note="Shown this once: hand it to its owner over a trusted channel." />}
      <Failure error={staff.error ?? create.error ?? decide.error ?? issue.error ?? revoke.error ?? change.error ?? reset.error} />
      <Table withTableBorder striped aria-label="Staff accounts">
        <Table.Thead><Table.Tr><Table.Th>Name</Table.Th><Table.Th>Email</Table.Th><Table.Th>Roles</Table.Th><Table.Th>Pending</Table.Th><Table.Th>Disabled</Table.Th><Table.Th>Changes</Table.Th></Table.Tr></Table.Thead>
        <Table.Tbody>
          {(staff.data?.data ?? []).map((s) => (
            <Table.Tr key={s.id}>
              <Table.Td>{s.name}</Table.Td><Table.Td>{s.email}</Table.Td><Table.Td>{s.roles.join(', ') || '—'}</Table.Td>
              <Table.Td>{s.pending_roles.map((r) => <Badge key={r} color="yellow" variant="light" c="dark.9">{r}</Badge>)}</Table.Td>
              <Table.Td>{day(s.disabled_at)}</Table.Td>
              <Table.Td>
                {s.id === me.id ? <Text size="sm">You (change your own password under Your account)</Text> : (
                  <Group gap="xs">
                    <Button size="xs" variant="default" aria-label={`Change roles of ${s.email}`} onClick={() => setEditing({ id: s.id, email: s.email, roles: s.roles })}>Change roles</Button>
                    {!s.disabled_at && !s.roles.some((r) => GUARDED.includes(r)) && <Button size="xs" variant="default" aria-label={`Reset password of ${s.email}`} onClick={() => reset.mutate(s)}>Reset password</Button>}
                    <Button size="xs" variant="default" color={s.disabled_at ? undefined : 'red.8'} aria-label={`${s.disabled_at ? 'Enable' : 'Disable'} ${s.email}`}
                      onClick={() => change.mutate({ id: s.id, body: { disabled: !s.disabled_at } })}>{s.disabled_at ? 'Enable' : 'Disable'}</Button>
                  </Group>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>

      {editing && (
        <form aria-label={`Roles of ${editing.email}`} onSubmit={(e) => { e.preventDefault(); change.mutate({ id: editing.id, body: { roles: editing.roles } }, { onSuccess: () => setEditing(null) }); }}>
          <SectionTitle>Roles of {editing.email}</SectionTitle>
          <Checkbox.Group label="Roles" description="Removing a role acts at once; adding privacy_officer or admin is a proposal another admin confirms"
            value={editing.roles} onChange={(roles) => setEditing({ ...editing, roles })}>
            <Group mt={4}>{ROLES.map((r) => <Checkbox key={r} value={r} label={r.replace('_', ' ')} />)}</Group>
          </Checkbox.Group>
          <Group mt="sm"><Button type="submit" loading={change.isPending}>Save roles</Button><Button variant="default" onClick={() => setEditing(null)}>Cancel</Button></Group>
        </form>
      )}
      {change.data?.role_proposal_id && <Alert color="yellow" role="status">Proposed: another admin confirms the new roles below.</Alert>}

      <SectionTitle>Role grants waiting for a second admin</SectionTitle>
      {(proposals.data?.data ?? []).length === 0 ? <Text>None.</Text> : (
        <Table withTableBorder aria-label="Role proposals">
          <Table.Thead><Table.Tr><Table.Th>Account</Table.Th><Table.Th>Roles</Table.Th><Table.Th>Proposed by</Table.Th><Table.Th>Decision</Table.Th></Table.Tr></Table.Thead>
          <Table.Tbody>
            {(proposals.data?.data ?? []).map((p) => (
              <Table.Tr key={p.id}>
                <Table.Td>{emailOf(p.staff_id)}</Table.Td><Table.Td>{p.roles.join(', ')}</Table.Td><Table.Td>{emailOf(p.proposed_by)}</Table.Td>
                <Table.Td>
                  {p.proposed_by === me.id ? (
                    <Group><Text size="sm">Waiting for another admin.</Text>
                      <Button size="xs" variant="default" onClick={() => decide.mutate({ id: p.id, confirm: false })}>Cancel</Button></Group>
                  ) : (
                    <Group>
                      <Button size="xs" onClick={() => decide.mutate({ id: p.id, confirm: true })}>Confirm</Button>
                      <Button size="xs" variant="default" onClick={() => decide.mutate({ id: p.id, confirm: false })}>Reject</Button>
                    </Group>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}

      <form onSubmit={(e) => { e.preventDefault(); create.mutate(); }} aria-label="Add a staff account">
        <SectionTitle>Add a staff account</SectionTitle>
        <Stack maw={560}>
          <Group grow>
            <TextInput label="Email" type="email" required value={email} onChange={(e) => setEmail(e.currentTarget.value)} />
            <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
          </Group>
          <Checkbox.Group label="Roles" description="privacy_officer and admin are only proposed: another admin confirms them" value={roles} onChange={setRoles}>
            <Group mt={4}>{ROLES.map((r) => <Checkbox key={r} value={r} label={r.replace('_', ' ')} />)}</Group>
          </Checkbox.Group>
          <Group><Button type="submit" loading={create.isPending}>Add account</Button></Group>
        </Stack>
      </form>

      <SectionTitle>API keys</SectionTitle>
      <Table withTableBorder aria-label="API keys">
        <Table.Thead><Table.Tr><Table.Th>Label</Table.Th><Table.Th>Account</Table.Th><Table.Th>Created</Table.Th><Table.Th>Expires</Table.Th><Table.Th>Last used</Table.Th><Table.Th>Revoked</Table.Th><Table.Th /></Table.Tr></Table.Thead>
        <Table.Tbody>
          {(keys.data?.data ?? []).map((k) => (
            <Table.Tr key={k.id}>
              <Table.Td>{k.label ?? ''}</Table.Td><Table.Td>{emailOf(k.staff_id)}</Table.Td><Table.Td>{day(k.created_at)}</Table.Td>
              <Table.Td>{day(k.expires_at)}</Table.Td><Table.Td>{day(k.last_used_at)}</Table.Td><Table.Td>{day(k.revoked_at)}</Table.Td>
              <Table.Td>{!k.revoked_at && <Button size="xs" color="red.8" aria-label={`Revoke key ${k.label ?? k.id}`} onClick={() => revoke.mutate(k.id)}>Revoke</Button>}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <form onSubmit={(e) => { e.preventDefault(); issue.mutate(); }} aria-label="Issue an API key">
        <Group align="end">
          <TextInput label="Key label" required value={label} onChange={(e) => setLabel(e.currentTarget.value)} />
          <Select label="For account" placeholder="Yours" clearable value={keyOwner} onChange={setKeyOwner}
            data={(staff.data?.data ?? []).filter((s) => !s.disabled_at).map((s) => ({ value: s.id, label: s.email }))} />
          <Button type="submit" loading={issue.isPending}>Issue key</Button>
        </Group>
      </form>
    </Stack>
  );
}
