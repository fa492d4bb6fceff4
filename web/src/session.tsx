import { Alert, Button, Modal, PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { api, ApiError, ok, setCsrfToken, whenSessionLost, type Schemas } from './api/client';

/**
 * The staff session: who is signed in (GET /admin/v1/me), sign-in with password and two-factor,
 * sign-out, and what happens when the session ends under a page (it expired, or was revoked):
 * the sign-in comes back over the page, which keeps what was typed, and the action can be sent again.
 */

type Me = { id: string; email: string; name: string; roles: string[]; permissions: string[]; password_change_required: boolean; two_factor_enabled: boolean };

interface Session {
  readonly me: Me;
  can(permission: string): boolean;
  refresh(): Promise<void>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside <SessionProvider>');
  return session;
}

async function whoAmI(): Promise<Me | null> {
  const { data, response } = await api.GET('/admin/v1/me');
  if (response.status === 401) return null;
  if (!data) throw new ApiError(response.status, 'http_error', `The server answered ${response.status}.`);
  setCsrfToken(data.csrf_token);
  return data;
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [lost, setLost] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    try {
      setMe(await whoAmI());
      setFailure(null);
    } catch (error) {
      setFailure(error instanceof Error ? error.message : String(error));
    }
  }, []);

  useEffect(() => {
    void refresh();
    whenSessionLost(() => setLost(true));
  }, [refresh]);

  const signedIn = async (who: Me) => {
    const someoneElse = me && me.id !== who.id;
    setLost(false);
    if (someoneElse) queryClient.clear();
    await refresh();
    await queryClient.invalidateQueries();
  };

  if (failure) return <Alert color="red" title="The console cannot reach the server" m="xl">{failure}</Alert>;
  if (me === undefined) return <Text m="xl">Loading…</Text>;
  if (me === null) return <SignInPage onSignedIn={signedIn} />;

  const session: Session = {
    me,
    can: (permission) => me.permissions.includes(permission),
    refresh,
    signOut: async () => {
      await api.POST('/admin/v1/logout');
      setCsrfToken(undefined);
      queryClient.clear();
      setMe(null);
    },
  };
  return (
    <SessionContext.Provider value={session}>
      {children}
      <Modal opened={lost} onClose={() => undefined} withCloseButton={false} closeOnEscape={false} closeOnClickOutside={false}
        // No scroll lock: its style element would carry no nonce, and the CSP refuses it.
        lockScroll={false}
        title="Your session has ended" centered>
        <Stack>
          <Text size="sm">Sign in again to go on. The page behind stays as it was: what you typed is kept; send it again once signed in.</Text>
          <SignInForm email={me.email} onSignedIn={signedIn} />
        </Stack>
      </Modal>
    </SessionContext.Provider>
  );
}

function SignInPage({ onSignedIn }: { onSignedIn: (me: Me) => Promise<void> }) {
  return (
    <main className="sign-in">
      <Stack maw={380} mx="auto" mt={80} p="lg">
        <h1 className="title">Datapact staff console</h1>
        <Text size="sm" c="dimmed">Sign in with your staff account.</Text>
        <SignInForm onSignedIn={onSignedIn} />
      </Stack>
    </main>
  );
}

const SIGN_IN_MESSAGES: Record<string, string> = {
  invalid_credentials: 'The email or password is wrong.',
  two_factor_required: 'This account uses two-factor: enter the code from your authenticator app (or a recovery code).',
  invalid_two_factor_code: 'The two-factor code is wrong, or was used already; wait for the next one.',
};

export function SignInForm({ email: knownEmail, onSignedIn }: { email?: string; onSignedIn: (me: Me) => Promise<void> }) {
  const [email, setEmail] = useState(knownEmail ?? '');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [askCode, setAskCode] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = { email, password, ...(askCode && code ? { two_factor_code: code.trim() } : {}) };
      const answer = await ok(api.POST('/admin/v1/session', { body }));
      setCsrfToken(answer.csrf_token);
      setPassword('');
      setCode('');
      await onSignedIn({ ...answer.staff, permissions: [], password_change_required: answer.password_change_required, two_factor_enabled: askCode });
    } catch (caught) {
      if (caught instanceof ApiError && (caught.code === 'two_factor_required' || caught.code === 'invalid_two_factor_code')) setAskCode(true);
      setError(caught instanceof ApiError ? SIGN_IN_MESSAGES[caught.code] ?? caught.message : String(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} aria-label="Sign in">
      <Stack>
        {error && <Alert color="red" role="alert">{error}</Alert>}
        <TextInput label="Email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.currentTarget.value)}
          readOnly={knownEmail !== undefined} />
        <PasswordInput label="Password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.currentTarget.value)} />
        {askCode && (
          <TextInput label="Two-factor code" description="From your authenticator app, or a recovery code" autoComplete="one-time-code"
            required value={code} onChange={(e) => setCode(e.currentTarget.value)} data-autofocus />
        )}
        <Button type="submit" loading={busy}>Sign in</Button>
      </Stack>
    </form>
  );
}

export type { Me, Schemas };
