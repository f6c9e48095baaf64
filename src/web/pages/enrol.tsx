// Enrolment: a person redeems the one-time code an admin gave them (the enrolment's redeem_url
// carries it in the fragment, which never reaches a server) and is signed in with a token that
// only this tab has seen. The code is wiped from the address bar before anything else happens.
import { type FormEvent, useId, useState } from 'react';
import { ErrorNotice } from '../components/error-notice.js';
import { type ApiError, redeemEnrolment, whoAmI } from '../lib/api.js';
import { usePageTitle } from '../lib/page-title.js';
import type { Principal } from '../lib/types.js';

/** The code in `#code=…`, once: the fragment is cleared so it stays out of history and bookmarks. */
function takeCodeFromFragment(): string {
  const code = new URLSearchParams(window.location.hash.slice(1)).get('code') ?? '';
  if (window.location.hash) window.history.replaceState(null, '', window.location.pathname);
  return code;
}

export function Enrol({ onSignedIn }: { onSignedIn(token: string, me: Principal): void }) {
  usePageTitle('Enrol');
  const codeId = useId();
  const helpId = useId();
  const [code, setCode] = useState(takeCodeFromFragment);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const value = code.trim();
    if (!value || busy) return;
    setBusy(true);
    setError(null);
    try {
      const issued = await redeemEnrolment(value);
      onSignedIn(issued.token, await whoAmI<Principal>(issued.token));
    } catch (failure) {
      setError(failure as ApiError);
      setBusy(false);
    }
  };

  return (
    <main id="main" className="sign-in">
      <h1>changeledger</h1>
      <p className="lead">Take your own credentials: redeem the enrolment code an admin gave you.</p>
      <form onSubmit={submit} method="post" className="sign-in-form">
        <div className="field">
          <label htmlFor={codeId}>Enrolment code</label>
          <input
            id={codeId}
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={code}
            onChange={(event) => setCode(event.target.value)}
            aria-describedby={helpId}
            required
          />
          <p id={helpId} className="hint">
            A code works once. Redeeming it gives you a token that only this browser tab holds (session storage); you,
            and the admins, are told that it was redeemed. If you did not redeem a code you were sent, tell an admin.
          </p>
        </div>
        {error && <ErrorNotice error={error} title="Enrolment failed" />}
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? 'Redeeming…' : 'Redeem and sign in'}
        </button>
      </form>
    </main>
  );
}
