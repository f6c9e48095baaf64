// The "viewed" marks in this browser's localStorage (lib/viewed.ts says what is stored).
import { parseViewed, serializeViewed, viewedKey } from './viewed.js';

export function loadViewed(reviewer: string, changeSetId: string, contentHash: string): Set<string> {
  try {
    return parseViewed(window.localStorage.getItem(viewedKey(reviewer, changeSetId)), contentHash);
  } catch {
    return new Set(); // storage disabled
  }
}

export function saveViewed(reviewer: string, changeSetId: string, contentHash: string, items: ReadonlySet<string>) {
  try {
    window.localStorage.setItem(viewedKey(reviewer, changeSetId), serializeViewed(items, contentHash));
  } catch {
    // storage full or disabled: the marks last as long as the page
  }
}
