// The live connection to GET /api/ledger/events: fetch with the token in a header, the body read
// as a stream, and on a drop a reconnect that sends Last-Event-ID so nothing in between is lost.

import { SseParser } from '../../core/sse-parser.js';
import { API_BASE } from './api.js';
import type { LedgerEvent } from './types.js';

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'unauthorized' | 'closed';

export interface EventStreamHandlers {
  onEvent(event: LedgerEvent): void;
  onState(state: StreamState): void;
  /** A connection opened after a drop: whatever the page shows may be stale. */
  onResync(): void;
}

const MAX_BACKOFF_MS = 30_000;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** Opens the stream and keeps it open until the returned function is called. */
export function connectEventStream(token: string, handlers: EventStreamHandlers): () => void {
  const controller = new AbortController();
  const { signal } = controller;
  let lastId: string | null = null;
  let failures = 0;

  async function readOnce(parser: SseParser): Promise<'again' | 'stop'> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'text/event-stream' };
    if (lastId !== null) headers['last-event-id'] = lastId;
    const response = await fetch(`${API_BASE}/events`, { headers, signal });
    if (response.status === 401) {
      handlers.onState('unauthorized');
      return 'stop';
    }
    if (!response.ok || !response.body) return 'again';
    handlers.onState('live');
    if (failures > 0) handlers.onResync();
    failures = 0;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return 'again';
      for (const message of parser.push(value)) {
        if (message.id !== null) lastId = message.id;
        if (message.event === 'message' || !message.data) continue;
        try {
          handlers.onEvent(JSON.parse(message.data) as LedgerEvent);
        } catch {
          // a malformed frame is skipped; the next one is read as usual
        }
      }
    }
  }

  void (async () => {
    handlers.onState('connecting');
    while (!signal.aborted) {
      const parser = new SseParser();
      let outcome: 'again' | 'stop' = 'again';
      try {
        outcome = await readOnce(parser);
      } catch {
        // network error or abort: decided below
      }
      if (signal.aborted || outcome === 'stop') break;
      failures += 1;
      handlers.onState('reconnecting');
      const advised = parser.retryMs ?? 2_000;
      await sleep(Math.min(MAX_BACKOFF_MS, advised * 2 ** Math.min(failures - 1, 4)), signal);
    }
    if (signal.aborted) handlers.onState('closed');
  })();
  return () => controller.abort();
}
