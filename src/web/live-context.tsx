// The event stream, shared by every page of the tab: one connection, many listeners.
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import { connectEventStream, type StreamState } from './lib/event-stream.js';
import type { LedgerEvent } from './lib/types.js';

/** An event, or null after a reconnect (anything may have changed meanwhile). */
type Listener = (event: LedgerEvent | null) => void;

interface Live {
  state: StreamState;
  subscribe(listener: Listener): () => void;
}

const LiveContext = createContext<Live>({ state: 'closed', subscribe: () => () => {} });

export function LiveProvider({
  token,
  onUnauthorized,
  children,
}: {
  token: string;
  onUnauthorized(): void;
  children: ReactNode;
}) {
  const [state, setState] = useState<StreamState>('connecting');
  const listeners = useRef(new Set<Listener>());
  const unauthorized = useRef(onUnauthorized);
  unauthorized.current = onUnauthorized;

  useEffect(() => {
    const emit = (event: LedgerEvent | null) => {
      for (const listener of [...listeners.current]) listener(event);
    };
    return connectEventStream(token, {
      onEvent: emit,
      onResync: () => emit(null),
      onState: (next) => {
        setState(next);
        if (next === 'unauthorized') unauthorized.current();
      },
    });
  }, [token]);

  const subscribe = useCallback((listener: Listener) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);
  const value = useMemo(() => ({ state, subscribe }), [state, subscribe]);
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

export const useLiveState = (): StreamState => useContext(LiveContext).state;

/**
 * Calls `onChange` (at most every 250 ms) when an event arrives that `matches` accepts, and after
 * every reconnect.
 */
export function useLiveRefresh(
  onChange: (event: LedgerEvent | null) => void,
  matches: (event: LedgerEvent) => boolean = () => true,
) {
  const { subscribe } = useContext(LiveContext);
  const handler = useRef({ onChange, matches });
  handler.current = { onChange, matches };
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let last: LedgerEvent | null = null;
    const unsubscribe = subscribe((event) => {
      if (event && !handler.current.matches(event)) return;
      last = event;
      clearTimeout(timer);
      timer = setTimeout(() => handler.current.onChange(last), 250);
    });
    return () => {
      clearTimeout(timer);
      unsubscribe();
    };
  }, [subscribe]);
}
