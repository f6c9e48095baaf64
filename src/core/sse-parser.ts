// A Server-Sent Events parser (the WHATWG event-stream format): the dashboard reads the stream
// with fetch, because EventSource cannot send the Authorization header.

export interface SseMessage {
  /** The `id:` of the message, or the last one seen before it (null if none yet). */
  id: string | null;
  event: string;
  data: string;
}

export class SseParser {
  private pending = '';
  private data: string[] = [];
  private event = '';
  private lastId: string | null = null;
  /** The server's `retry:` advice in milliseconds, if it gave one. */
  retryMs: number | null = null;

  /** Feeds a chunk of text; returns the messages it completed. */
  push(chunk: string): SseMessage[] {
    this.pending += chunk;
    const messages: SseMessage[] = [];
    // A line ends at \r\n, \n or \r; a trailing \r may be the first half of \r\n, so it waits.
    const pattern = /\r\n|\n|\r(?!$)/g;
    let start = 0;
    for (let match = pattern.exec(this.pending); match; match = pattern.exec(this.pending)) {
      const message = this.line(this.pending.slice(start, match.index));
      if (message) messages.push(message);
      start = match.index + match[0].length;
    }
    this.pending = this.pending.slice(start);
    return messages;
  }

  private line(line: string): SseMessage | null {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.lastId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    return null;
  }

  private dispatch(): SseMessage | null {
    const message =
      this.data.length > 0 ? { id: this.lastId, event: this.event || 'message', data: this.data.join('\n') } : null;
    this.data = [];
    this.event = '';
    return message;
  }
}
