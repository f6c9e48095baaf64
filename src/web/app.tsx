// The dashboard: sign-in until a token is accepted, then the pages, all fed by one event stream.
import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { Layout } from './components/layout.js';
import { ApiError, createApi, whoAmI } from './lib/api.js';
import { matchRoute, navigate, useLocation } from './lib/router.js';
import { clearToken, loadToken, saveToken } from './lib/session.js';
import type { Principal } from './lib/types.js';
import { LiveProvider } from './live-context.js';
import { AgentPage } from './pages/agent-page.js';
import { ChangeSetPage } from './pages/change-set-page.js';
import { ChangeSetsPage } from './pages/change-sets-page.js';
import { Enrol } from './pages/enrol.js';
import { QueuePage } from './pages/queue-page.js';
import { ResourcePage } from './pages/resource-page.js';
import { ResourcesPage } from './pages/resources-page.js';
import { SignIn } from './pages/sign-in.js';
import { adoptSignedInToken } from './pages/signed-in.js';
import { type Session, SessionContext } from './session-context.js';

// The overview's charting library loads with the page that draws charts, not with every page.
const OverviewPage = lazy(() => import('./pages/overview-page.js').then((m) => ({ default: m.OverviewPage })));

const REFUSED = 'The server did not accept your token (revoked, or another server). Sign in again.';

function Routes() {
  const { path } = useLocation();
  const route = matchRoute(path);
  switch (route.page) {
    case 'queue':
      return <QueuePage />;
    case 'change-sets':
      return <ChangeSetsPage />;
    case 'change-set':
      return <ChangeSetPage key={route.id} id={route.id} />;
    case 'resources':
      return <ResourcesPage />;
    case 'agent':
      return <AgentPage key={route.id} id={route.id} />;
    case 'resource':
      return <ResourcePage key={`${route.targetType}/${route.targetId}`} {...route} />;
    case 'overview':
      return (
        <Suspense fallback={<p aria-busy="true">Loading…</p>}>
          <OverviewPage />
        </Suspense>
      );
    default:
      return (
        <>
          <h1>Not found</h1>
          <p>There is no page at {path}.</p>
        </>
      );
  }
}

export function App() {
  const [auth, setAuth] = useState<{ token: string; me: Principal } | null>(null);
  // A single sign-on hands its token over in the fragment of /signed-in (see pages/signed-in.ts).
  const [checking, setChecking] = useState(() => adoptSignedInToken() || loadToken() !== null);
  const [notice, setNotice] = useState<string | null>(null);
  const [enrolling, setEnrolling] = useState(() => window.location.pathname === '/enrol');

  const signOut = useCallback((message: string | null = null) => {
    clearToken();
    setAuth(null);
    setNotice(message);
  }, []);

  // A reload of the tab keeps the session: the stored token is checked again.
  useEffect(() => {
    const token = loadToken();
    if (!token) return;
    whoAmI<Principal>(token)
      .then(
        (me) => setAuth({ token, me }),
        (error: unknown) => {
          if (error instanceof ApiError && error.status === 401) signOut(REFUSED);
          else setNotice(`The server could not be reached: ${(error as Error).message}`);
        },
      )
      .finally(() => setChecking(false));
  }, [signOut]);

  const session = useMemo<Session | null>(
    () =>
      auth && {
        api: createApi(auth.token, () => signOut(REFUSED)),
        me: auth.me,
        signOut: () => signOut(null),
      },
    [auth, signOut],
  );

  // An enrolment link (redeem_url) signs its holder in with a token of their own, whoever was signed in.
  if (enrolling)
    return (
      <Enrol
        onSignedIn={(token, me) => {
          saveToken(token);
          setNotice(null);
          setAuth({ token, me });
          setEnrolling(false);
          navigate('/', { replace: true });
        }}
      />
    );
  if (checking) return <p aria-busy="true">Loading…</p>;
  if (!session || !auth) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(token, me) => {
          saveToken(token);
          setNotice(null);
          setAuth({ token, me });
        }}
      />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <LiveProvider token={auth.token} onUnauthorized={() => signOut(REFUSED)}>
        <Layout>
          <Routes />
        </Layout>
      </LiveProvider>
    </SessionContext.Provider>
  );
}
