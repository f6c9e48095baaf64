// The actions the signed-in principal may take on this change-set now, and nothing else.
import { useState } from 'react';
import { availableActions, type DashboardAction } from '../lib/permissions.js';
import type { ChangeSet } from '../lib/types.js';
import { useSession } from '../session-context.js';
import { ActionDialog } from './action-dialog.js';
import { ACTION_SPECS } from './action-specs.js';

export function ActionBar({ changeSet, onChanged }: { changeSet: ChangeSet; onChanged(message: string | null): void }) {
  const { me } = useSession();
  const [open, setOpen] = useState<DashboardAction | null>(null);
  const actions = availableActions(changeSet, me);
  return (
    <fieldset className="actions">
      <legend className="visually-hidden">Actions</legend>
      {actions.length === 0 && (
        <p className="muted">There is nothing you can do on this change-set in its current status.</p>
      )}
      {actions.map((action) => (
        <button
          key={action}
          type="button"
          className={`button button-${ACTION_SPECS[action].tone}`}
          aria-haspopup="dialog"
          onClick={() => setOpen(action)}
        >
          {ACTION_SPECS[action].label}
        </button>
      ))}
      {open && (
        <ActionDialog
          action={open}
          changeSet={changeSet}
          onCancel={() => setOpen(null)}
          onRefused={() => onChanged(null)}
          onDone={(message) => {
            setOpen(null);
            onChanged(message);
          }}
        />
      )}
    </fieldset>
  );
}
