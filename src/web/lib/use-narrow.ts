// Whether the window is narrow (a phone): below 700 px wide lists are cards and diffs are unified.
import { useSyncExternalStore } from 'react';

export const NARROW_QUERY = '(max-width: 699px)';

const subscribe = (onChange: () => void) => {
  const query = window.matchMedia(NARROW_QUERY);
  query.addEventListener('change', onChange);
  return () => query.removeEventListener('change', onChange);
};

export const useNarrow = (): boolean => useSyncExternalStore(subscribe, () => window.matchMedia(NARROW_QUERY).matches);
