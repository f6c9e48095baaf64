// The frame of every signed-in page: skip link, navigation, who is signed in, the live status,
// and the keyboard shortcuts (? lists them).
import { type ReactNode, useEffect, useRef } from 'react';
import { Link, useLocation } from '../lib/router.js';
import { useLiveState } from '../live-context.js';
import { useSession } from '../session-context.js';
import { KeyboardShortcuts } from './shortcuts.js';

const NAV = [
  { to: '/', label: 'Review queue', active: (path: string) => path === '/' || path === '/queue' },
  { to: '/changesets', label: 'Change-sets', active: (path: string) => path.startsWith('/changesets') },
  { to: '/resources', label: 'Resources', active: (path: string) => path.startsWith('/resources') },
  { to: '/overview', label: 'Overview', active: (path: string) => path === '/overview' },
];

const LIVE_WORDS = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  unauthorized: 'Not signed in',
  closed: 'Offline',
};

export function Layout({ children }: { children: ReactNode }) {
  const { me, signOut } = useSession();
  const { path } = useLocation();
  const live = useLiveState();
  const main = useRef<HTMLElement>(null);
  const firstPath = useRef(path);
  // After a navigation in place, keyboard and screen-reader users start at the new page's content.
  useEffect(() => {
    if (path !== firstPath.current) main.current?.focus({ preventScroll: true });
    firstPath.current = '';
  }, [path]);
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">changeledger</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map((item) => (
              <li key={item.to}>
                <Link to={item.to} aria-current={item.active(path) ? 'page' : undefined}>
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span className={`live live-${live}`} role="status" aria-live="polite">
            <span className="live-dot" aria-hidden="true" />
            {LIVE_WORDS[live]}
          </span>
          <span>
            Signed in as <strong>{me.id}</strong>
            {me.groups.length > 0 && <span className="muted"> ({me.groups.join(', ')})</span>}
          </span>
          <button type="button" className="button button-plain" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1} ref={main}>
        {children}
      </main>
      <KeyboardShortcuts />
    </>
  );
}
