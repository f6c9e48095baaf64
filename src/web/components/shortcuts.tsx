// The keyboard shortcuts of every page (lib/shortcuts.ts): j and k move through the rows of a list
// or the items of a change-set ([data-nav-item]), o or Enter opens the one focused
// ([data-nav-open] inside it), a and r press the approve and reject buttons ([data-shortcut]), and
// ? lists them in a dialog.
import { useEffect, useId, useRef, useState } from 'react';
import { commandFor, SHORTCUTS } from '../lib/shortcuts.js';
import { useModal } from '../lib/use-modal.js';

function navItems(): HTMLElement[] {
  return [...document.querySelectorAll<HTMLElement>('main [data-nav-item]')].filter(
    (element) => element.getClientRects().length > 0,
  );
}

function ShortcutHelp({ onClose }: { onClose(): void }) {
  const dialog = useModal();
  const titleId = useId();
  return (
    <dialog
      ref={dialog}
      className="dialog shortcuts"
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <h2 id={titleId}>Keyboard shortcuts</h2>
      <p className="muted">They do nothing while you type in a field.</p>
      <dl>
        {SHORTCUTS.map((shortcut) => (
          <div key={shortcut.keys.join()} style={{ display: 'contents' }}>
            <dt>
              {shortcut.keys.map((key, index) => (
                <span key={key}>
                  {index > 0 ? ' or ' : ''}
                  <kbd>{key}</kbd>
                </span>
              ))}
            </dt>
            <dd>{shortcut.does}</dd>
          </div>
        ))}
      </dl>
      <div className="dialog-buttons">
        <button type="button" className="button" onClick={onClose}>
          Close
        </button>
      </div>
    </dialog>
  );
}

export function KeyboardShortcuts() {
  const [help, setHelp] = useState(false);
  const opener = useRef<Element | null>(null);
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const active = document.activeElement;
      const command = commandFor({
        key: event.key,
        ctrlKey: event.ctrlKey,
        metaKey: event.metaKey,
        altKey: event.altKey,
        target: event.target instanceof HTMLElement ? event.target : null,
        onNavItem: active instanceof HTMLElement && active.hasAttribute('data-nav-item'),
        dialogOpen: document.querySelector('dialog[open]') !== null,
      });
      if (!command) return;
      const items = navItems();
      const current = items.findIndex((item) => active !== null && item.contains(active));
      if (command.kind === 'move') {
        const next = items[current === -1 ? (command.by === 1 ? 0 : items.length - 1) : current + command.by];
        if (!next) return;
        event.preventDefault();
        next.focus({ preventScroll: true });
        next.scrollIntoView({ block: 'nearest' });
      } else if (command.kind === 'open') {
        const open = items[current]?.querySelector<HTMLElement>('[data-nav-open]');
        if (!open) return;
        event.preventDefault();
        open.click();
      } else if (command.kind === 'action') {
        const button = document.querySelector<HTMLElement>(`main [data-shortcut="${command.key}"]`);
        if (!button) return;
        event.preventDefault();
        button.click();
      } else {
        event.preventDefault();
        opener.current = active;
        setHelp(true);
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  if (!help) return null;
  return (
    <ShortcutHelp
      onClose={() => {
        setHelp(false);
        if (opener.current instanceof HTMLElement) opener.current.focus();
      }}
    />
  );
}
