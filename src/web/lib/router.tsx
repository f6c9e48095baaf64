// A small router over the History API: the server answers every dashboard path with the same page.
import { type AnchorHTMLAttributes, type MouseEvent, useSyncExternalStore } from 'react';

const listeners = new Set<() => void>();
const notify = () => {
  for (const listener of listeners) listener();
};
window.addEventListener('popstate', notify);

const subscribe = (listener: () => void) => {
  listeners.add(listener);
  return () => listeners.delete(listener);
};
const snapshot = () => window.location.pathname + window.location.search;

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === snapshot()) return;
  if (options.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  notify();
  window.scrollTo(0, 0);
}

export interface Location {
  path: string;
  search: URLSearchParams;
}

export function useLocation(): Location {
  const current = useSyncExternalStore(subscribe, snapshot);
  const url = new URL(current, window.location.origin);
  return { path: url.pathname, search: url.searchParams };
}

export type Route =
  | { page: 'queue' }
  | { page: 'change-sets' }
  | { page: 'change-set'; id: string }
  | { page: 'resources' }
  | { page: 'overview' }
  | { page: 'resource'; targetType: string; targetId: string }
  | { page: 'agent'; id: string }
  | { page: 'not-found' };

const decode = (part: string): string | null => {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
};

export function matchRoute(path: string): Route {
  const parts = path.split('/').filter(Boolean).map(decode);
  if (parts.includes(null)) return { page: 'not-found' };
  const [first, ...rest] = parts as string[];
  if (first === undefined || (first === 'queue' && rest.length === 0)) return { page: 'queue' };
  if (first === 'changesets' && rest.length === 0) return { page: 'change-sets' };
  const [second, third] = rest;
  if (first === 'changesets' && rest.length === 1 && second !== undefined) return { page: 'change-set', id: second };
  if (first === 'resources' && rest.length === 0) return { page: 'resources' };
  if (first === 'agents' && rest.length === 1 && second !== undefined) return { page: 'agent', id: second };
  if (first === 'overview' && rest.length === 0) return { page: 'overview' };
  if (first === 'resources' && rest.length === 2 && second !== undefined && third !== undefined)
    return { page: 'resource', targetType: second, targetId: third };
  return { page: 'not-found' };
}

export const changeSetPath = (id: string) => `/changesets/${encodeURIComponent(id)}`;
export const agentPath = (id: string) => `/agents/${encodeURIComponent(id)}`;
export const resourcePath = (targetType: string, targetId: string) =>
  `/resources/${encodeURIComponent(targetType)}/${encodeURIComponent(targetId)}`;

type LinkProps = AnchorHTMLAttributes<HTMLAnchorElement> & { to: string };

/** An ordinary link (open in a new tab works) that navigates in place on a plain click. */
export function Link({ to, onClick, ...rest }: LinkProps) {
  const follow = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={follow} {...rest} />;
}
