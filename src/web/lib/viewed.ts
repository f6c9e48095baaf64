// "Viewed" marks on the items of a change-set, per reviewer, kept in this browser's localStorage.
// A mark holds for the content it was made on: an edit (a new content hash) clears them.

export const viewedKey = (reviewer: string, changeSetId: string): string =>
  `changeledger.viewed.${reviewer}.${changeSetId}`;

interface Stored {
  content_hash: string;
  items: string[];
}

/** The item ids marked viewed on this content, from what was stored (anything unreadable counts as none). */
export function parseViewed(raw: string | null, contentHash: string): Set<string> {
  if (!raw) return new Set();
  try {
    const stored = JSON.parse(raw) as Partial<Stored>;
    if (stored.content_hash !== contentHash || !Array.isArray(stored.items)) return new Set();
    return new Set(stored.items.filter((id): id is string => typeof id === 'string'));
  } catch {
    return new Set();
  }
}

export const serializeViewed = (items: ReadonlySet<string>, contentHash: string): string =>
  JSON.stringify({ content_hash: contentHash, items: [...items].sort() } satisfies Stored);
