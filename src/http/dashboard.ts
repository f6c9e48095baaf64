// The review dashboard: its built static files (src/web → dist/web) and the page every dashboard
// route answers with (the app routes in the browser). Public by docs/design.md#identity-and-access: no data without a token.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const here = dirname(fileURLToPath(import.meta.url));

/** dist/web beside dist/http; run from src/ (tests, tsx), the build's dist/web of the repository. */
export const DEFAULT_WEB_ROOT =
  basename(dirname(here)) === 'src' ? join(here, '..', '..', 'dist', 'web') : join(here, '..', 'web');

/** The routes the dashboard handles in the browser (deep links from notifications included). */
const DASHBOARD_ROUTES = [
  '/',
  '/queue',
  '/changesets',
  '/changesets/:id',
  '/resources',
  '/resources/*',
  // An agent's track record and earned trust (docs/trust.md).
  '/agents/:id',
  '/overview',
  // Where an enrolment's redeem_url leads (the code rides in the fragment, never sent here).
  '/enrol',
  // Where single sign-on hands the dashboard its token (in the fragment, never sent here).
  '/signed-in',
];

// Everything the page loads comes from this server; the token only ever travels in a header.
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-cache',
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>changeledger</title></head>
<body><main><h1>changeledger</h1>
<p>The dashboard is not built. Run <code>npm run build</code> and restart the server.</p>
<p>The API is at <a href="/docs">/docs</a>.</p></main></body></html>
`;

// An Accept header a browser sends for a page: text/html, text/* or any type, or none at all.
function acceptsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  if (!accept) return true;
  return /(^|,)\s*(text\/html|text\/\*|\*\/\*)\s*(;|,|$)/i.test(accept);
}

export async function registerDashboard(app: FastifyInstance, webRoot: string): Promise<void> {
  const indexFile = join(webRoot, 'index.html');
  const built = existsSync(indexFile);
  // Read once: the built page does not change while the process runs.
  const page = built ? readFileSync(indexFile, 'utf8') : NOT_BUILT;

  const sendPage = (request: FastifyRequest, reply: FastifyReply) => {
    if (!acceptsHtml(request)) return reply.callNotFound();
    return reply.status(200).headers(PAGE_HEADERS).send(page);
  };
  for (const url of DASHBOARD_ROUTES) app.get(url, { schema: { hide: true } }, sendPage);

  const assets = join(webRoot, 'assets');
  if (built && existsSync(assets)) {
    await app.register(fastifyStatic, {
      root: assets,
      prefix: '/assets/',
      decorateReply: false,
      index: false,
      // File names carry a content hash: a new build is a new name.
      immutable: true,
      maxAge: '365d',
      schemaHide: true,
    });
  }
}
