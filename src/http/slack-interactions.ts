// What a verified Slack interaction does (issue 16). An Approve button decides at once; a Reject
// button opens a modal asking for the reason, whose submission decides. Each decision goes through
// the engine's decide like the API's (eligibility, separation of duties, and the content hash the
// button carries: a message about content that changed since is answered with what changed). The
// Slack user is the principal whose slack_id it is. After a decision the message is updated in place;
// a refusal is told to the user alone (an ephemeral message, or an error in the modal).
import type { FastifyBaseLogger } from 'fastify';
import { LedgerError } from '../core/errors.js';
import type { ChangeSet, Decision, Principal } from '../core/types.js';
import type { Engine } from '../engine/index.js';
import { type DecisionBinding, escapeSlack, renderMessage, SLACK_ACTIONS, slackPayload } from '../notify/messages.js';
import { callSlack, type SlackApp } from '../notify/slack-api.js';

/** The modal's `callback_id`, and the block and element ids of its reason input. */
export const REJECT_VIEW = 'changeledger_reject';
const REASON = 'reason';
/** Slack waits 3 s for the answer; the Web API calls after it get a little less each. */
const SLACK_CALL_MS = 2_500;

/** Where the message being answered is: its channel and timestamp. */
interface MessageRef {
  channel: string | null;
  ts: string | null;
}

/** What the endpoint answers Slack, and what it does once it has answered. */
export interface InteractionOutcome {
  body: Record<string, unknown> | null;
  followUp?: () => Promise<void>;
}

type Obj = Record<string, unknown>;
const obj = (value: unknown): Obj => (value !== null && typeof value === 'object' ? (value as Obj) : {});
const str = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

function safeParse(value: unknown): unknown {
  try {
    return JSON.parse(String(value));
  } catch {
    return null;
  }
}

/** The change-set and content hash a button's value (or the modal's metadata) carries. */
function bindingOf(value: Obj): DecisionBinding | null {
  const id = str(value['id']);
  const hash = str(value['content_hash']);
  return id && hash ? { id, content_hash: hash } : null;
}

const invalid = (message: string) =>
  new LedgerError('VALIDATION_FAILED', `not a Slack interaction we sent: ${message}`);

export class SlackInteractions {
  constructor(
    private readonly engine: Engine,
    private readonly app: SlackApp,
    private readonly options: { dashboardUrl: string; log: FastifyBaseLogger },
  ) {}

  async handle(payload: unknown): Promise<InteractionOutcome> {
    const p = obj(payload);
    if (p['type'] === 'block_actions') return this.blockAction(p);
    if (p['type'] === 'view_submission' && obj(p['view'])['callback_id'] === REJECT_VIEW)
      return this.rejectSubmitted(p);
    // Anything else (the Review link's click, a closed modal): nothing to do.
    return { body: null };
  }

  private async blockAction(p: Obj): Promise<InteractionOutcome> {
    const action = obj((Array.isArray(p['actions']) ? p['actions'] : [])[0]);
    const id = action['action_id'];
    if (id !== SLACK_ACTIONS.approve && id !== SLACK_ACTIONS.reject) return { body: null };
    const binding = bindingOf(obj(safeParse(action['value'])));
    if (!binding) throw invalid('the button carries no change-set and content hash');
    const user = str(obj(p['user'])['id']);
    if (!user) throw invalid('no user');
    const container = obj(p['container']);
    const where: MessageRef = {
      channel: str(obj(p['channel'])['id']) ?? str(container['channel_id']),
      ts: str(obj(p['message'])['ts']) ?? str(container['message_ts']),
    };
    const principal = await this.principalOf(user);
    if (typeof principal === 'string') return { body: null, followUp: () => this.tell(where, user, principal) };
    if (id === SLACK_ACTIONS.approve) {
      const outcome = await this.decide(principal, binding, 'APPROVED', null);
      return {
        body: null,
        followUp: () =>
          outcome instanceof LedgerError
            ? this.tell(where, user, outcome.message)
            : this.update(where, outcome, principal, 'APPROVED', null),
      };
    }
    const triggerId = str(p['trigger_id']);
    if (!triggerId) throw invalid('no trigger_id');
    return { body: null, followUp: () => this.openRejectModal(triggerId, binding, where) };
  }

