// A Server-Sent Events client for tests: fetch, parse the stream as it comes, wait for events.
export interface SseEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

export interface SseClient {
  status: number;
  events: SseEvent[];
  comments: string[];
  /** Resolves when the server ends the stream (or the client aborts it). */
  ended: Promise<void>;
  /** Waits until `predicate(events)` holds; fails with what arrived after `timeoutMs`. */
  waitFor(predicate: (events: SseEvent[]) => boolean, timeoutMs?: number): Promise<SseEvent[]>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string>): Promise<SseClient> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const parseBlock = (block: string) => {
    const fields: Record<string, string> = {};
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) comments.push(line.slice(1).trim());
      else if (line.includes(':')) {
        const at = line.indexOf(':');
        const value = line.slice(at + 1).replace(/^ /, '');
        const name = line.slice(0, at);
        fields[name] = name === 'data' && fields[name] !== undefined ? `${fields[name]}\n${value}` : value;
      }
    }
    if (fields['data'] !== undefined)
      events.push({ id: Number(fields['id']), event: fields['event'] ?? 'message', data: JSON.parse(fields['data']) });
  };
  const ended = (async () => {
    if (!response.body) return;
    const decoder = new TextDecoder();
    let text = '';
    try {
      for await (const chunk of response.body) {
        text += decoder.decode(chunk as Uint8Array, { stream: true });
        for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
          parseBlock(text.slice(0, end));
          text = text.slice(end + 2);
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return {
    status: response.status,
    events,
    comments,
    ended,
    async waitFor(predicate, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(events)) {
        if (Date.now() > deadline)
          throw new Error(`timed out; received ${JSON.stringify(events.map((e) => [e.id, e.event]))}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return events;
    },
    close() {
      abort.abort();
    },
  };
}

/** Polls until `check` returns true (or fails after `timeoutMs`). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
