// The dashboard's Server-Sent Events parser: frames split anywhere, every line ending, comments.
import { describe, expect, it } from 'vitest';
import { SseParser } from '../../src/core/sse-parser.js';

const STREAM =
  'retry: 2000\n\n: heartbeat\n\nid: 7\nevent: changeset.applied\ndata: {"id":7}\n\nid: 8\nevent: changeset.rolled_back\ndata: {"id":\ndata: 8}\n\n';

/** Feeds `text` in chunks of `size` characters and collects the messages. */
function parse(text: string, size: number) {
  const parser = new SseParser();
  const messages = [];
  for (let at = 0; at < text.length; at += size) messages.push(...parser.push(text.slice(at, at + size)));
  return { messages, retryMs: parser.retryMs };
}

describe('SseParser', () => {
  it.each([1, 2, 3, 7, 1000])('reads the same messages from chunks of %i characters', (size) => {
    expect(parse(STREAM, size)).toEqual({
      retryMs: 2000,
      messages: [
        { id: '7', event: 'changeset.applied', data: '{"id":7}' },
        { id: '8', event: 'changeset.rolled_back', data: '{"id":\n8}' },
      ],
    });
  });

  it.each([
    ['\r\n', 'CRLF'],
    ['\r', 'CR'],
  ])('accepts %j line endings (%s), even split between chunks', (ending) => {
    // A CR last in what has arrived may be half of a CRLF: it counts once the next character is in
    // (on a live stream, the next heartbeat at the latest).
    const text = `${STREAM}: heartbeat\n`.replaceAll('\n', ending);
    for (const size of [1, 2, 5]) expect(parse(text, size).messages.map((m) => m.id)).toEqual(['7', '8']);
  });

  it('keeps the last id for messages without one and ignores unknown fields and data-less frames', () => {
    const { messages } = parse('id: 3\nfoo: bar\n\nevent: x\ndata\n\ndata:no space\n\n', 4);
    expect(messages).toEqual([
      { id: '3', event: 'x', data: '' },
      { id: '3', event: 'message', data: 'no space' },
    ]);
  });

  it('holds an unfinished message until its blank line arrives', () => {
    const parser = new SseParser();
    expect(parser.push('id: 1\ndata: a\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ id: '1', event: 'message', data: 'a' }]);
  });
});
