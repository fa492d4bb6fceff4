import { createContext, useContext, useEffect, useState, type MouseEvent, type ReactNode } from 'react';

/**
 * A router as small as the console needs: paths under /console, the History API, and links that
 * are real links (middle-click, copy address) but navigate in place.
 */

const BASE = '/console';

interface Location {
  readonly path: string;
  readonly query: URLSearchParams;
  navigate(to: string): void;
}

const RouterContext = createContext<Location | null>(null);

function current(): { path: string; search: string } {
  const path = window.location.pathname.startsWith(BASE) ? window.location.pathname.slice(BASE.length) : '/';
  return { path: path === '' ? '/' : path.replace(/\/$/, '') || '/', search: window.location.search };
}

export function Router({ children }: { children: ReactNode }) {
  const [where, setWhere] = useState(current);
  useEffect(() => {
    const onPop = () => setWhere(current());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const navigate = (to: string) => {
    window.history.pushState(null, '', BASE + to);
    setWhere(current());
    window.scrollTo(0, 0);
  };
  return <RouterContext.Provider value={{ path: where.path, query: new URLSearchParams(where.search), navigate }}>{children}</RouterContext.Provider>;
}

export function useRouter(): Location {
  const location = useContext(RouterContext);
  if (!location) throw new Error('useRouter outside <Router>');
  return location;
}

export function href(to: string): string {
  return BASE + to;
}

/** Props that make any anchor-like element navigate in place. */
export function useLinkProps(to: string) {
  const { navigate } = useRouter();
  return {
    href: href(to),
    onClick: (event: MouseEvent) => {
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      navigate(to);
    },
  };
}

/** `/agreements/:id` against `/agreements/agr_1`: `{ id: 'agr_1' }`, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith(':')) params[w.slice(1)] = decodeURIComponent(g);
    else if (w !== g) return null;
  }
  return params;
}
