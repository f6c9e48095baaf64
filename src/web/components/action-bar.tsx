// The actions the signed-in principal may take on this change-set now, and nothing else. "a" and
// "r" open the approve and reject dialogs (components/shortcuts.tsx); when a dialog closes, focus
// goes back to the control that opened it, or to the page's heading if that control is gone.
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { availableActions, type DashboardAction } from '../lib/permissions.js';
import type { ChangeSet } from '../lib/types.js';
import { useSession } from '../session-context.js';
import { ActionDialog } from './action-dialog.js';
import { ACTION_SPECS } from './action-specs.js';

const SHORTCUT: Partial<Record<DashboardAction, string>> = { approve: 'a', reject: 'r' };

export function ActionBar({ changeSet, onChanged }: { changeSet: ChangeSet; onChanged(message: string | null): void }) {
  const { me } = useSession();
  const [open, setOpen] = useState<DashboardAction | null>(null);
  const opener = useRef<HTMLElement | null>(null);
  /** Until when focus is still being returned after a dialog closed (the reload after an action). */
  const restoreUntil = useRef(0);
  const returning = useRef(false);
  const actions = availableActions(changeSet, me);
  const close = () => {
    setOpen(null);
    returning.current = true;
    restoreUntil.current = Date.now() + 5_000;
  };
  // Focus goes back in the same commit that removes the dialog: were it deferred to a later task,
  // there would be a moment with the focus on the page body (a screen reader would announce it).
  useLayoutEffect(() => {
    if (open !== null || !returning.current) return;
    returning.current = false;
    if (opener.current?.isConnected) opener.current.focus();
  }, [open]);
  // The reload after an action may take the opener away (Approve is not offered once approved):
  // then the focus, dropped to the page body, goes to the page's heading instead.
  useEffect(() => {
    if (Date.now() > restoreUntil.current || opener.current?.isConnected) return;
    const active = document.activeElement;
    if (active === null || active === document.body) document.getElementById('cs-title')?.focus();
  });
  return (
    <>
      {actions.length > 0 && (
        <fieldset className="actions">
          <legend className="visually-hidden">Actions</legend>
          {actions.map((action) => (
            <button
              key={action}
              type="button"
              className={`button button-${ACTION_SPECS[action].tone}`}
              aria-haspopup="dialog"
              data-shortcut={SHORTCUT[action]}
              aria-keyshortcuts={SHORTCUT[action]}
              onClick={(event) => {
                opener.current = event.currentTarget;
                setOpen(action);
              }}
            >
              {ACTION_SPECS[action].label}
            </button>
          ))}
        </fieldset>
      )}
      {open && (
        <ActionDialog
          action={open}
          changeSet={changeSet}
          onCancel={close}
          onRefused={() => onChanged(null)}
          onDone={(message) => {
            close();
            onChanged(message);
          }}
        />
      )}
    </>
  );
}
