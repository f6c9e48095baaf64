// Inside the apply dialog: the mode to apply with, and the plan as things stand right now. When the
// plan says an item would fail, the dialog names each with its reason and asks for an explicit
// confirmation before Apply can be pressed.
import { useEffect, useState } from 'react';
import { seg } from '../lib/api.js';
import type { ChangeSet, Plan } from '../lib/types.js';
import { useLoad } from '../lib/use-load.js';
import { useSession } from '../session-context.js';
import type { ApplyMode } from './action-specs.js';
import { ErrorNotice } from './error-notice.js';

const MODES: { mode: ApplyMode; label: string; explain: string }[] = [
  { mode: 'ATOMIC', label: 'Atomic', explain: 'all items or none (the default, also called AUTO)' },
  {
    mode: 'BEST_EFFORT',
    label: 'Best effort',
    explain: 'each item on its own; dependants of a failed item are skipped',
  },
];

const PLAN_WORDS = {
  WOULD_APPLY: 'would apply',
  WOULD_FAIL: 'would fail',
  WOULD_SKIP: 'would be skipped',
  APPLIED: 'already applied',
};

export function ApplyPreview(props: {
  changeSet: ChangeSet;
  mode: ApplyMode;
  onMode(mode: ApplyMode): void;
  /** Whether Apply may be pressed: the plan is loaded, and any failure it forecasts is acknowledged. */
  onReady(ready: boolean): void;
}) {
  const { api } = useSession();
  const plan = useLoad(
    () => api.get<Plan>(`/changesets/${seg(props.changeSet.id)}/plan`),
    `${props.changeSet.id}@${props.changeSet.version}`,
  );
  const [acknowledged, setAcknowledged] = useState(false);
  const failing = (plan.data?.items ?? []).filter((item) => item.status === 'WOULD_FAIL');
  const ready = plan.data !== undefined && (failing.length === 0 || acknowledged);
  const { onReady } = props;
  useEffect(() => onReady(ready), [ready, onReady]);
  return (
    <>
      <fieldset className="modes">
        <legend>Mode</legend>
        {MODES.map((m) => (
          <label key={m.mode} className="mode">
            <input
              type="radio"
              name="apply-mode"
              value={m.mode}
              checked={props.mode === m.mode || (props.mode === 'AUTO' && m.mode === 'ATOMIC')}
              onChange={() => props.onMode(m.mode)}
            />{' '}
            <strong>{m.label}</strong> — {m.explain}
          </label>
        ))}
      </fieldset>
      <h3 className="subheading">Plan preview</h3>
      {plan.error && <ErrorNotice error={plan.error} title="The plan could not be loaded" />}
      {!plan.data && !plan.error && <p aria-busy="true">Loading the plan…</p>}
      {plan.data && (
        <>
          <p className={plan.data.would_succeed ? 'notice notice-ok' : 'notice notice-warn'}>
            {plan.data.would_succeed
              ? `All ${plan.data.items.length} item(s) would apply.`
              : 'Some items would not apply as things stand:'}
          </p>
          <ul className="plan-list" aria-label="Plan">
            {plan.data.items.map((item) => (
              <li key={item.item_id}>
                <code>{item.key}</code> {item.operation_type} {item.target_type}/{item.target_id}:{' '}
                <strong>{PLAN_WORDS[item.status]}</strong>
                {item.result ? ` (version ${item.current.version} → ${item.result.version})` : ''}
                {item.error ? ` — ${item.error.code}: ${item.error.message}` : ''}
              </li>
            ))}
          </ul>
          {failing.length > 0 && (
            <div className="notice notice-warn" role="alert">
              <p>
                <strong>
                  {failing.length} item{failing.length === 1 ? '' : 's'} would fail:
                </strong>{' '}
                {failing
                  .map(
                    (item) =>
                      `${item.key} (${item.target_type}/${item.target_id}): ${item.error?.message ?? 'no reason given'}`,
                  )
                  .join('; ')}
                .
              </p>
              <label className="checkbox">
                <input
                  type="checkbox"
                  checked={acknowledged}
                  onChange={(event) => setAcknowledged(event.target.checked)}
                />{' '}
                I have read this and want to apply anyway
              </label>
            </div>
          )}
        </>
      )}
    </>
  );
}
