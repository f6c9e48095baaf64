// The change-set's audit trail, oldest first, each entry in a sentence.
import { formatDateTime, words } from '../lib/format.js';
import type { AuditEntry, Json } from '../lib/types.js';

type Data = Record<string, Json | undefined>;

const text = (value: Json | undefined) => (value === undefined || value === null ? '' : String(value));
const reason = (data: Data) => (data['reason'] ? ` — “${text(data['reason'])}”` : '');

/** What happened, in words; the raw data stays one click away. */
export function describeEntry(entry: Pick<AuditEntry, 'action' | 'data'>): string {
  const data = (entry.data && typeof entry.data === 'object' && !Array.isArray(entry.data) ? entry.data : {}) as Data;
  const status = (value: Json | undefined) => words(text(value));
  switch (entry.action) {
    case 'create':
      return `created as ${status(data['status'])}`;
    case 'edit':
      return 'edited';
    case 'submit':
      return `submitted: ${status(data['status'])}`;
    case 'auto_approve':
      return 'auto-approved by the risk model';
    case 'decision':
      return `${data['decision'] === 'REJECTED' ? 'rejected' : 'approved'} (${text(data['received'])} of ${text(data['required'])})${reason(data)}`;
    case 'transition':
    case 'withdraw':
    case 'reopen':
    case 'close':
      return `${status(data['from'])} → ${status(data['to'])}${data['cause'] ? ` (${text(data['cause'])})` : ''}${reason(data)}`;
    case 'apply':
      return `applied (${text(data['mode'])}): ${text(data['applied_items'])} applied, ${text(data['failed_items'])} failed, ${text(data['skipped_items'])} skipped → ${status(data['status'])}`;
    case 'apply_failed':
      return `apply failed (${text(data['mode'])}): ${text(data['failed_items'])} item(s) failed, nothing changed`;
    case 'rollback':
      return `rolled back ${text(data['rolled_back_items'])} item(s)${data['force'] ? ' (forced)' : ''}${reason(data)}`;
    case 'policy_evaluation':
      return `policies evaluated for ${text(data['action'])}${data['denied'] ? ': denied' : ''}`;
    case 'approval_reminder':
      return 'approval reminder sent';
    case 'approval_escalation':
      return 'approval escalated';
    default:
      return words(entry.action);
  }
}

export function Timeline({ entries }: { entries: AuditEntry[] }) {
  if (entries.length === 0) return <p className="muted">No entries yet.</p>;
  return (
    <ol className="timeline">
      {entries.map((entry) => (
        <li key={entry.seq}>
          <time dateTime={entry.at}>{formatDateTime(entry.at)}</time>
          <span className="timeline-what">
            <strong>{entry.actor}</strong> {describeEntry(entry)}
          </span>
        </li>
      ))}
    </ol>
  );
}
