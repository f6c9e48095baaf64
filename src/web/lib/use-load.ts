// Loads data for a page and reloads it on demand (a live event, an action): the last good data
// stays on screen while a reload runs, so live updates never blank the page.
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from './api.js';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  reload(): void;
}

const asApiError = (error: unknown): ApiError =>
  error instanceof ApiError ? error : new ApiError(0, 'CLIENT', (error as Error).message ?? String(error));

/** `key` names what is loaded (an id, a query): a new key starts afresh, `reload()` asks again. */
export function useLoad<T>(load: () => Promise<T>, key: string): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  const latest = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  // A new key (another change-set, other filters) starts from nothing.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the key is what changed
  useEffect(() => {
    setData(undefined);
    setError(null);
  }, [key]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: the key and the generation are what ask again
  useEffect(() => {
    const ticket = ++latest.current;
    setLoading(true);
    loadRef.current().then(
      (value) => {
        if (ticket !== latest.current) return;
        setData(value);
        setError(null);
        setLoading(false);
      },
      (failure: unknown) => {
        if (ticket !== latest.current) return;
        setError(asApiError(failure));
        setLoading(false);
      },
    );
  }, [key, generation]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data, error, loading, reload };
}
