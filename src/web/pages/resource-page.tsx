// One resource: its current state, and every version with the change-set that made it.
import { useState } from 'react';
import { DiffTable } from '../components/diff-view.js';
import { ErrorNotice } from '../components/error-notice.js';
import { type ApiError, seg } from '../lib/api.js';
import { formatDateTime, words } from '../lib/format.js';
import { prettyJson } from '../lib/json-diff.js';
import { usePageTitle } from '../lib/page-title.js';
import { changeSetPath, Link } from '../lib/router.js';
import type { HistoryEntry, PlanState, ResourceView } from '../lib/types.js';
import { useLoad } from '../lib/use-load.js';
import { useLiveRefresh } from '../live-context.js';
import { useSession } from '../session-context.js';

const sideOf = (entry: HistoryEntry | undefined): PlanState | null =>
  entry ? { present: entry.present, version: entry.version, state: entry.present ? entry.state : null } : null;

export function ResourcePage({ targetType, targetId }: { targetType: string; targetId: string }) {
  usePageTitle(`${targetType} / ${targetId}`);
  const { api } = useSession();
  const base = `/resources/${seg(targetType)}/${seg(targetId)}`;
  // A deleted target has no current state (404) but keeps its history.
  const current = useLoad(
    () => api.get<ResourceView>(base).catch((e: ApiError) => (e.status === 404 ? null : Promise.reject(e))),
    base,
  );
  const history = useLoad(() => api.get<{ data: HistoryEntry[] }>(`${base}/history`).then((r) => r.data), base);
  const [shown, setShown] = useState<number | null>(null);
  useLiveRefresh(() => {
    current.reload();
    history.reload();
  });

  const versions = [...(history.data ?? [])].reverse();
  const byVersion = new Map((history.data ?? []).map((h) => [h.version, h]));
  return (
    <>
      <h1>
        <span className="muted">{targetType} /</span> {targetId}
      </h1>
      <section aria-labelledby="current" className="panel">
        <h2 id="current">Current state</h2>
        {current.error && <ErrorNotice error={current.error} />}
        {current.data === null && <p>This target does not exist now (never created, or deleted).</p>}
        {current.data && (
          <>
            <p>
              Version <strong>{current.data.version}</strong>, written by{' '}
              {current.data.change_set ? (
                <Link to={changeSetPath(current.data.change_set)}>{current.data.change_set}</Link>
              ) : (
                'no change-set'
              )}{' '}
              on {formatDateTime(current.data.updated_at)}.
            </p>
            <pre className="json">{prettyJson(current.data.state).join('\n')}</pre>
          </>
        )}
      </section>
      <section aria-labelledby="history" className="panel">
        <h2 id="history">History</h2>
        {history.error && <ErrorNotice error={history.error} />}
        {history.data?.length === 0 && <p className="muted">No change-set has written this target.</p>}
        {versions.length > 0 && (
          <div className="table-scroll">
            <table className="grid">
              <caption className="visually-hidden">Every version, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">Operation</th>
                  <th scope="col">Change-set</th>
                  <th scope="col">By</th>
                  <th scope="col">When</th>
                  <th scope="col">Change</th>
                </tr>
              </thead>
              <tbody>
                {versions.map((entry) => (
                  <tr key={entry.version} className={shown === entry.version ? 'selected' : undefined}>
                    <td>{entry.version}</td>
                    <td>{words(entry.operation)}</td>
                    <td>
                      <Link to={changeSetPath(entry.change_set)}>{entry.change_set}</Link>
                    </td>
                    <td>{entry.actor}</td>
                    <td>
                      <time dateTime={entry.at}>{formatDateTime(entry.at)}</time>
                    </td>
                    <td>
                      <button
                        type="button"
                        className="button button-small"
                        aria-pressed={shown === entry.version}
                        onClick={() => setShown(shown === entry.version ? null : entry.version)}
                      >
                        {shown === entry.version ? 'Hide' : 'Show'} change to version {entry.version}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {shown !== null && (
          <>
            <h3 className="subheading">
              The change to version {shown} ({byVersion.get(shown)?.change_set})
            </h3>
            <DiffTable
              before={sideOf(byVersion.get(shown - 1))}
              after={sideOf(byVersion.get(shown))}
              label={`The change to version ${shown}`}
            />
          </>
        )}
      </section>
    </>
  );
}
