// Serving a Server-Sent Events stream: the response head, writes with back-pressure (a client too
// far behind is cut off and resumes with Last-Event-ID), a heartbeat comment, and an end when the
// bearer token stops authenticating or the server closes. Routes supply only what they stream.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bearer } from './auth.js';
import type { StreamCredentialWatch } from './stream-credentials.js';

export interface SseOptions {
  /** Interval of the `: heartbeat` comment that keeps proxies from closing an idle stream. */
  heartbeatMs: number;
  /** A client this far behind is cut off; it reconnects with Last-Event-ID and catches up. */
  maxBufferedBytes?: number;
  /** The app's watch of open streams' tokens (stream-credentials.ts): a stream ends with its token. */
  credentials: StreamCredentialWatch;
}

export interface SseWriter {
  /** Writes raw event-stream text; a promise when the client must drain first. */
  write(text: string): undefined | Promise<void>;
  end(): void;
}

/** What a route streams: started once the response is open; `close` is called when it ends. */
export type SseSource = (sse: SseWriter) => Promise<{ close(): void }>;

const ENDED_BY_CREDENTIALS = ': the token was revoked or its principal deactivated\n\n';

/** One `id` / `event` / `data` frame (`id` left out when null). */
export const sseFrame = (id: number | null, event: string, data: unknown): string =>
  `${id === null ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

function startSse(reply: FastifyReply, maxBufferedBytes: number) {
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 2000\n\n');
  const end = () => {
    if (!res.writableEnded) res.end();
  };
  const write = (text: string): undefined | Promise<void> => {
    if (res.writableEnded || res.destroyed) return undefined;
    if (res.write(text)) return undefined;
    if (res.writableLength > maxBufferedBytes) {
      end();
      return undefined;
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  };
  return { res, write, end };
}

/**
 * The SSE plumbing shared by every stream of one app: returns `serve`, which hijacks a request's
 * reply and runs a source on it until the client goes, the token stops authenticating or the app closes.
 */
export function sseStreams(app: FastifyInstance, options: SseOptions) {
  const open = new Set<() => void>();
  const { credentials } = options;
  // Open streams never finish on their own: end them, or closing the server would wait for ever.
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  return async function serve(request: FastifyRequest, reply: FastifyReply, source: SseSource): Promise<void> {
    reply.hijack();
    const sse = startSse(reply, options.maxBufferedBytes ?? 8 * 1024 * 1024);
    let stream: { close(): void } | null = null;
    const heartbeat = setInterval(() => sse.write(': heartbeat\n\n'), options.heartbeatMs);
    // The auth hook accepted this bearer token: the stream lives as long as it authenticates.
    const token = bearer(request);
    const unwatch = token
      ? credentials.add(token, () => {
          sse.write(ENDED_BY_CREDENTIALS);
          sse.end();
        })
      : () => {};
    const cleanUp = () => {
      clearInterval(heartbeat);
      stream?.close();
      unwatch();
      open.delete(sse.end);
    };
    open.add(sse.end);
    sse.res.on('close', cleanUp);
    try {
      stream = await source({ write: sse.write, end: sse.end });
      if (sse.res.destroyed || sse.res.writableEnded) cleanUp();
    } catch (error) {
      request.log.error({ err: error }, 'event stream replay failed');
      sse.end();
    }
  };
}
