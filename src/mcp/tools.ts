// The MCP tools: what each takes, answers and does, in the words an agent reads. Each one is a call
// (or two) of the typed client, so a tool does exactly what the API does for the same token:
// every rule, refusal and audit entry is the server's, none is the tool's.

import {
  type ApplyBody,
  type ChangeSetBody,
  isRefusal,
  type LedgerClient,
  type ListQuery,
  type RollbackBody,
} from '../client/index.js';
import { type ApiSchemas, extendObject, type JsonSchema, objectSchema } from './api-schemas.js';
import type { McpToolName } from './tool-names.js';

export interface ToolAnswer {
  /** The structured result (the tool's output schema). */
  result: Record<string, unknown>;
  /** One line saying what happened, for a person reading along. */
  summary: string;
}

export interface ToolDefinition {
  name: McpToolName;
  title: string;
  description: string;
  input: JsonSchema;
  output: JsonSchema;
  annotations: { readOnlyHint: boolean; destructiveHint?: boolean; idempotentHint?: boolean };
  run(client: LedgerClient, args: Record<string, unknown>, signal: AbortSignal): Promise<ToolAnswer>;
}

/** Seconds wait_for_decision blocks by default, and at most. */
export const WAIT_DEFAULT_S = 45;
export const WAIT_MAX_S = 300;

const str = (value: unknown): string => String(value);

type ChangeSetLike = { change_set_id?: unknown; status?: unknown; risk?: { level?: unknown; score?: unknown } };
const line = (verb: string, cs: ChangeSetLike): string =>
  `${verb} ${str(cs.change_set_id)}: status ${str(cs.status)}` +
  (cs.risk ? `, risk ${str(cs.risk.level)} (${str(cs.risk.score)})` : '');

