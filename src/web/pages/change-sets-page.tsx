// Every change-set, newest first, with the API's filters and title search; the filters live in
// the URL so a filtered list can be bookmarked and shared.
import { type FormEvent, useEffect, useState } from 'react';
import { ChangeSetTable } from '../components/change-set-table.js';
import { ErrorNotice } from '../components/error-notice.js';
import { words } from '../lib/format.js';
import { usePageTitle } from '../lib/page-title.js';
import { navigate, useLocation } from '../lib/router.js';
import type { ChangeSetSummary, Page } from '../lib/types.js';
import { useLoad } from '../lib/use-load.js';
import { useLiveRefresh } from '../live-context.js';
import { useSession } from '../session-context.js';

const STATUSES = ['DRAFT', 'PENDING_APPROVAL', 'APPROVED', 'APPLIED', 'PARTIALLY_APPLIED', 'REJECTED', 'ROLLED_BACK'];
const PRIORITIES = ['LOW', 'NORMAL', 'HIGH', 'CRITICAL'];
const FIELDS = ['q', 'status', 'priority', 'category', 'agent_id', 'tag'] as const;
type Filters = Record<(typeof FIELDS)[number], string>;
const PAGE_SIZE = 50;

function readFilters(search: URLSearchParams): Filters {
  return Object.fromEntries(FIELDS.map((f) => [f, search.get(f) ?? ''])) as Filters;
}

function queryOf(filters: Filters): string {
  const params = new URLSearchParams();
  for (const field of FIELDS) if (filters[field].trim()) params.set(field, filters[field].trim());
  return params.toString();
}

export function ChangeSetsPage() {
  usePageTitle('Change-sets');
  const { api } = useSession();
  const { search } = useLocation();
  const applied = readFilters(search);
  const query = queryOf(applied);
  const [draft, setDraft] = useState<Filters>(applied);
  const [more, setMore] = useState<{ rows: ChangeSetSummary[]; cursor: string | null } | null>(null);
  useEffect(() => {
    setDraft(readFilters(new URLSearchParams(query)));
    setMore(null);
  }, [query]);
  const first = useLoad(
    () => api.get<Page<ChangeSetSummary>>(`/changesets?limit=${PAGE_SIZE}${query ? `&${query}` : ''}`),
    query,
  );
  useLiveRefresh(() => {
    setMore(null);
    first.reload();
  });

  const apply = (filters: Filters) => {
    const next = queryOf(filters);
    navigate(`/changesets${next ? `?${next}` : ''}`, { replace: true });
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    apply(draft);
  };
  const set = (field: keyof Filters, value: string, now = false) => {
    const next = { ...draft, [field]: value };
    setDraft(next);
    if (now) apply(next);
  };
  const loadMore = async () => {
    const cursor = more ? more.cursor : first.data?.next_cursor;
    if (!cursor) return;
    const page = await api.get<Page<ChangeSetSummary>>(
      `/changesets?limit=${PAGE_SIZE}&cursor=${encodeURIComponent(cursor)}${query ? `&${query}` : ''}`,
    );
    setMore({ rows: [...(more?.rows ?? []), ...page.data], cursor: page.next_cursor });
  };
  const rows = [...(first.data?.data ?? []), ...(more?.rows ?? [])];
  const nextCursor = more ? more.cursor : first.data?.next_cursor;

  return (
    <>
      <h1>Change-sets</h1>
      <form className="filters" onSubmit={submit} aria-label="Filter change-sets">
        <div className="field field-wide">
          <label htmlFor="f-q">Search titles</label>
          <input id="f-q" type="search" value={draft.q} onChange={(e) => set('q', e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="f-status">Status</label>
          <select id="f-status" value={draft.status} onChange={(e) => set('status', e.target.value, true)}>
            <option value="">Any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {words(s)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-priority">Priority</label>
          <select id="f-priority" value={draft.priority} onChange={(e) => set('priority', e.target.value, true)}>
            <option value="">Any</option>
            {PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {words(p)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-category">Category</label>
          <input
            id="f-category"
            value={draft.category}
            onChange={(e) => set('category', e.target.value.toUpperCase())}
          />
        </div>
        <div className="field">
          <label htmlFor="f-agent">Agent</label>
          <input id="f-agent" value={draft.agent_id} onChange={(e) => set('agent_id', e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="f-tag">Tag</label>
          <input id="f-tag" value={draft.tag} onChange={(e) => set('tag', e.target.value)} />
        </div>
        <div className="filter-buttons">
          <button type="submit" className="button button-primary">
            Filter
          </button>
          <button type="button" className="button" onClick={() => apply(readFilters(new URLSearchParams()))}>
            Clear
          </button>
        </div>
      </form>
      {first.error && <ErrorNotice error={first.error} title="The list could not be loaded" />}
      {!first.data && !first.error && <p aria-busy="true">Loading…</p>}
      {first.data && rows.length === 0 && <p className="muted">No change-set matches these filters.</p>}
      {rows.length > 0 && <ChangeSetTable rows={rows} label="Change-sets, newest first" />}
      {nextCursor && (
        <p>
          <button type="button" className="button" onClick={() => void loadMore()}>
            Load more
          </button>
        </p>
      )}
    </>
  );
}
