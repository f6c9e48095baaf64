// One item of a change-set: what it does to its target. What happened is told from the target's
// stored history (lib/item-history.ts): the version the item wrote, what a rollback restored, and
// the change-sets that moved the target since (linked). Only an item that can still be applied is
// shown with the plan's forecast. Items fold (collapse all, or one by one) and can be marked viewed.
import type { ReactNode } from 'react';
import { createPatch } from 'rfc6902';
import { seg } from '../lib/api.js';
import { type ItemStory, itemStory } from '../lib/item-history.js';
import { changeSetPath, Link, resourcePath } from '../lib/router.js';
import type { ChangeSet, HistoryEntry, Item, Json, PatchOperation, PlanItem, PlanState } from '../lib/types.js';
import { useLoad } from '../lib/use-load.js';
import { useSession } from '../session-context.js';
import { StatusBadge } from './badges.js';
import { DiffTable, PatchList } from './diff-view.js';

export const PLAN_WORDS: Record<PlanItem['status'], string> = {
  WOULD_APPLY: 'would apply',
  WOULD_FAIL: 'would fail',
  WOULD_SKIP: 'would be skipped',
  APPLIED: 'applied',
};

/** Statuses in which applying is still ahead: the plan's forecast means something. */
const FORECAST_STATUSES = new Set(['DRAFT', 'PENDING_APPROVAL', 'APPROVED', 'PARTIALLY_APPLIED']);
export const forecastApplies = (changeSet: Pick<ChangeSet, 'status'>, item: Pick<Item, 'status'>): boolean =>
  FORECAST_STATUSES.has(changeSet.status) && item.status !== 'APPLIED' && item.status !== 'ROLLED_BACK';

const describe = (item: Pick<Item, 'operation_type' | 'target_type' | 'target_id'>) =>
  `${item.operation_type} ${item.target_type} ${item.target_id}`;

const stateOf = (side: PlanState | null): Json | null => (side?.present ? (side.state as Json) : null);

function Change(props: { before: PlanState | null; after: PlanState | null; patch?: PatchOperation[]; label: string }) {
  const both = props.before?.present === true && props.after?.present === true;
  const patch = props.patch ?? (createPatch(stateOf(props.before), stateOf(props.after)) as PatchOperation[]);
  return (
    <>
      <DiffTable before={props.before} after={props.after} label={props.label} />
      {both && (
        <details className="patch-details" open={patch.length > 0 && patch.length <= 8}>
          <summary>Patch operations ({patch.length})</summary>
          <PatchList patch={patch} />
        </details>
      )}
    </>
  );
}

function useHistory(item: Item, load: boolean) {
  const { api } = useSession();
  return useLoad(
    () =>
      load
        ? api
            .get<{ data: HistoryEntry[] }>(`/resources/${seg(item.target_type)}/${seg(item.target_id)}/history`)
            .then((r) => r.data)
        : Promise.resolve([] as HistoryEntry[]),
    `${item.target_type}/${item.target_id}@${item.applied_version}:${item.status}:${load}`,
  );
}

function MovedBy({ story, since }: { story: ItemStory; since: string }) {
  if (story.movedBy.length === 0) return null;
  return (
    <p className="notice notice-warn item-moved">
      {since}:{' '}
      {story.movedBy.map((h, index) => (
        <span key={h.version}>
          {index > 0 ? ', ' : ''}
          <Link to={changeSetPath(h.change_set)}>{h.change_set}</Link> wrote version {h.version} (
          {h.operation.toLowerCase()} by <span className="name">{h.actor}</span>)
        </span>
      ))}
      .
    </p>
  );
}

/** An item that was applied (and maybe rolled back): what it wrote, what its rollback restored. */
function PastChange({ item, changeSet }: { item: Item; changeSet: ChangeSet }) {
  const history = useHistory(item, true);
  if (!history.data) return <p aria-busy="true">Loading the target's history…</p>;
  const story = itemStory(item, changeSet.id, history.data);
  const { applied, restored } = story;
  return (
    <>
      <ul className="item-story">
        {applied && (
          <li>
            Applied: version {applied.from.version} → {applied.to.version}
          </li>
        )}
        {restored && (
          <li>
            Rolled back: version {restored.from.version} → {restored.to.version}, restoring{' '}
            {restored.to.present ? `the state of version ${applied?.from.version ?? '?'}` : 'its absence'}
          </li>
        )}
      </ul>
      <MovedBy story={story} since={restored ? 'Also written by other change-sets' : 'Moved since by'} />
      {applied ? (
        <Change before={applied.from} after={applied.to} label={`${describe(item)}: as applied`} />
      ) : (
        <p className="muted">The target's history holds no write by this item.</p>
      )}
    </>
  );
}

