// A refusal or failure in plain words, once (lib/refusal.ts): the sentence, the fix the server
// suggests if any, details that add something, and the code in small print.
import type { ApiError } from '../lib/api.js';
import { describeRefusal } from '../lib/refusal.js';

export function ErrorNotice({ error, title }: { error: ApiError; title?: string }) {
  const refusal = describeRefusal(error);
  return (
    <div className="notice notice-error" role="alert">
      <p className="notice-message">
        {title && <strong className="notice-title">{title}: </strong>}
        {refusal.sentence}
      </p>
      {refusal.fix && <p className="notice-fix">{refusal.fix}</p>}
      {refusal.details.length > 0 && (
        <ul className="notice-details">
          {refusal.details.map((detail, index) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: details have no identity of their own
            <li key={index}>
              {detail.path ? <code>{detail.path}</code> : null} {detail.message}
            </li>
          ))}
        </ul>
      )}
      {error.fix && <p className="notice-fix">{error.fix}</p>}
      <p className="notice-code">
        <small>{refusal.code}</small>
      </p>
    </div>
  );
}
