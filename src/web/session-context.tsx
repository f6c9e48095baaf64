// Who is signed in, and the API client that carries their token.
import { createContext, useContext } from 'react';
import type { Api } from './lib/api.js';
import type { Principal } from './lib/types.js';

export interface Session {
  api: Api;
  me: Principal;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}
