import { Alert, Anchor, Badge, Code, Text } from '@mantine/core';
import type { ReactNode } from 'react';
import { ApiError } from '../api/client';
import { useLinkProps } from '../router';

export function Link({ to, children }: { to: string; children: ReactNode }) {
  return <Anchor {...useLinkProps(to)}>{children}</Anchor>;
}

/** A failed request, as the server explained it. */
export function Failure({ error }: { error: unknown }) {
  if (!error) return null;
  const code = error instanceof ApiError ? error.code : 'error';
  return (
    <Alert color="red" role="alert" title={code}>
      {error instanceof Error ? error.message : String(error)}
    </Alert>
  );
}

export function day(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 10) : '—';
}

const STATUS_COLOR: Record<string, string> = {
  draft: 'gray', under_review: 'yellow', active: 'green', suspended: 'red', winding_down: 'orange', terminated: 'dark',
};

export function StatusBadge({ status }: { status: string }) {
  // Dark text on light badges: readable whatever the colour (axe's contrast check).
  return <Badge color={STATUS_COLOR[status] ?? 'gray'} variant="light" c="dark.9">{status.replace('_', ' ')}</Badge>;
}

export function Title({ children }: { children: ReactNode }) {
  return <h1 className="page-title">{children}</h1>;
}

export function SectionTitle({ children }: { children: ReactNode }) {
  return <h2 className="section-title">{children}</h2>;
}

/** A secret the server shows this once (it keeps only a hash): copy it now. */
export function ShownOnce({ title, secret, note, testId }: { title: string; secret: string; note: string; testId: string }) {
  return (
    <Alert color="orange" title={title} role="status">
      <Text size="sm">{note}</Text>
      <Code block data-testid={testId}>{secret}</Code>
    </Alert>
  );
}
