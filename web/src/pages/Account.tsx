import { Alert, Button, Code, Group, List, PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ok } from '../api/client';
import { useSession } from '../session';
import { Failure, SectionTitle, Title } from './common';

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
      {!forced && <TwoFactor />}
    </Stack>
  );
}

/** Codes the server shows this once. */
function RecoveryCodes({ codes }: { codes: readonly string[] }) {
  return (
    <Alert color="orange" role="status" title="Recovery codes: shown this once">
      <Text size="sm">Keep them somewhere safe: each signs in once in place of the authenticator's code.</Text>
      <List size="sm" data-testid="recovery-codes">{codes.map((c) => <List.Item key={c} className="mono">{c}</List.Item>)}</List>
    </Alert>
  );
}

/** TOTP two-factor: enrol (password, then the authenticator's first code), turn off, or replace the recovery codes. */
function TwoFactor() {
  const { me, refresh } = useSession();
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[] | null>(null);
  const done = async (recovery?: string[]) => {
    setPassword(''); setCode('');
    setCodes(recovery ?? null);
    await refresh();
  };
  const start = useMutation({ mutationFn: () => ok(api.POST('/admin/v1/me/two-factor', { body: { password } })), onSuccess: () => setPassword('') });
  const confirm = useMutation({
    mutationFn: () => ok(api.POST('/admin/v1/me/two-factor/confirm', { body: { code: code.trim() } })),
    onSuccess: async (answer) => { start.reset(); await done(answer.recovery_codes); },
  });
  const disable = useMutation({
    mutationFn: () => ok(api.POST('/admin/v1/me/two-factor/disable', { body: { password, code: code.trim() } })),
    onSuccess: () => done(),
  });
  const replace = useMutation({
    mutationFn: () => ok(api.POST('/admin/v1/me/two-factor/recovery-codes', { body: { password, code: code.trim() } })),
    onSuccess: (answer) => done(answer.recovery_codes),
  });
  const error = start.error ?? confirm.error ?? disable.error ?? replace.error;
  return (
    <section aria-label="Two-factor">
      <SectionTitle>Two-factor sign-in</SectionTitle>
      {codes && <RecoveryCodes codes={codes} />}
      <Failure error={error} />
      {!me.two_factor_enabled && !start.data && (
        <form aria-label="Turn on two-factor" onSubmit={(e) => { e.preventDefault(); start.mutate(); }}>
          <Stack>
            <Text size="sm">Off. Turn it on with an authenticator app (TOTP, 6 digits every 30 seconds): every sign-in then asks for its code.</Text>
            <PasswordInput label="Your password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.currentTarget.value)} />
            <Group><Button type="submit" loading={start.isPending}>Set up an authenticator</Button></Group>
          </Stack>
        </form>
      )}
      {!me.two_factor_enabled && start.data && (
        <form aria-label="Confirm the authenticator" onSubmit={(e) => { e.preventDefault(); confirm.mutate(); }}>
          <Stack>
            <Text size="sm">Add this account to your authenticator app with the key below (or its otpauth address), then type the code it shows.</Text>
            <Text size="sm">Key: <Code data-testid="totp-secret">{start.data.secret}</Code></Text>
            <Code block className="mono">{start.data.otpauth_uri}</Code>
            <TextInput label="Code from the authenticator" autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.currentTarget.value)} />
            <Group><Button type="submit" loading={confirm.isPending}>Turn on two-factor</Button></Group>
          </Stack>
        </form>
      )}
      {me.two_factor_enabled && (
        <form aria-label="Change two-factor" onSubmit={(e) => e.preventDefault()}>
          <Stack>
            <Text size="sm">On: every sign-in asks for the authenticator's code. To turn it off or get new recovery codes, confirm with your password and a code.</Text>
            <PasswordInput label="Your password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.currentTarget.value)} />
            <TextInput label="Code from the authenticator, or a recovery code" autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.currentTarget.value)} />
            <Group>
              <Button variant="default" onClick={() => replace.mutate()} loading={replace.isPending}>New recovery codes</Button>
              <Button color="red.8" onClick={() => disable.mutate()} loading={disable.isPending}>Turn off two-factor</Button>
            </Group>
          </Stack>
        </form>
      )}
    </section>
  );
}
