// Each page names itself in the tab title; screen readers announce it on navigation.
import { useEffect } from 'react';

export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · changeledger`;
  }, [title]);
}
