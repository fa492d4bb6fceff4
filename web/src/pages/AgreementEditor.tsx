import { Alert, Button, Checkbox, Group, List, NumberInput, Select, SimpleGrid, Stack, Text, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, ok } from '../api/client';
import { useRouter } from '../router';
import { Failure, SectionTitle, Title } from './common';
import { usePartners } from './Agreements';

/** What each sensitivity class holds, for the pickers' legends. */
const CLASS_HINT: Record<string, string> = {
  basic: 'who the member is',
  contact: 'how to reach them',
  profile: 'about their life',
  sensitive: 'special categories: two approvals',
  activity: 'what they do here',
  edge: 'the friend list itself',
};

const REASON_TEXT: Record<string, string> = {
  friend_fields: 'it releases data about friends',
  sensitive_member_fields: 'it releases sensitive member fields',
  partner_risk_flags: 'the partner has a risk flag',
};

interface Terms {
  partner_id: string;
  app_ids: string[];
  purposes: string[];
  member_fields: string[];
  friend_fields: string[];
  retention_days: number;
  storage_location: string;
  storage_country: string;
  starts: string;
  ends: string;
}

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function blankTerms(): Terms {
  const start = new Date(Date.now() + 86_400_000);
  const end = new Date(start);
  end.setUTCMonth(end.getUTCMonth() + 12);
  return {
    partner_id: '', app_ids: [], purposes: [], member_fields: ['id'], friend_fields: [], retention_days: 30,
    storage_location: 'on_device', storage_country: '', starts: isoDay(start), ends: isoDay(end),
  };
}

/** The request body the API takes (POST /agreements, POST /agreements/check). */
function body(t: Terms) {
  return {
    partner_id: t.partner_id,
    app_ids: t.app_ids,
    purposes: t.purposes,
    member_fields: t.member_fields,
    friend_fields: t.friend_fields,
    retention_days: Number.isFinite(t.retention_days) ? t.retention_days : 0,
    storage: t.storage_location === 'partner_servers'
      ? { location: t.storage_location, country: t.storage_country.trim().toUpperCase() }
      : { location: t.storage_location },
    starts_at: `${t.starts}T00:00:00.000Z`,
    ends_at: `${t.ends}T00:00:00.000Z`,
  };
}

/** Fields grouped by sensitivity class, one group of checkboxes each. */
function FieldPicker({ label, catalog, value, onChange, omitClasses = [] }: {
  label: string;
  catalog: { sensitivity_classes: string[]; fields: Array<{ name: string; class: string }> };
  value: string[];
  onChange: (v: string[]) => void;
  omitClasses?: string[];
}) {
  const classes = catalog.sensitivity_classes.filter((c) => !omitClasses.includes(c));
  return (
    <fieldset className="picker">
      <legend><strong>{label}</strong></legend>
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        {classes.map((cls) => {
          const fields = catalog.fields.filter((f) => f.class === cls);
          const mine = value.filter((v) => fields.some((f) => f.name === v));
          return (
            <Checkbox.Group key={cls} label={cls} description={CLASS_HINT[cls]} value={mine}
              onChange={(picked) => onChange([...value.filter((v) => !fields.some((f) => f.name === v)), ...picked])}>
              <Stack gap={4} mt={4}>
                {fields.map((f) => <Checkbox key={f.name} value={f.name} label={f.name} color={cls === 'sensitive' ? 'red.8' : undefined} />)}
              </Stack>
            </Checkbox.Group>
          );
        })}
      </SimpleGrid>
    </fieldset>
  );
}

/** What the rules say of the terms as they stand (POST /admin/v1/agreements/check): the browser re-implements none of it. */
function Consequences({ terms }: { terms: Terms }) {
  const [settled] = useDebouncedValue(terms, 250);
  const check = useQuery({
    queryKey: ['check', settled],
    queryFn: () => ok(api.POST('/admin/v1/agreements/check', { body: body(settled) })),
    enabled: settled.partner_id !== '',
    placeholderData: keepPreviousData,
  });
  if (terms.partner_id === '') return <Alert color="gray" title="Consequences">Pick a partner to see what the rules say.</Alert>;
  if (check.error) return <Failure error={check.error} />;
  const c = check.data;
  if (!c) return <Alert color="gray" title="Consequences">Checking…</Alert>;
  return (
    <Stack gap="xs" aria-live="polite" data-testid="consequences">
      <Alert color={c.approvals_needed === 2 ? 'orange' : 'green'} title={`Needs ${c.approvals_needed} approval${c.approvals_needed === 2 ? 's' : ''}`}>
        {c.approvals_needed === 2 ? (
          <>
            Two privacy officers, neither of them the author, must approve, because:
            <List size="sm">
              {c.two_person_reasons.map((r) => (
                <List.Item key={r}>
                  {REASON_TEXT[r] ?? r}
                  {r === 'friend_fields' && ` (${c.friend_fields.join(', ')})`}
                  {r === 'sensitive_member_fields' && ` (${c.sensitive_member_fields.join(', ')})`}
                  {r === 'partner_risk_flags' && ` (${c.partner_risk_flags.join(', ')})`}
                </List.Item>
              ))}
            </List>
          </>
        ) : 'One privacy officer who is not the author approves.'}
      </Alert>
      {c.problem
        ? <Alert color="red" title={`Saving would be refused: ${c.problem.code}`}>{c.problem.message}</Alert>
        : <Alert color="green" title="The rules accept these terms">Save the draft, then submit it for review.</Alert>}
    </Stack>
  );
}

