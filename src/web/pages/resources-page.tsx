// The resource store: every present target with its version and the change-set that wrote it.
import { type FormEvent, useState } from 'react';
import { ErrorNotice } from '../components/error-notice.js';
import { formatDateTime } from '../lib/format.js';
import { usePageTitle } from '../lib/page-title.js';
import { changeSetPath, Link, navigate, resourcePath, useLocation } from '../lib/router.js';
import type { Page, ResourceView } from '../lib/types.js';
import { useLoad } from '../lib/use-load.js';
import { useLiveRefresh } from '../live-context.js';
import { useSession } from '../session-context.js';

const WRITES = new Set(['changeset.applied', 'changeset.rolled_back']);

export function ResourcesPage() {
  usePageTitle('Resources');
  const { api } = useSession();
  const { search } = useLocation();
  const targetType = search.get('target_type') ?? '';
  const prefix = search.get('prefix') ?? '';
  const [draft, setDraft] = useState({ targetType, prefix });
  const [more, setMore] = useState<{ rows: ResourceView[]; cursor: string | null } | null>(null);
  const query = new URLSearchParams({
    ...(targetType ? { target_type: targetType } : {}),
    ...(prefix ? { prefix } : {}),
  }).toString();
  const first = useLoad(() => api.get<Page<ResourceView>>(`/resources?limit=100${query ? `&${query}` : ''}`), query);
  useLiveRefresh(
    () => {
      setMore(null);
      first.reload();
    },
    (event) => WRITES.has(event.type),
  );

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setMore(null);
    const next = new URLSearchParams({
      ...(draft.targetType.trim() ? { target_type: draft.targetType.trim() } : {}),
      ...(draft.prefix.trim() ? { prefix: draft.prefix.trim() } : {}),
    }).toString();
    navigate(`/resources${next ? `?${next}` : ''}`, { replace: true });
  };
  const loadMore = async () => {
    const cursor = more ? more.cursor : first.data?.next_cursor;
    if (!cursor) return;
    const page = await api.get<Page<ResourceView>>(
      `/resources?limit=100&cursor=${encodeURIComponent(cursor)}${query ? `&${query}` : ''}`,
    );
    setMore({ rows: [...(more?.rows ?? []), ...page.data], cursor: page.next_cursor });
  };
  const rows = [...(first.data?.data ?? []), ...(more?.rows ?? [])];
  const nextCursor = more ? more.cursor : first.data?.next_cursor;

  return (
    <>
      <h1>Resources</h1>
      <form className="filters" onSubmit={submit} aria-label="Filter resources">
        <div className="field">
          <label htmlFor="r-type">Target type</label>
          <input
            id="r-type"
            value={draft.targetType}
            onChange={(e) => setDraft({ ...draft, targetType: e.target.value })}
          />
        </div>
        <div className="field field-wide">
          <label htmlFor="r-prefix">Target id starts with</label>
          <input id="r-prefix" value={draft.prefix} onChange={(e) => setDraft({ ...draft, prefix: e.target.value })} />
        </div>
        <div className="filter-buttons">
          <button type="submit" className="button button-primary">
            Filter
          </button>
        </div>
      </form>
      {first.error && <ErrorNotice error={first.error} />}
      {!first.data && !first.error && <p aria-busy="true">Loading…</p>}
      {first.data && rows.length === 0 && <p className="muted">No resource matches.</p>}
      {rows.length > 0 && (
        <div className="table-scroll">
          <table className="grid cards">
            <caption className="visually-hidden">Current resources</caption>
            <thead>
              <tr>
                <th scope="col">Target</th>
                <th scope="col">Version</th>
                <th scope="col">Written by</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={`${r.target_type}/${r.target_id}`} data-nav-item="" tabIndex={-1}>
                  <td>
                    <Link to={resourcePath(r.target_type, r.target_id)} data-nav-open="">
                      <span className="muted">{r.target_type} /</span> {r.target_id}
                    </Link>
                  </td>
                  <td data-label="Version">{r.version}</td>
                  <td data-label="Written by">
                    {r.change_set ? <Link to={changeSetPath(r.change_set)}>{r.change_set}</Link> : '—'}
                  </td>
                  <td data-label="Updated">
                    <time dateTime={r.updated_at}>{formatDateTime(r.updated_at)}</time>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
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