export function toolDefinitions(api: ApiSchemas): ToolDefinition[] {
  const id = { id: api.parameter('get', '/changesets/{id}', 'id') };
  const idOnly = (description: string) => objectSchema(id, ['id'], description);
  const changeSet = api.response('get', '/changesets/{id}');
  const reading = { readOnlyHint: true } as const;

  return [
    {
      name: 'propose_change_set',
      title: 'Propose a change-set',
      description:
        'Propose a set of changes (items: CREATE, UPDATE, DELETE … on a target_type/target_id) for review. ' +
        'Nothing is applied: the ledger scores its risk, checks the policies and decides which approvals it ' +
        'needs. A low-risk change-set may be approved at once; otherwise submit it (submit_change_set) and ' +
        'wait_for_decision. change_set_id is your own id for it (unique); the answer carries the id, status, ' +
        'risk and content_hash.',
      input: api.body('post', '/changesets'),
      output: changeSet,
      annotations: { readOnlyHint: false },
      run: async (client, args) => {
        const created = await client.create(args as ChangeSetBody);
        return { result: created, summary: line('proposed', created) };
      },
    },
    {
      name: 'get_change_set',
      title: 'Read a change-set',
      description:
        'One change-set with its items, approvals, risk, policy results, status and content_hash, and while it ' +
        'awaits approval who may decide each open step (deciders, with their decisions). id is the ' +
        'change_set_id (CS-…, or the id you proposed it with) or its uuid.',
      input: idOnly('which change-set'),
      output: changeSet,
      annotations: reading,
      run: async (client, args) => {
        const found = await client.get(str(args['id']));
        return { result: found, summary: line('read', found) };
      },
    },
    {
      name: 'list_change_sets',
      title: 'List change-sets',
      description:
        'Change-sets, newest first, one page at a time (pass next_cursor back as cursor for the next). ' +
        'mine: only the ones you proposed. awaiting_my_decision: only the ones waiting for a decision you ' +
        'may make. Other filters: status (comma-separated), category, priority, tag, q (text search).',
      input: objectSchema({
        status: api.parameter('get', '/changesets', 'status'),
        category: api.parameter('get', '/changesets', 'category'),
        priority: api.parameter('get', '/changesets', 'priority'),
        tag: api.parameter('get', '/changesets', 'tag'),
        q: api.parameter('get', '/changesets', 'q'),
        mine: { type: 'boolean', description: 'only the change-sets you proposed' },
        awaiting_my_decision: { type: 'boolean', description: 'only the change-sets waiting for your decision' },
        limit: api.parameter('get', '/changesets', 'limit'),
        cursor: api.parameter('get', '/changesets', 'cursor'),
      }),
      output: api.response('get', '/changesets'),
      annotations: reading,
      run: async (client, args) => {
        const { mine, awaiting_my_decision, ...filters } = args;
        const page = await client.list({
          ...(filters as ListQuery),
          ...(mine === true ? { agent_id: (await client.me()).id } : {}),
          ...(awaiting_my_decision === true ? { approver: 'me' } : {}),
        });
        const more = page.next_cursor ? ' (more: pass next_cursor as cursor)' : '';
        return { result: page, summary: `${page.data.length} change-set(s)${more}` };
      },
    },
    {
      name: 'plan_change_set',
      title: 'Plan a change-set (dry run)',
      description:
        'What applying the change-set would do now, item by item, without changing anything: whether each ' +
        'item would succeed against the current state of its target, and why not.',
      input: idOnly('which change-set'),
      output: api.response('get', '/changesets/{id}/plan'),
      annotations: reading,
      run: async (client, args) => {
        const plan = await client.plan(str(args['id']));
        return {
          result: plan,
          summary: `plan of ${plan.change_set_id}: ${plan.would_succeed ? 'would succeed' : 'would not succeed'}`,
        };
      },
    },
    {
      name: 'submit_change_set',
      title: 'Submit a change-set for approval',
      description:
        'Send a DRAFT change-set to its approvers (status PENDING_APPROVAL). Then call wait_for_decision: ' +
        'a person or another principal decides; you never approve your own change-set.',
      input: idOnly('which change-set'),
      output: changeSet,
      annotations: { readOnlyHint: false, idempotentHint: false },
      run: async (client, args) => {
        const submitted = await client.submit(str(args['id']));
        return { result: submitted, summary: line('submitted', submitted) };
      },
    },
    {
      name: 'wait_for_decision',
      title: 'Wait for the approval decision',
      description:
        `Block until the change-set leaves PENDING_APPROVAL or timeout_s seconds pass (default ${WAIT_DEFAULT_S}, ` +
        `at most ${WAIT_MAX_S}; keep it below your client's request timeout). Answers ended_by (outcome or ` +
        'timeout), outcome (approved, rejected, closed, withdrawn, not_submitted …), the reasons the deciders ' +
        'gave, and next: the one step to take now (apply, reopen and edit, submit, or wait again). On a ' +
        'timeout, call it again.',
      input: objectSchema(
        {
          ...id,
          timeout_s: {
            type: 'number',
            minimum: 0,
            maximum: WAIT_MAX_S,
            description: `seconds to wait at most (default ${WAIT_DEFAULT_S})`,
          },
        },
        ['id'],
      ),
      output: api.response('get', '/changesets/{id}/wait'),
      annotations: reading,
      run: async (client, args, signal) => {
        const seconds = typeof args['timeout_s'] === 'number' ? args['timeout_s'] : WAIT_DEFAULT_S;
        const answer = await client.waitFor(str(args['id']), 'decision', seconds * 1000, signal);
        const ended =
          answer.ended_by === 'outcome' ? `outcome ${str(answer.outcome)}` : `no decision yet (${answer.ended_by})`;
        return { result: answer, summary: `${ended}; next: ${answer.next.action}: ${answer.next.hint}` };
      },
    },
    {
      name: 'decide_change_set',
      title: 'Approve or reject a change-set',
      description:
        "Record your decision on another principal's change-set waiting for approval. content_hash is " +
        'required: the content_hash of the change-set as you read it (get_change_set); if its content changed ' +
        'since, the decision is refused (STALE_CONTENT) and you must read it again. Only an eligible approver ' +
        'may decide, and never on a change-set they proposed.',
      input: extendObject(
        api.body('post', '/changesets/{id}/approve'),
        {
          ...id,
          content_hash: {
            type: 'string',
            pattern: '^sha256:[0-9a-f]{64}$',
            description: 'the content_hash of the change-set you reviewed',
          },
        },
        { required: ['id', 'content_hash'] },
      ),
      output: changeSet,
      annotations: { readOnlyHint: false, idempotentHint: false },
      run: async (client, args) => {
        const decided = await client.decide(str(args['id']), {
          decision: args['decision'] === 'REJECTED' ? 'REJECTED' : 'APPROVED',
          reason: typeof args['reason'] === 'string' ? args['reason'] : null,
          content_hash: str(args['content_hash']),
        });
        return { result: decided, summary: line(`${str(args['decision']).toLowerCase()}`, decided) };
      },
    },
    {
      name: 'apply_change_set',
      title: 'Apply an approved change-set',
      description:
        'Apply an APPROVED change-set to its targets. mode ATOMIC applies all items or none; BEST_EFFORT ' +
        'applies what it can; AUTO (default) lets the change-set decide. Use plan_change_set first to see what ' +
        'would happen. Answers which items were applied or failed and the new status.',
      input: extendObject(
        api.body('post', '/changesets/{id}/apply'),
        { ...id, mode: { type: 'string', enum: ['AUTO', 'ATOMIC', 'BEST_EFFORT'], description: 'default AUTO' } },
        { required: ['id'] },
      ),
      output: api.response('post', '/changesets/{id}/apply'),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
      run: async (client, args) => {
        const { id: changeSet, ...apply } = args;
        const applied = await client.apply(str(changeSet), apply as ApplyBody);
        return {
          result: applied,
          summary:
            applied.mode === 'DRY_RUN'
              ? `dry run: it ${applied.would_succeed ? 'would succeed' : 'would not fully succeed'}`
              : `apply ${applied.success ? 'succeeded' : 'did not fully succeed'}: status ${applied.status}`,
        };
      },
    },
    {
      name: 'rollback_change_set',
      title: 'Roll back an applied change-set',
      description:
        'Undo the applied items of an APPLIED or PARTIALLY_APPLIED change-set, restoring each target to its ' +
        'state before. reason is required. force: roll back even targets changed since (their later changes are ' +
        'overwritten); without it such items are refused.',
      input: extendObject(api.body('post', '/changesets/{id}/rollback'), id, { required: ['id', 'reason'] }),
      output: api.response('post', '/changesets/{id}/rollback'),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
      run: async (client, args) => {
        const { id: changeSet, ...rollback } = args;
        const rolledBack = await client.rollback(str(changeSet), rollback as RollbackBody);
        return {
          result: rolledBack,
          summary: `rollback ${rolledBack.success ? 'succeeded' : 'did not fully succeed'}`,
        };
      },
    },
    {
      name: 'get_resource',
      title: 'Read a resource',
      description:
        'The current state and version of one resource (target_type, target_id) as the ledger holds it, and ' +
        'its history: every version and the change-set that made it (resource is null when it is gone but has ' +
        'a history). Read it before proposing a change to it.',
      input: objectSchema(
        {
          target_type: api.parameter('get', '/resources/{target_type}/{target_id}', 'target_type'),
          target_id: api.parameter('get', '/resources/{target_type}/{target_id}', 'target_id'),
        },
        ['target_type', 'target_id'],
      ),
      output: objectSchema(
        {
          resource: {
            anyOf: [api.response('get', '/resources/{target_type}/{target_id}'), { type: 'null' }],
            description: 'its current state; null when it is gone (deleted, or its creation rolled back)',
          },
          history: { type: 'array', items: { type: 'object' } },
        },
        ['resource', 'history'],
      ),
      annotations: reading,
      run: async (client, args) => {
        const type = str(args['target_type']);
        const target = str(args['target_id']);
        // The API document does not describe these two answers yet: their shape is the engine's.
        const { data: history } = (await client.resourceHistory(type, target)) as unknown as { data: unknown[] };
        // Gone (deleted, or its creation rolled back) but with a history: no current state.
        const resource = (await client.getResource(type, target).catch((error: unknown) => {
          if (history.length > 0 && isRefusal(error, 'NOT_FOUND')) return null;
          throw error;
        })) as { version: number } | null;
        const now = resource ? `version ${resource.version}` : 'absent now';
        return {
          result: { resource, history },
          summary: `${type}/${target}: ${now}, ${history.length} version(s) in its history`,
        };
      },
    },
  ];
}
