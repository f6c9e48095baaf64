// A refusal from the API as one sentence a person reads: the server's message, said once (details
// that only repeat it are dropped), with a status change told in words, and the fix it suggests.
import type { ApiError } from './api.js';
import { words } from './format.js';

export interface Refusal {
  sentence: string;
  /** Details that add something to the sentence. */
  details: { path?: string; message: string }[];
  fix: string | null;
  /** "HTTP 409 · INVALID_TRANSITION", for small print. */
  code: string;
}

const sentence = (text: string) => (/[.!?]$/.test(text) ? text : `${text}.`);

export function describeRefusal(
  error: Pick<ApiError, 'status' | 'code' | 'message' | 'details'> & { fix?: string | null },
): Refusal {
  const first = error.details[0];
  let text = error.message;
  if (
    error.code === 'INVALID_TRANSITION' &&
    first &&
    typeof first['status'] === 'string' &&
    Array.isArray(first['allowed'])
  ) {
    const allowed = (first['allowed'] as unknown[]).map((s) => words(String(s)));
    text = `the change-set is ${words(first['status'])} now, and this needs it to be ${allowed.join(' or ')}`;
  }
  const seen = text.toLowerCase();
  const details = error.details.flatMap((d) =>
    d.message &&
    !seen.includes(d.message.toLowerCase()) &&
    !error.message.toLowerCase().includes(d.message.toLowerCase())
      ? [{ ...(d.path ? { path: d.path } : {}), message: d.message }]
      : [],
  );
  return {
    sentence: sentence(text),
    details,
    fix: error.fix ?? null,
    code: `${error.status > 0 ? `HTTP ${error.status} · ` : ''}${error.code}`,
  };
}
