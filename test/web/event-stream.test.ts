// The dashboard's event-stream reader: the token in a header, and after a drop a reconnect that
// resumes with Last-Event-ID and tells the page to catch up.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connectEventStream, type StreamState } from '../../src/web/lib/event-stream.js';
import type { LedgerEvent } from '../../src/web/lib/types.js';

const frame = (id: number, type: string) =>
  `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify({ id, type, actor: 'sec-lead', change_set: null, data: {} })}\n\n`;

/** A response whose body sends `chunks`, then ends (the connection drops). */
const stream = (chunks: string[], status = 200) =>
  new Response(
    new ReadableStream({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
        controller.close();
      },
    }),
    { status, headers: { 'content-type': 'text/event-stream' } },
  );

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('connectEventStream', () => {
  it('sends the token in a header and resumes after the last event it saw', async () => {
    const calls: { url: string; headers: Record<string, string> }[] = [];
    const responses = [stream(['retry: 5\n\n', frame(7, 'changeset.approved'), frame(8, 'changeset.applied')])];
    vi.stubGlobal('fetch', async (url: string, init: { headers: Record<string, string> }) => {
      calls.push({ url, headers: init.headers });
      return responses.shift() ?? new Promise(() => {}); // the second connection stays open
    });
    const events: LedgerEvent[] = [];
    const states: StreamState[] = [];
    let resyncs = 0;
    const close = connectEventStream('secret-token', {
      onEvent: (event) => events.push(event),
      onState: (state) => states.push(state),
      onResync: () => resyncs++,
    });
    await vi.waitFor(() => expect(calls).toHaveLength(2), { timeout: 20_000 });
    close();
    expect(events.map((e) => [e.id, e.type])).toEqual([
      [7, 'changeset.approved'],
      [8, 'changeset.applied'],
    ]);
    expect(calls.map((c) => c.url)).toEqual(['/api/ledger/events', '/api/ledger/events']);
    expect(calls[0]!.headers).toEqual({ authorization: 'Bearer secret-token', accept: 'text/event-stream' });
    expect(calls[1]!.headers['last-event-id']).toBe('8');
    expect(states.slice(0, 3)).toEqual(['connecting', 'live', 'reconnecting']);
    expect(resyncs).toBe(0); // the second connection has not opened yet
  });

  it('stops for good when the token is refused', async () => {
    let calls = 0;
    vi.stubGlobal('fetch', async () => {
      calls++;
      return stream([], 401);
    });
    const states: StreamState[] = [];
    connectEventStream('revoked', { onEvent: () => {}, onState: (s) => states.push(s), onResync: () => {} });
    await vi.waitFor(() => expect(states).toContain('unauthorized'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls).toBe(1);
  });
});
