// A modal dialog (native <dialog>: focus stays inside, Escape cancels) that asks what an action
// needs, sends it, and shows the API's refusal in its own words if there is one.
import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import type { ApiError } from '../lib/api.js';
import type { DashboardAction } from '../lib/permissions.js';
import type { ChangeSet } from '../lib/types.js';
import { useSession } from '../session-context.js';
import { ACTION_SPECS, type ApplyMode } from './action-specs.js';
import { ApplyPreview } from './apply-preview.js';
import { ErrorNotice } from './error-notice.js';

export interface ActionDialogProps {
  action: DashboardAction;
  changeSet: ChangeSet;
  onDone(message: string): void;
  onRefused(): void;
  onCancel(): void;
}

export function ActionDialog({ action, changeSet, onDone, onRefused, onCancel }: ActionDialogProps) {
  const { api, me } = useSession();
  const spec = ACTION_SPECS[action];
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const reasonId = useId();
  const [reason, setReason] = useState('');
  const [mode, setMode] = useState<ApplyMode>('ATOMIC');
  const [force, setForce] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
    return () => element?.close();
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      onDone(await spec.run(api, changeSet, { reason, mode, force }));
    } catch (failure) {
      setError(failure as ApiError);
      setBusy(false);
      onRefused();
    }
  };

  return (
    <dialog
      ref={dialog}
      className="dialog"
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        onCancel();
      }}
    >
      <form onSubmit={submit} method="dialog">
        <h2 id={titleId}>
          {spec.title}: {changeSet.change_set_id}
        </h2>
        <p className="muted">{spec.explain}</p>
        {action === 'apply' && <ApplyPreview changeSet={changeSet} mode={mode} onMode={setMode} />}
        {spec.reason !== 'none' && (
          <div className="field">
            <label htmlFor={reasonId}>Reason{spec.reason === 'optional' ? ' (optional)' : ''}</label>
            <textarea
              id={reasonId}
              value={reason}
              onChange={(event) => setReason(event.target.value)}
              required={spec.reason === 'required'}
              maxLength={2000}
              rows={3}
            />
          </div>
        )}
        {action === 'rollback' && me.groups.includes('admin') && (
          <label className="checkbox">
            <input type="checkbox" checked={force} onChange={(event) => setForce(event.target.checked)} /> Force: roll
            back even if a later change-set changed these targets (admin, audited)
          </label>
        )}
        {error && <ErrorNotice error={error} title={`The server refused to ${spec.verb}`} />}
        <div className="dialog-buttons">
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" className={`button button-${spec.tone}`} disabled={busy}>
            {busy ? 'Working…' : spec.label.replace('…', '')}
          </button>
        </div>
      </form>
    </dialog>
  );
}
