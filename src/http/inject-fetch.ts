// A fetch that answers from a Fastify app in-process (app.inject), never opening a socket: what
// lets the typed client (src/client) call the server it runs in, as the MCP server does. The
// request goes through every hook and route as over HTTP; the answer streams, so an event stream
// works too. Only the path and query of the URL matter: the host is ignored.
import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';

type InjectMethod = 'DELETE' | 'GET' | 'HEAD' | 'PATCH' | 'POST' | 'PUT' | 'OPTIONS';

export function injectFetch(app: FastifyInstance): (request: Request) => Promise<Response> {
  return async (request) => {
    const url = new URL(request.url);
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const payload = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
    const answer = await app.inject({
      method: request.method.toUpperCase() as InjectMethod,
      url: `${url.pathname}${url.search}`,
      headers,
      ...(payload !== undefined ? { payload } : {}),
      signal: request.signal,
      payloadAsStream: true,
    });
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value === undefined) continue;
      for (const one of Array.isArray(value) ? value : [value]) responseHeaders.append(name, String(one));
    }
    const empty = answer.statusCode === 204 || answer.statusCode === 304 || request.method.toUpperCase() === 'HEAD';
    const body = empty ? null : webStream(answer.stream());
    return new Response(body, {
      status: answer.statusCode,
      statusText: answer.statusMessage,
      headers: responseHeaders,
    });
  };
}

/**
 * The answer's body as a web stream that may be cancelled unread. A client that sends a request
 * again (after a 503 or 429) cancels the body of the answer it drops; Node 20's Readable.toWeb then
 * still enqueues the chunks that follow, which throws outside any caller ("Controller is already
 * closed") and ends the process. Here a cancel stops the source and everything after it is ignored.
 */
function webStream(source: Readable): ReadableStream<Uint8Array> {
  let done = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      source.on('data', (chunk: Buffer | string) => {
        if (done) return;
        controller.enqueue(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
        if ((controller.desiredSize ?? 1) <= 0) source.pause();
      });
      source.once('end', () => {
        if (done) return;
        done = true;
        controller.close();
      });
      source.once('error', (error) => {
        if (done) return;
        done = true;
        controller.error(error);
      });
    },
    pull() {
      source.resume();
    },
    cancel() {
      done = true;
      source.destroy();
    },
  });
}
