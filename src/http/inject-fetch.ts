// A fetch that answers from a Fastify app in-process (app.inject), never opening a socket: what
// lets the typed client (src/client) call the server it runs in, as the MCP server does. The
// request goes through every hook and route as over HTTP; the answer streams, so an event stream
// works too. Only the path and query of the URL matter: the host is ignored.
import { Readable } from 'node:stream';
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
    const body = empty ? null : (Readable.toWeb(answer.stream()) as ReadableStream<Uint8Array>);
    return new Response(body, {
      status: answer.statusCode,
      statusText: answer.statusMessage,
      headers: responseHeaders,
    });
  };
}