/** The draft editor: a new draft, or a new version of an existing one. */
export function AgreementEditor({ agreementId }: { agreementId?: string }) {
  const { navigate } = useRouter();
  const queryClient = useQueryClient();
  const [terms, setTerms] = useState<Terms>(blankTerms);
  const set = <K extends keyof Terms>(key: K, value: Terms[K]) => setTerms((t) => ({ ...t, [key]: value }));
  const catalog = useQuery({ queryKey: ['catalog'], queryFn: () => ok(api.GET('/admin/v1/catalog')), staleTime: Infinity });
  const partners = usePartners();
  const partner = useQuery({
    queryKey: ['partner', terms.partner_id],
    queryFn: () => ok(api.GET('/admin/v1/partners/{partnerId}', { params: { path: { partnerId: terms.partner_id } } })),
    enabled: terms.partner_id !== '',
  });
  const existing = useQuery({
    queryKey: ['agreement', agreementId],
    queryFn: () => ok(api.GET('/admin/v1/agreements/{agreementId}', { params: { path: { agreementId: agreementId! } } })),
    enabled: agreementId !== undefined,
  });
  useEffect(() => {
    const a = existing.data;
    if (!a) return;
    setTerms({
      partner_id: a.partner_id, app_ids: a.app_ids, purposes: a.purposes, member_fields: a.member_fields, friend_fields: a.friend_fields,
      retention_days: a.retention_days, storage_location: a.storage.location, storage_country: a.storage.country ?? '',
      starts: a.starts_at.slice(0, 10), ends: a.ends_at.slice(0, 10),
    });
  }, [existing.data]);

  const save = useMutation({
    mutationFn: async () => {
      if (agreementId === undefined) return ok(api.POST('/admin/v1/agreements', { body: body(terms) }));
      const { partner_id: _partner, ...changes } = body(terms);
      return ok(api.PATCH('/admin/v1/agreements/{agreementId}', { params: { path: { agreementId } }, body: changes }));
    },
    onSuccess: async (saved) => {
      await queryClient.invalidateQueries();
      navigate(`/agreements/${saved.id}`);
    },
  });

  if (catalog.error) return <Failure error={catalog.error} />;
  if (!catalog.data || (agreementId !== undefined && !existing.data)) return <Text>Loading…</Text>;
  const objectFields = { ...catalog.data, fields: catalog.data.fields.filter((f) => f.class !== 'edge') };

  return (
    <form onSubmit={(e) => { e.preventDefault(); save.mutate(); }} aria-label="Agreement draft">
      <Title>{agreementId ? `Edit draft ${agreementId}` : 'New agreement draft'}</Title>
      <SimpleGrid cols={{ base: 1, lg: 2 }} spacing="xl">
        <Stack>
          <Select label="Partner" required searchable disabled={agreementId !== undefined} value={terms.partner_id || null}
            onChange={(v) => setTerms((t) => ({ ...t, partner_id: v ?? '', app_ids: [] }))}
            data={(partners.data?.data ?? []).map((p) => ({ value: p.id, label: `${p.legal_name}${p.risk_flags.length ? ` (risk: ${p.risk_flags.join(', ')})` : ''}` }))} />
          {partner.data && (
            <Checkbox.Group label="Apps covered" value={terms.app_ids} onChange={(v) => set('app_ids', v)}>
              <Group mt={4}>{partner.data.apps.map((app) => <Checkbox key={app.id} value={app.id} label={`${app.name} (${app.class.replace('_', ' ')})`} />)}</Group>
            </Checkbox.Group>
          )}
          <Checkbox.Group label="Purposes" value={terms.purposes} onChange={(v) => set('purposes', v)}>
            <Group mt={4}>{catalog.data.purposes.map((p) => <Checkbox key={p} value={p} label={p.replace('_', ' ')} />)}</Group>
          </Checkbox.Group>
          <FieldPicker label="Member fields" catalog={catalog.data} value={terms.member_fields} onChange={(v) => set('member_fields', v)} />
          <FieldPicker label="Friend fields (about the member's friends; device partners only)" catalog={objectFields}
            value={terms.friend_fields} onChange={(v) => set('friend_fields', v)} omitClasses={['edge']} />
          <Group grow>
            <NumberInput label="Retention (days)" min={1} max={3650} value={terms.retention_days}
              onChange={(v) => set('retention_days', typeof v === 'number' ? v : Number.parseInt(v, 10))} />
            <Select label="Storage" value={terms.storage_location} allowDeselect={false}
              onChange={(v) => set('storage_location', v ?? 'on_device')}
              data={[{ value: 'on_device', label: 'On the device' }, { value: 'partner_servers', label: "Partner's servers" }]} />
            {terms.storage_location === 'partner_servers' && (
              <TextInput label="Servers' country" description="ISO code, e.g. DE" value={terms.storage_country}
                onChange={(e) => set('storage_country', e.currentTarget.value)} maxLength={2} />
            )}
          </Group>
          <Group grow>
            <TextInput type="date" label="Starts (UTC)" value={terms.starts} onChange={(e) => set('starts', e.currentTarget.value)} />
            <TextInput type="date" label="Ends (UTC)" value={terms.ends} onChange={(e) => set('ends', e.currentTarget.value)} />
          </Group>
        </Stack>
        <Stack>
          <SectionTitle>What the rules say</SectionTitle>
          <Consequences terms={terms} />
          <Failure error={save.error} />
          <Group>
            <Button type="submit" loading={save.isPending} disabled={terms.partner_id === ''}>
              {agreementId ? 'Save a new version' : 'Save draft'}
            </Button>
          </Group>
        </Stack>
      </SimpleGrid>
    </form>
  );
}
