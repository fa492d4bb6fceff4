import { Alert, Button, PasswordInput, Stack, Text } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ok } from '../api/client';
import { useSession } from '../session';
import { Failure, Title } from './common';

/** Your account: roles, two-factor, and changing the password (forced after an admin's reset). */
export function Account({ forced = false }: { forced?: boolean }) {
  const { me, refresh, signOut } = useSession();
  const [current, setCurrent] = useState('');
  const [wanted, setWanted] = useState('');
  const [again, setAgain] = useState('');
  const change = useMutation({
    mutationFn: () => ok(api.POST('/admin/v1/me/password', { body: { current_password: current, new_password: wanted } })),
    onSuccess: async () => {
      setCurrent(''); setWanted(''); setAgain('');
      await refresh();
    },
  });
  const mismatch = again !== '' && again !== wanted;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!mismatch) change.mutate();
  };
  return (
    <Stack maw={460} p={forced ? 'xl' : 0} mx={forced ? 'auto' : 0}>
      <Title>{forced ? 'Choose a new password' : 'Your account'}</Title>
      {forced && <Alert color="orange" title="Password change required">An admin reset your password: choose your own before anything else.</Alert>}
      <Text>{me.name} ({me.email}), {me.roles.join(', ') || 'no role'}. Two-factor is {me.two_factor_enabled ? 'on' : 'off'}.</Text>
      <form onSubmit={submit} aria-label="Change password">
        <Stack>
          <PasswordInput label="Current password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.currentTarget.value)} />
          <PasswordInput label="New password" description="At least 12 characters" autoComplete="new-password" required value={wanted}
            onChange={(e) => setWanted(e.currentTarget.value)} />
          <PasswordInput label="New password again" autoComplete="new-password" required value={again} onChange={(e) => setAgain(e.currentTarget.value)}
            error={mismatch ? 'The two new passwords differ.' : undefined} />
          <Failure error={change.error} />
          {change.isSuccess && (
            <Alert color="green" role="status">
              Password changed. {change.data.sessions_ended} other session{change.data.sessions_ended === 1 ? '' : 's'} ended.
            </Alert>
          )}
          <Button type="submit" loading={change.isPending}>Change password</Button>
        </Stack>
      </form>
      {forced && <Button variant="default" onClick={() => void signOut()}>Sign out</Button>}
    </Stack>
  );
}
