// One item of a change-set: what it does to its target, as a before/after diff. Items still to
// apply come from the plan (what applying would do now); applied ones from the target's history.
import type { ReactNode } from 'react';
import { createPatch } from 'rfc6902';
import { seg } from '../lib/api.js';
import { Link, resourcePath } from '../lib/router.js';
import type { HistoryEntry, Item, Json, PatchOperation, PlanItem, PlanState } from '../lib/types.js';
import { useLoad } from '../lib/use-load.js';
import { useSession } from '../session-context.js';
import { StatusBadge } from './badges.js';
import { DiffTable, PatchList } from './diff-view.js';

const PLAN_WORDS: Record<PlanItem['status'], string> = {
  WOULD_APPLY: 'would apply',
  WOULD_FAIL: 'would fail',
  WOULD_SKIP: 'would be skipped',
  APPLIED: 'applied',
};

const describe = (item: Pick<Item, 'operation_type' | 'target_type' | 'target_id'>) =>
  `${item.operation_type} ${item.target_type} ${item.target_id}`;

const stateOf = (side: PlanState | null): Json | null => (side?.present ? (side.state as Json) : null);

function Change(props: { before: PlanState | null; after: PlanState | null; patch?: PatchOperation[]; label: string }) {
  const patch = props.patch ?? (createPatch(stateOf(props.before), stateOf(props.after)) as PatchOperation[]);
  return (
    <>
      <DiffTable before={props.before} after={props.after} label={props.label} />
      <details className="patch-details" open={patch.length > 0 && patch.length <= 8}>
        <summary>Patch operations ({patch.length})</summary>
        <PatchList patch={patch} />
      </details>
    </>
  );
}

const stateAt = (history: HistoryEntry[], version: number): PlanState => {
  const entry = history.find((h) => h.version === version);
  return entry?.present ? { present: true, version, state: entry.state } : { present: false, version, state: null };
};

/** An applied item: the target's versions just before and as this item wrote it. */
function AppliedChange({ item, fallback }: { item: Item; fallback: PlanState }) {
  const { api } = useSession();
  const history = useLoad(
    () =>
      api
        .get<{ data: HistoryEntry[] }>(`/resources/${seg(item.target_type)}/${seg(item.target_id)}/history`)
        .then((r) => r.data),
    `${item.target_type}/${item.target_id}@${item.applied_version}`,
  );
  const version = item.applied_version;
  if (version === null || !history.data) return <DiffTable before={fallback} after={null} label={describe(item)} />;
  return (
    <Change
      before={stateAt(history.data, version - 1)}
      after={stateAt(history.data, version)}
      label={`${describe(item)}: applied as version ${version}`}
    />
  );
}

/** An item the plan cannot carry out: the current state against what the item proposes. */
function ProposedChange({ item, current }: { item: Item; current: PlanState }) {
  const after: PlanState | null =
    item.after_state === undefined ? null : { present: true, version: current.version + 1, state: item.after_state };
  return (
    <Change
      before={current}
      after={after}
      label={`${describe(item)}: proposed`}
      {...(item.diff_data ? { patch: item.diff_data } : {})}
    />
  );
}

export function ItemChange({ item, planItem }: { item: Item; planItem: PlanItem }) {
  const headingId = `item-${item.id}`;
  const error = planItem.error ?? item.error;
  let body: ReactNode;
  if (planItem.status === 'APPLIED') body = <AppliedChange item={item} fallback={planItem.current} />;
  else if (planItem.status === 'WOULD_APPLY')
    body = (
      <Change
        before={planItem.current}
        after={planItem.result}
        patch={planItem.diff}
        label={`${describe(item)}: before and after`}
      />
    );
  else body = <ProposedChange item={item} current={planItem.current} />;
  return (
    <article className="item" aria-labelledby={headingId}>
      <header className="item-head">
        <h3 id={headingId}>
          <span className={`op op-${item.operation_type.toLowerCase()}`}>{item.operation_type}</span>{' '}
          <Link to={resourcePath(item.target_type, item.target_id)}>
            {item.target_type} / {item.target_id}
          </Link>
        </h3>
        <p className="item-meta">
          item <code>{item.key}</code> · <StatusBadge status={item.status} /> · plan: {PLAN_WORDS[planItem.status]}
          {planItem.result && (
            <>
              {' '}
              · version {planItem.current.version} → {planItem.result.version}
            </>
          )}
          {item.applied_version !== null && <> · applied as version {item.applied_version}</>}
        </p>
      </header>
      {error && (
        <p className="notice notice-warn">
          <strong>{error.code}</strong>: {error.message}
        </p>
      )}
      {body}
    </article>
  );
}
