// POST /api/ledger/integrations/slack/interactions: Slack's interactivity request URL (issue 16).
// It carries no bearer token; Slack's request signature is its credential (http/slack-signature.ts),
// checked on the raw form body before anything is parsed or stored, and each signature is accepted
// once. What a verified interaction does is in http/slack-interactions.ts.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { LedgerError } from '../../core/errors.js';
import { Nullable } from '../../core/schema-kit.js';
import type { Engine } from '../../engine/index.js';
import type { SlackApp } from '../../notify/slack-api.js';
import { operation } from '../openapi.js';
import { SlackInteractions } from '../slack-interactions.js';
import { SLACK_WINDOW_SECONDS, slackRefusal, verifySlackRequest } from '../slack-signature.js';

export const SLACK_INTERACTIONS_PATH = '/integrations/slack/interactions';

/** A Slack app that answers buttons: its signing secret and the bot that updates its messages. */
export type InteractiveSlackApp = SlackApp & { signing_secret: string };

/** What Slack is answered: nothing (an empty body), or the errors of the reject dialog. */
const SlackAnswer = Nullable(
  Type.Object({ response_action: Type.Literal('errors'), errors: Type.Record(Type.String(), Type.String()) }),
);

/** Slack's interaction payloads are small; a larger body is not Slack's. */
const BODY_LIMIT = 1024 * 1024;

export function slackRoutes(
  api: FastifyInstance,
  engine: Engine,
  options: { apps: readonly InteractiveSlackApp[]; dashboardUrl: string },
): void {
  // In a scope of its own: the form parser serves this route only, every other route stays JSON.
  api.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
      done(null, body),
    );
    scope.post(
      SLACK_INTERACTIONS_PATH,
      {
        bodyLimit: BODY_LIMIT,
        schema: operation('POST', {
          operationId: 'slackInteraction',
          tags: ['integrations'],
          summary: "Slack's interactivity request URL (Approve / Reject buttons)",
          description:
            "Authenticated by Slack's request signature (X-Slack-Signature, X-Slack-Request-Timestamp), not a bearer token. " +
            'Form-encoded `payload`, as Slack sends it. See docs/integrations.md.',
          public: true,
          answers: {
            200: {
              description: 'Acknowledged: no body, or the errors the reject dialog shows',
              schema: SlackAnswer,
            },
          },
          refusals: ['NOT_FOUND', 'UNAUTHENTICATED'],
        }),
      },
      async (request, reply) => {
        if (options.apps.length === 0)
          throw new LedgerError('NOT_FOUND', 'Slack interactivity is not configured on this server (signing_secret)');
        const raw = typeof request.body === 'string' ? request.body : '';
        const now = engine.now();
        const { app, signature } = verifySlackRequest(options.apps, request.headers, raw, now);
        // Kept twice the window: a signature is refused as a replay for as long as its timestamp passes.
        if (!(await engine.claimSlackRequest(signature, 2 * SLACK_WINDOW_SECONDS)))
          throw slackRefusal(
            'this Slack request was already received: a replay is refused',
            'Nothing to do: the first delivery of this request was received and acted on, and repeats of it never act again.',
          );
        const payload = new URLSearchParams(raw).get('payload');
        let parsed: unknown;
        try {
          parsed = JSON.parse(payload ?? '');
        } catch {
          throw new LedgerError('VALIDATION_FAILED', 'the body must be form-encoded with a JSON `payload`', [
            { path: 'payload', message: 'must be JSON' },
          ]);
        }
        const interactions = new SlackInteractions(engine, app, {
          dashboardUrl: options.dashboardUrl,
          log: request.log,
        });
        const { body, followUp } = await interactions.handle(parsed);
        // Slack waits 3 s for this answer: the messages to Slack go out after it.
        if (followUp) void followUp().catch((error) => request.log.error({ err: error }, 'slack interaction failed'));
        return body === null ? reply.status(200).send() : reply.status(200).send(body);
      },
    );
  });
}
