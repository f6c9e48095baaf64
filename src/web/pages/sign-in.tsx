// Sign-in with an API token: checked against GET /me, then kept in this tab's session storage.
import { type FormEvent, useId, useState } from 'react';
import { ErrorNotice } from '../components/error-notice.js';
import { type ApiError, whoAmI } from '../lib/api.js';
import { usePageTitle } from '../lib/page-title.js';
import type { Principal } from '../lib/types.js';

export function SignIn({
  notice,
  onSignedIn,
}: {
  notice: string | null;
  onSignedIn(token: string, me: Principal): void;
}) {
  usePageTitle('Sign in');
  const tokenId = useId();
  const helpId = useId();
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const value = token.trim();
    if (!value || busy) return;
    setBusy(true);
    setError(null);
    try {
      onSignedIn(value, await whoAmI<Principal>(value));
    } catch (failure) {
      setError(failure as ApiError);
      setBusy(false);
    }
  };

  return (
    <main id="main" className="sign-in">
      <h1>changeledger</h1>
      <p className="lead">Review, approve and apply change-sets.</p>
      {notice && (
        <p className="notice notice-warn" role="status">
          {notice}
        </p>
      )}
      {/* POST, never GET: even without the script, the token must not end up in a URL. */}
      <form onSubmit={submit} method="post" className="sign-in-form">
        <div className="field">
          <label htmlFor={tokenId}>API token</label>
          <input
            id={tokenId}
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={token}
            onChange={(event) => setToken(event.target.value)}
            aria-describedby={helpId}
            required
          />
          <p id={helpId} className="hint">
            The token stays in this browser tab (session storage) and is sent only in the Authorization header. The
            first admin's token is in <code>.changeledger/admin-token</code>. People get their own by opening the
            enrolment link an admin sends them; agents and services get theirs from an admin.
          </p>
        </div>
        {error && <ErrorNotice error={error} title="Sign-in failed" />}
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
      <p className="hint">
        Or <a href="/api/ledger/auth/oidc/login">sign in with your organisation's single sign-on</a>, when this server
        is set up for it.
      </p>
    </main>
  );
}
