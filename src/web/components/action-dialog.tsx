// A modal dialog (native <dialog>: focus stays inside, Escape cancels) that asks what an action
// needs, sends it, and shows the API's refusal in its own words if there is one. It follows the
// change-set live: when someone else acts on it meanwhile, it says who did what and holds its
// confirm until the reader has seen the new state (and for good when the action no longer fits).
import { type FormEvent, useId, useRef, useState } from 'react';
import { LIFECYCLE } from '../../core/lifecycle.js';
import type { ApiError } from '../lib/api.js';
import { words } from '../lib/format.js';
import type { DashboardAction } from '../lib/permissions.js';
import { changesChangeSet, describeLiveChange } from '../lib/review.js';
import type { ChangeSet } from '../lib/types.js';
import { useModal } from '../lib/use-modal.js';
import { useLiveRefresh } from '../live-context.js';
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
  const dialog = useModal();
  const titleId = useId();
  const reasonId = useId();
  const [reason, setReason] = useState('');
  const [mode, setMode] = useState<ApplyMode>('ATOMIC');
  const [force, setForce] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [ready, setReady] = useState(action !== 'apply');
  // What others did since the dialog opened, and the version the reader last confirmed seeing.
  const [changes, setChanges] = useState<string[]>([]);
  const [seenVersion, setSeenVersion] = useState(changeSet.version);
  const tried = useRef(false);
  useLiveRefresh(
    (event) => {
      if (event && event.actor !== me.id && changesChangeSet(event))
        setChanges((list) => [...list, describeLiveChange(event)]);
    },
    (event) =>
      event.change_set !== null &&
      (event.change_set.id === changeSet.id || event.change_set.change_set_id === changeSet.change_set_id),
  );
  // A change the stream did not name (an edit, a missed event): the version moved, not by my attempt.
  const movedSilently = changes.length === 0 && !tried.current && changeSet.version !== seenVersion;
  const stale = changes.length > 0 || movedSilently;
  const stillAllowed = LIFECYCLE[action].from.includes(changeSet.status);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (busy || stale || !stillAllowed || !ready) return;
    tried.current = true;
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
        {stale && (
          <div className="notice notice-warn" role="alert">
            <p>
              <strong>This change-set changed while this dialog was open.</strong>{' '}
              {changes.length > 0
                ? changes.join(' ')
                : `It is now version ${changeSet.version}, status ${words(changeSet.status)}.`}
            </p>
            {stillAllowed ? (
              <p>
                Check the page behind this dialog, then{' '}
                <button
                  type="button"
                  className="button button-plain"
                  onClick={() => {
                    setChanges([]);
                    setSeenVersion(changeSet.version);
                  }}
                >
                  continue with the new state
                </button>
              </p>
            ) : (
              <p>
                You can no longer {spec.verb} it: it is {words(changeSet.status)} now.
              </p>
            )}
          </div>
        )}
        {action === 'apply' && <ApplyPreview changeSet={changeSet} mode={mode} onMode={setMode} onReady={setReady} />}
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
          <button
            type="submit"
            className={`button button-${spec.tone}`}
            disabled={busy || stale || !stillAllowed || !ready}
          >
            {busy ? 'Working…' : spec.label.replace('…', '')}
          </button>
        </div>
      </form>
    </dialog>
  );
}
