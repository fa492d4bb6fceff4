import { AppShell, Burger, Button, Group, NavLink, Text } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import type { ReactNode } from 'react';
import { Account } from './pages/Account';
import { AgreementDetail } from './pages/AgreementDetail';
import { AgreementEditor } from './pages/AgreementEditor';
import { Agreements } from './pages/Agreements';
import { Approvals } from './pages/Approvals';
import { SimulationPage } from './pages/DraftSimulation';
import { Audit } from './pages/Audit';
import { Home } from './pages/Home';
import { PartnerDetail } from './pages/PartnerDetail';
import { Partners } from './pages/Partners';
import { CounterfactualReport, ExposureReport, InventoryReport, LeastPrivilegeReport, RecordsOfProcessing, Reports } from './pages/Reports';
import { Staff } from './pages/Staff';
import { Link } from './pages/common';
import { match, useLinkProps, useRouter } from './router';
import { useSession } from './session';

/** The pages, each shown only to the roles that may use it (the API refuses the others anyway). */
const NAV: ReadonlyArray<{ to: string; label: string; permission: string }> = [
  { to: '/', label: 'Home', permission: 'read' },
  { to: '/agreements', label: 'Agreements', permission: 'read' },
  { to: '/approvals', label: 'Approval queue', permission: 'approve_agreements' },
  { to: '/partners', label: 'Partners and apps', permission: 'read' },
  { to: '/reports', label: 'Reports', permission: 'read' },
  { to: '/audit', label: 'Audit log', permission: 'read' },
  { to: '/staff', label: 'Staff and API keys', permission: 'manage_staff' },
  { to: '/account', label: 'Your account', permission: '' },
];

function NavItem({ to, label, active }: { to: string; label: string; active: boolean }) {
  const link = useLinkProps(to);
  return <NavLink component="a" {...link} label={label} active={active} variant="filled" aria-current={active ? "page" : undefined} />;
}

function Page({ path }: { path: string }): ReactNode {
  let params: Record<string, string> | null;
  if (path === '/') return <Home />;
  if (path === '/agreements') return <Agreements />;
  if (path === '/agreements/new') return <AgreementEditor />;
  if ((params = match('/agreements/:id/edit', path))) return <AgreementEditor agreementId={params.id!} />;
  if ((params = match('/agreements/:id/simulations/:simulationId', path))) return <SimulationPage agreementId={params.id!} simulationId={params.simulationId!} />;
  if ((params = match('/agreements/:id', path))) return <AgreementDetail agreementId={params.id!} />;
  if (path === '/approvals') return <Approvals />;
  if (path === '/partners') return <Partners />;
  if (path === '/audit') return <Audit />;
  if (path === '/reports') return <Reports />;
  if (path === '/reports/inventory') return <InventoryReport />;
  if (path === '/reports/exposure') return <ExposureReport />;
  if (path === '/reports/counterfactual') return <CounterfactualReport />;
  if (path === '/reports/records-of-processing') return <RecordsOfProcessing />;
  if (path === '/reports/least-privilege') return <LeastPrivilegeReport />;
  if (path === '/staff') return <Staff />;
  if ((params = match('/partners/:id', path))) return <PartnerDetail partnerId={params.id!} />;
  if (path === '/account') return <Account />;
  return <Text>No page here. <Link to="/">Go home</Link>.</Text>;
}

export function App() {
  const { me, can, signOut } = useSession();
  const { path } = useRouter();
  const [opened, { toggle }] = useDisclosure();
  if (me.password_change_required) {
    return (
      <main>
        <Account forced />
      </main>
    );
  }
  const section = '/' + (path.split('/')[1] ?? '');
  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="lg">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group>
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Show the menu" />
            <Text fw={700}>Datapact staff console</Text>
          </Group>
          <Group>
            <Text size="sm">{me.name} <Text span c="dimmed" size="sm">({me.roles.join(', ')})</Text></Text>
            <Button variant="default" size="xs" onClick={() => void signOut()}>Sign out</Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" component="nav" aria-label="Console">
        {NAV.filter((n) => n.permission === '' || can(n.permission)).map((n) => (
          <NavItem key={n.to} to={n.to} label={n.label} active={n.to === section || (n.to === '/' && path === '/')} />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>
        <Page path={path} />
      </AppShell.Main>
    </AppShell>
  );
}
