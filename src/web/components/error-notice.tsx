// A refusal or failure in plain words: the API's own message first, its details, what to do about
// it (the fix), and its code in small print.
import type { ApiError } from '../lib/api.js';

export function ErrorNotice({ error, title }: { error: ApiError; title?: string }) {
  const details = error.details.filter((d) => d.message);
  return (
    <div className="notice notice-error" role="alert">
      {title && <strong className="notice-title">{title}</strong>}
      <p className="notice-message">{error.message}</p>
      {details.length > 0 && (
        <ul className="notice-details">
          {details.map((detail, index) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: details have no identity of their own
            <li key={index}>
              {detail.path ? <code>{detail.path}</code> : null} {detail.message}
            </li>
          ))}
        </ul>
      )}
      {error.fix && <p className="notice-fix">{error.fix}</p>}
      <p className="notice-code">
        {error.status > 0 ? `HTTP ${error.status} · ` : ''}
        {error.code}
      </p>
    </div>
  );
}