/** An item still to apply: the plan's forecast, and for a conflict the change-sets that moved the target. */
function ForecastChange({ item, planItem, changeSet }: { item: Item; planItem: PlanItem; changeSet: ChangeSet }) {
  const failing = planItem.status === 'WOULD_FAIL';
  const history = useHistory(item, failing);
  const story = failing && history.data ? itemStory(item, changeSet.id, history.data) : null;
  return (
    <>
      {story && <MovedBy story={story} since={`Moved since version ${item.base_version ?? '?'} by`} />}
      {planItem.status === 'WOULD_APPLY' ? (
        <Change
          before={planItem.current}
          after={planItem.result}
          patch={planItem.diff}
          label={`${describe(item)}: before and after`}
        />
      ) : (
        <ProposedChange item={item} current={planItem.current} />
      )}
    </>
  );
}

/** An item the plan cannot carry out, or one never applied: the current state against what it proposes. */
function ProposedChange({ item, current }: { item: Item; current: PlanState }) {
  const after: PlanState | null =
    item.operation_type === 'DELETE'
      ? { present: false, version: current.version + 1, state: null }
      : item.after_state === undefined
        ? null
        : { present: true, version: current.version + 1, state: item.after_state };
  return (
    <Change
      before={current}
      after={after}
      label={`${describe(item)}: proposed`}
      {...(item.diff_data && item.after_state === undefined ? { patch: item.diff_data } : {})}
    />
  );
}

export interface ItemChangeProps {
  item: Item;
  planItem: PlanItem | undefined;
  changeSet: ChangeSet;
  expanded: boolean;
  onExpanded(expanded: boolean): void;
  viewed: boolean;
  onViewed(viewed: boolean): void;
}

export function ItemChange({ item, planItem, changeSet, expanded, onExpanded, viewed, onViewed }: ItemChangeProps) {
  const headingId = `item-head-${item.id}`;
  const bodyId = `item-body-${item.id}`;
  const forecast = forecastApplies(changeSet, item) ? planItem : undefined;
  const past = item.status === 'APPLIED' || item.status === 'ROLLED_BACK';
  const error = forecast?.error ?? item.error;
  let body: ReactNode;
  if (past) body = <PastChange item={item} changeSet={changeSet} />;
  else if (forecast) body = <ForecastChange item={item} planItem={forecast} changeSet={changeSet} />;
  else if (planItem) body = <ProposedChange item={item} current={planItem.current} />;
  else body = <p aria-busy="true">Loading the plan…</p>;
  return (
    <article
      className={`item${viewed ? ' item-viewed' : ''}`}
      id={`item-${item.id}`}
      aria-labelledby={headingId}
      data-nav-item=""
      tabIndex={-1}
    >
      <header className="item-head">
        <button
          type="button"
          className="item-toggle"
          aria-expanded={expanded}
          aria-controls={bodyId}
          data-nav-open=""
          onClick={() => onExpanded(!expanded)}
        >
          <span aria-hidden="true">{expanded ? '▾' : '▸'}</span>
          <span className="visually-hidden">
            {expanded ? 'Collapse' : 'Expand'} item {item.key}
          </span>
        </button>
        <h3 id={headingId}>
          <span className={`op op-${item.operation_type.toLowerCase()}`}>{item.operation_type}</span>{' '}
          <Link to={resourcePath(item.target_type, item.target_id)} className="item-target">
            {item.target_type} / {item.target_id}
          </Link>
        </h3>
        <label className="checkbox item-viewed-mark">
          <input type="checkbox" checked={viewed} onChange={(event) => onViewed(event.target.checked)} /> Viewed
        </label>
        <p className="item-meta">
          item <code>{item.key}</code> · <StatusBadge status={item.status} />
          {forecast && <> · plan: {PLAN_WORDS[forecast.status]}</>}
          {forecast?.result && (
            <>
              {' '}
              · version {forecast.current.version} → {forecast.result.version}
            </>
          )}
          {item.applied_version !== null && <> · applied as version {item.applied_version}</>}
        </p>
      </header>
      <div id={bodyId} hidden={!expanded}>
        {error && (
          <p className="notice notice-warn">
            {forecast?.error ? 'Would fail now' : 'Failed when applied'}: {error.message}{' '}
            <small className="notice-code">{error.code}</small>
          </p>
        )}
        {expanded && body}
      </div>
    </article>
  );
}