  private async rejectSubmitted(p: Obj): Promise<InteractionOutcome> {
    const view = obj(p['view']);
    const meta = obj(safeParse(view['private_metadata']));
    const binding = bindingOf(meta);
    if (!binding) throw invalid('the modal carries no change-set and content hash');
    const where: MessageRef = { channel: str(meta['channel']), ts: str(meta['ts']) };
    const reason = str(obj(obj(obj(obj(view['state'])['values'])[REASON])[REASON])['value']);
    const user = str(obj(p['user'])['id']);
    if (!user) throw invalid('no user');
    const principal = await this.principalOf(user);
    if (typeof principal === 'string') return { body: modalError(principal) };
    const outcome = await this.decide(principal, binding, 'REJECTED', reason);
    if (outcome instanceof LedgerError) return { body: modalError(outcome.message) };
    // An empty answer closes the modal.
    return { body: null, followUp: () => this.update(where, outcome, principal, 'REJECTED', reason) };
  }

  /** The principal whose slack_id `user` is, or what to tell the user when there is not exactly one. */
  private async principalOf(user: string): Promise<Principal | string> {
    const found = await this.engine.principalsWithSlackId(user);
    const [only, ...others] = found;
    if (only !== undefined && others.length === 0) return only;
    return found.length === 0
      ? `Your Slack account (${user}) is not linked to an active changeledger principal: ask an admin to set your slack_id. Nothing was decided.`
      : `Your Slack account (${user}) is the slack_id of more than one principal: ask an admin to fix it. Nothing was decided.`;
  }

  /** The engine's decision, or its refusal (any other error is a bug and propagates). */
  private async decide(
    principal: Principal,
    binding: DecisionBinding,
    decision: Decision,
    reason: string | null,
  ): Promise<ChangeSet | LedgerError> {
    try {
      return await this.engine.decide(principal, binding.id, { decision, reason, content_hash: binding.content_hash });
    } catch (error) {
      if (error instanceof LedgerError) return error;
      throw error;
    }
  }

  private async openRejectModal(triggerId: string, binding: DecisionBinding, where: MessageRef): Promise<void> {
    await this.call('views.open', {
      trigger_id: triggerId,
      view: {
        type: 'modal',
        callback_id: REJECT_VIEW,
        private_metadata: JSON.stringify({ ...binding, ...where }),
        title: { type: 'plain_text', text: 'Reject change-set' },
        submit: { type: 'plain_text', text: 'Reject' },
        close: { type: 'plain_text', text: 'Cancel' },
        blocks: [
          {
            type: 'input',
            block_id: REASON,
            label: { type: 'plain_text', text: 'Why do you reject it?' },
            element: { type: 'plain_text_input', action_id: REASON, multiline: true, max_length: 2000 },
          },
        ],
      },
    });
  }

  /** The message, updated in place: the decision, who made it, and where the change-set stands now. */
  private async update(
    where: MessageRef,
    cs: ChangeSet,
    by: Principal,
    decision: Decision,
    reason: string | null,
  ): Promise<void> {
    if (!where.channel || !where.ts) return;
    const message = renderMessage(
      {
        id: 0,
        type: 'changeset.approval_decision',
        actor: by.id,
        change_set: {
          id: cs.id,
          change_set_id: cs.change_set_id,
          title: cs.title,
          status: cs.status,
          category: cs.category,
          priority: cs.priority,
          agent_id: cs.agent_id,
        },
        data: {
          approver_id: by.id,
          decision,
          reason,
          received_approvals: cs.received_approvals,
          required_approvals: cs.required_approvals,
        },
      },
      { dashboardUrl: this.options.dashboardUrl },
    );
    const payload = slackPayload(message);
    const outcome = `${decision === 'APPROVED' ? 'Approved' : 'Rejected'} in Slack by ${escapeSlack(by.id)}: the change-set is now ${cs.status}`;
    await this.call('chat.update', {
      channel: where.channel,
      ts: where.ts,
      text: payload.text,
      blocks: [...payload.blocks, { type: 'context', elements: [{ type: 'mrkdwn', text: outcome }] }],
    });
  }

  /** A message only `user` sees, in the conversation of the message they acted on. */
  private async tell(where: MessageRef, user: string, text: string): Promise<void> {
    if (!where.channel) return;
    await this.call('chat.postEphemeral', { channel: where.channel, user, text: escapeSlack(text) });
  }

  /** A Web API call after the answer to Slack: a failure is logged, the decision stands. */
  private async call(method: Parameters<typeof callSlack>[1], body: Record<string, unknown>): Promise<void> {
    try {
      await callSlack(this.app, method, body, AbortSignal.timeout(SLACK_CALL_MS));
    } catch (error) {
      this.options.log.warn({ err: error }, `slack interaction: ${method} failed`);
    }
  }
}

/** The answer to a modal submission that keeps it open with `message` under the reason. */
const modalError = (message: string) => ({ response_action: 'errors', errors: { [REASON]: message } });
