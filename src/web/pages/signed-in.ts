// Where single sign-on lands: the server's callback redirects to /signed-in#token=…, the fragment
// never reaching any server. The token moves into this tab's session storage and the fragment is
// wiped from the address bar (and history) before anything renders; the app then checks the
// token as it checks any stored one.
import { saveToken } from '../lib/session.js';

export const SIGNED_IN_PATH = '/signed-in';

/** Takes a token the single sign-on handed over, once; true when there was one. */
export function adoptSignedInToken(): boolean {
  if (window.location.pathname !== SIGNED_IN_PATH) return false;
  const token = new URLSearchParams(window.location.hash.slice(1)).get('token');
  window.history.replaceState(null, '', '/');
  if (!token) return false;
  saveToken(token);
  return true;
}
