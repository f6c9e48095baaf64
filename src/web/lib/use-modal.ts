// A native <dialog> shown as a modal while its component is mounted: focus stays inside, Escape
// fires its cancel event; closing it gives focus back as the browser does.
import { useEffect, useRef } from 'react';

export function useModal() {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
    return () => element?.close();
  }, []);
  return dialog;
}
