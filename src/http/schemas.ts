// Schemas of every body, parameter and response: they validate requests at the edge and generate
// the OpenAPI document. The engine validates again in depth (cross-field rules, cycles).
import { type Static, type TSchema, Type } from 'typebox';
import { CHANGE_SET_FIELDS, ChangeSetSummarySchema, StepDecidersSchema, Timestamp } from '../core/change-set-shape.js';
import { ERROR_CATALOG, type ErrorCode } from '../core/errors.js';
import { EVENT_TYPES } from '../core/events.js';
import {
  CATEGORY_PATTERN,
  CONTENT_HASH_PATTERN,
  ID_DESCRIPTION,
  ID_PATTERN,
  MAX_ENTRIES,
  MAX_LENGTH,
} from '../core/input-rules.js';
import { PLAN_ITEM_STATUSES } from '../core/plan.js';
import { POLICY_ACTIONS, POLICY_EFFECTS, POLICY_MODES } from '../core/policy.js';
import { AnyJson, Nullable, StringEnum } from '../core/schema-kit.js';
import {
  APPLY_MODES,
  DECISIONS,
  DELIVERY_STATUSES,
  ITEM_STATUSES,
  OPERATION_TYPES,
  PRINCIPAL_KINDS,
  PRIORITIES,
  STATUSES,
} from '../core/types.js';
import { FINDING_KINDS } from '../engine/index.js';
import { named } from './openapi.js';

const Id = Type.String({ pattern: ID_PATTERN.source, description: ID_DESCRIPTION });
const Reason = Type.Optional(Nullable(Type.String({ maxLength: MAX_LENGTH.reason })));

const PatchOp = Type.Object(
  {
    op: StringEnum(['add', 'remove', 'replace', 'move', 'copy', 'test']),
    path: Type.String(),
    value: Type.Optional(AnyJson),
    from: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const ItemBody = Type.Object(
  {
    key: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_LENGTH.item_key })),
    operation_type: StringEnum(OPERATION_TYPES),
    target_type: Type.String({ minLength: 1, maxLength: MAX_LENGTH.target_type }),
    target_id: Type.String({ minLength: 1, maxLength: MAX_LENGTH.target_id }),
    after_state: Type.Optional(AnyJson),
    diff_data: Type.Optional(Type.Array(PatchOp, { minItems: 1 })),
    before_state: Type.Optional(AnyJson),
    base_version: Type.Optional(Type.Integer({ minimum: 0 })),
    depends_on: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: MAX_LENGTH.item_key }))),
  },
  { additionalProperties: false },
);

const editable = {
  title: Type.String({ minLength: 1, maxLength: MAX_LENGTH.title }),
  description: Nullable(Type.String({ maxLength: MAX_LENGTH.description })),
  agent_type: Type.String({ minLength: 1, maxLength: MAX_LENGTH.agent_type }),
  category: Type.String({ pattern: CATEGORY_PATTERN.source }),
  priority: StringEnum(PRIORITIES),
  tags: Type.Array(Type.String({ minLength: 1, maxLength: MAX_LENGTH.tag }), { maxItems: MAX_ENTRIES.tags }),
  metadata: Type.Record(Type.String(), AnyJson),
  approval_chain: Type.Array(Id, { maxItems: MAX_ENTRIES.approval_chain }),
  auto_apply: Type.Boolean(),
};

export const CreateBody = Type.Object(
  {
    change_set_id: Type.String({
      pattern: ID_PATTERN.source,
      description: `${ID_DESCRIPTION}; never shaped like a UUID (a UUID-shaped reference means the internal id)`,
    }),
    agent_id: Type.Optional(Id),
    ...Object.fromEntries(
      Object.entries(editable).map(([k, v]) => [k, k === 'title' || k === 'agent_type' ? v : Type.Optional(v)]),
    ),
    items: Type.Array(ItemBody, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export const EditBody = Type.Object(
  {
    ...Object.fromEntries(Object.entries(editable).map(([k, v]) => [k, Type.Optional(v)])),
    items: Type.Optional(Type.Array(ItemBody, { minItems: 1 })),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const DecisionBody = Type.Object(
  {
    decision: StringEnum(DECISIONS),
    reason: Reason,
    content_hash: Type.Optional(
      Nullable(
        Type.String({
          pattern: CONTENT_HASH_PATTERN.source,
          description: 'the content_hash of the change-set the reviewer read (409 STALE_CONTENT when not current)',
        }),
      ),
    ),
  },
  { additionalProperties: false },
);
export const ApplyBody = Type.Object({ mode: Type.Optional(StringEnum(APPLY_MODES)) }, { additionalProperties: false });
export const RollbackBody = Type.Object(
  { reason: Reason, force: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
export const ReasonBody = Type.Object({ reason: Reason }, { additionalProperties: false });

export const ChangeSetParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export const ResourceParams = Type.Object({
  target_type: Type.String({ minLength: 1, maxLength: 128 }),
  target_id: Type.String({ minLength: 1, maxLength: 512 }),
});

/** The `cursor` query parameter of every paged list. */
export const Cursor = Type.Optional(
  Type.String({ maxLength: 700, description: 'the `next_cursor` of the previous page' }),
);

export const ListQuery = Type.Object(
  {
    status: Type.Optional(Type.String({ maxLength: 200, description: `comma-separated: ${STATUSES.join(', ')}` })),
    category: Type.Optional(Type.String({ maxLength: 64 })),
    agent_id: Type.Optional(Type.String({ maxLength: 64 })),
    priority: Type.Optional(StringEnum(PRIORITIES)),
    tag: Type.Optional(Type.String({ maxLength: 64 })),
    approver: Type.Optional(Type.Literal('me')),
    q: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
    cursor: Cursor,
  },
  { additionalProperties: false },
);

export const PrincipalBody = Type.Object(
  {
    id: Id,
    kind: Type.Optional(StringEnum(PRINCIPAL_KINDS)),
    display_name: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
    email: Type.Optional(Nullable(Type.String({ maxLength: 320, format: 'email' }))),
    slack_id: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
    groups: Type.Optional(Type.Array(Type.String({ pattern: ID_PATTERN.source }), { maxItems: MAX_ENTRIES.groups })),
    risk: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 100 }))),
  },
  { additionalProperties: false },
);
export const PrincipalPatch = Type.Object(
  {
    kind: Type.Optional(StringEnum(PRINCIPAL_KINDS)),
    display_name: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
    email: Type.Optional(Nullable(Type.String({ maxLength: 320, format: 'email' }))),
    slack_id: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
    groups: Type.Optional(Type.Array(Type.String({ pattern: ID_PATTERN.source }), { maxItems: MAX_ENTRIES.groups })),
    risk: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 100 }))),
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export const TokenBody = Type.Object(
  { name: Type.Optional(Nullable(Type.String({ maxLength: 200 }))) },
  { additionalProperties: false },
);
export const PrincipalParams = Type.Object({ id: Id });
export const TokenParams = Type.Object({ token_id: Type.String({ minLength: 1, maxLength: 64 }) });

// Responses: each shape the API answers is a named component of the document (./openapi.ts `named`).
const ItemError = Type.Object({ code: Type.String(), message: Type.String() });
/** Why an item did not apply or roll back. */
const ItemErrorReport = Type.Object({
  item_id: Type.String(),
  key: Type.String(),
  code: Type.String(),
  message: Type.String(),
});

export const ErrorResponse = named(
  'Error',
  Type.Object({
    statusCode: Type.Integer(),
    code: StringEnum(Object.keys(ERROR_CATALOG) as ErrorCode[]),
    error: Type.String(),
    message: Type.String(),
    details: Type.Optional(
      Type.Array(
        Type.Object(
          {
            path: Type.Optional(Type.String()),
            message: Type.String(),
            allowed: Type.Optional(Type.Array(Type.String())),
          },
          { additionalProperties: true },
        ),
      ),
    ),
    fix: Type.Optional(Type.String({ description: 'what to do about it, in one sentence (docs/errors.md)' })),
  }),
);

const Item = named(
  'Item',
  Type.Object({
    id: Type.String({ format: 'uuid' }),
    sequence: Type.Integer(),
    key: Type.String(),
    operation_type: StringEnum(OPERATION_TYPES),
    target_type: Type.String(),
    target_id: Type.String(),
    after_state: Type.Optional(AnyJson),
    diff_data: Type.Optional(Type.Array(PatchOp)),
    before_state: Type.Optional(AnyJson),
    base_version: Type.Optional(Type.Integer()),
    depends_on: Type.Array(Type.String()),
    status: StringEnum(ITEM_STATUSES),
    error: Nullable(ItemError),
    applied_version: Nullable(Type.Integer()),
  }),
);

const Approval = named(
  'Approval',
  Type.Object({
    id: Type.String({ format: 'uuid' }),
    approver_id: Type.String(),
    decision: StringEnum(DECISIONS),
    reason: Nullable(Type.String()),
    content_hash: Type.String(),
    stale: Type.Boolean(),
    decided_at: Timestamp,
  }),
);

// The change-set's fields are declared once, in core/change-set-shape.ts.
export const ChangeSetSummary = named('ChangeSetSummary', ChangeSetSummarySchema);
const StepDeciders = named('StepDeciders', StepDecidersSchema);
export const ChangeSetView = named(
  'ChangeSet',
  Type.Object({
    ...CHANGE_SET_FIELDS,
    approvals: Type.Array(Approval),
    items: Type.Array(Item),
    deciders: Type.Array(StepDeciders, {
      description:
        'While PENDING_APPROVAL, each approval step still short of approvals with the principals who may decide ' +
        'it (the rule a decision is checked by: active, named by the step directly or through a group, never the ' +
        'author), each marked with their decision on the current content; empty in any other status. Ids, names ' +
        'and kinds only, as GET /principals shows them to every reader: no email or Slack id.',
    }),
  }),
);

const NextCursor = Nullable(Type.String({ description: 'the `cursor` of the next page; null on the last one' }));
/** One page of a list: `cursor` in, `next_cursor` out. */
const page = (name: string, of: TSchema) => named(name, Type.Object({ data: Type.Array(of), next_cursor: NextCursor }));
/** A whole list (not paged). */
const list = (name: string, of: TSchema) => named(name, Type.Object({ data: Type.Array(of) }));

export const ChangeSetPage = page('ChangeSetPage', ChangeSetSummary);

export const ApplyResult = named(
  'ApplyResult',
  Type.Object({
    success: Type.Boolean(),
    mode: StringEnum(APPLY_MODES.filter((m) => m !== 'DRY_RUN') as ['AUTO', 'ATOMIC', 'BEST_EFFORT']),
    status: StringEnum(STATUSES),
    applied_items: Type.Integer(),
    failed_items: Type.Integer(),
    skipped_items: Type.Integer(),
    errors: Type.Array(ItemErrorReport),
    items: Type.Array(
      Type.Object({
        item_id: Type.String(),
        key: Type.String(),
        status: StringEnum(ITEM_STATUSES),
        from_version: Nullable(Type.Integer()),
        to_version: Nullable(Type.Integer()),
      }),
    ),
    applied_at: Timestamp,
    applied_by: Type.String(),
  }),
);

const PlanState = Type.Object({ present: Type.Boolean(), version: Type.Integer(), state: AnyJson });
export const PlanResult = named(
  'DryRunResult',
  Type.Object({
    id: Type.String({ format: 'uuid' }),
    change_set_id: Type.String(),
    status: StringEnum(STATUSES),
    mode: StringEnum(['DRY_RUN']),
    would_succeed: Type.Boolean(),
    items: Type.Array(
      Type.Object({
        item_id: Type.String(),
        key: Type.String(),
        sequence: Type.Integer(),
        operation_type: StringEnum(OPERATION_TYPES),
        target_type: Type.String(),
        target_id: Type.String(),
        status: StringEnum(PLAN_ITEM_STATUSES),
        current: PlanState,
        result: Nullable(PlanState),
        diff: Type.Array(PatchOp),
        error: Nullable(ItemError),
      }),
    ),
  }),
);

/** What POST …/apply answers: the apply, or with mode DRY_RUN the plan (told apart by `mode`). */
export const ApplyAnswer = Type.Unsafe<Static<typeof ApplyResult> | Static<typeof PlanResult>>({
  oneOf: [ApplyResult, PlanResult],
  discriminator: {
    propertyName: 'mode',
    mapping: {
      AUTO: '#/components/schemas/ApplyResult',
      ATOMIC: '#/components/schemas/ApplyResult',
      BEST_EFFORT: '#/components/schemas/ApplyResult',
      DRY_RUN: '#/components/schemas/DryRunResult',
    },
  },
});

export const RollbackResult = named(
  'RollbackResult',
  Type.Object({
    success: Type.Boolean(),
    rolled_back_items: Type.Integer(),
    failed_items: Type.Integer(),
    errors: Type.Array(ItemErrorReport),
    rolled_back_at: Timestamp,
    rolled_back_by: Type.String(),
    reason: Nullable(Type.String()),
    forced: Type.Boolean(),
  }),
);

export const AuditEntries = list(
  'AuditEntries',
  named(
    'AuditEntry',
    Type.Object({
      seq: Type.Integer(),
      chain: Type.String({ description: '`system`, or the internal id of the change-set whose chain it extends' }),
      chain_seq: Type.Integer(),
      at: Timestamp,
      actor: Type.String(),
      action: Type.String(),
      change_set: Nullable(Type.String()),
      data: AnyJson,
      prev_hash: Type.String(),
      hash: Type.String(),
    }),
  ),
);

export const AuditVerification = named(
  'AuditVerification',
  Type.Object({
    ok: Type.Boolean(),
    chains: Type.Integer(),
    entries: Type.Integer(),
    first_break: Nullable(
      Type.Object({
        chain: Type.String(),
        seq: Nullable(Type.Integer()),
        chain_seq: Type.Integer(),
        reason: Type.String(),
        change_set_id: Type.Optional(Nullable(Type.String())),
      }),
    ),
    signatures: Type.Object({
      checked: Type.Boolean(),
      key_id: Nullable(Type.String()),
      signed: Type.Integer(),
      unsigned: Type.Integer(),
      invalid: Type.Integer(),
    }),
    findings: Type.Array(
      Type.Object({
        kind: StringEnum(FINDING_KINDS),
        chain: Nullable(Type.String()),
        change_set_id: Nullable(Type.String()),
        message: Type.String(),
      }),
    ),
    findings_count: Type.Integer(),
  }),
);

const Resource = named(
  'Resource',
  Type.Object({
    target_type: Type.String(),
    target_id: Type.String(),
    present: Type.Boolean(),
    state: AnyJson,
    version: Type.Integer(),
    updated_at: Timestamp,
    change_set: Nullable(Type.String({ description: 'the change_set_id that wrote this version' })),
  }),
);
export const ResourceView = Resource;
export const ResourcePage = page('ResourcePage', Resource);
export const ResourceHistory = list(
  'ResourceHistory',
  named(
    'ResourceVersion',
    Type.Object({
      version: Type.Integer(),
      present: Type.Boolean(),
      state: AnyJson,
      operation: Type.String(),
      change_set: Type.String(),
      change_set_uuid: Type.String({ format: 'uuid' }),
      item: Nullable(Type.String()),
      actor: Type.String(),
      at: Timestamp,
    }),
  ),
);

const ShadowReport = Type.Object(
  {
    evaluated: Type.Integer({ description: 'Evaluations in the window' }),
    matched: Type.Integer(),
    would: Type.Object({ deny: Type.Integer(), require_approval: Type.Integer(), warn: Type.Integer() }),
    refused: Type.Integer({ description: 'Matches on actions an enforced policy refused anyway' }),
    recent: Type.Array(
      Type.Object({
        change_set_id: Type.String(),
        path: Type.String(),
        action: Type.String(),
        actor: Type.String(),
        would: Type.String(),
        refused: Type.Boolean(),
        message: Nullable(Type.String()),
        evaluated_at: Type.String(),
      }),
    ),
  },
  { description: 'Shadow policies, admins only: what enforcing the policy would have done in the window' },
);

export const PolicyList = named(
  'PolicyList',
  Type.Object({
    since: Nullable(Type.String()),
    data: Type.Array(
      named(
        'Policy',
        Type.Object({
          name: Type.String(),
          condition: Type.String(),
          effect: StringEnum(POLICY_EFFECTS),
          mode: StringEnum(POLICY_MODES),
          actions: Type.Array(StringEnum(POLICY_ACTIONS)),
          approvers: Type.Array(Type.String()),
          count: Type.Integer(),
          message: Nullable(Type.String()),
          shadow: Type.Optional(ShadowReport),
        }),
      ),
    ),
  }),
);

export const PrincipalView = named(
  'Principal',
  Type.Object({
    id: Type.String(),
    kind: StringEnum(PRINCIPAL_KINDS),
    display_name: Nullable(Type.String()),
    email: Type.Optional(Nullable(Type.String({ description: 'only for admins and the principal itself' }))),
    slack_id: Type.Optional(Nullable(Type.String({ description: 'only for admins and the principal itself' }))),
    groups: Type.Array(Type.String()),
    risk: Nullable(Type.Integer()),
    active: Type.Boolean(),
  }),
);
export const PrincipalList = list('PrincipalList', PrincipalView);

/** A bearer token, as issued: the secret is shown in this answer only. */
export const IssuedToken = named(
  'Token',
  Type.Object({
    token_id: Type.String(),
    token: Type.String({ description: 'the bearer token, shown once' }),
    principal_id: Type.String(),
  }),
);
/** Every answer that issues a token: the token under `token` (create adds the principal beside it). */
export const TokenIssued = named('TokenIssued', Type.Object({ token: IssuedToken }));
export const PrincipalCreated = named(
  'PrincipalCreated',
  Type.Object({
    principal: PrincipalView,
    token: Nullable(IssuedToken),
  }),
);
export const RevokedToken = named(
  'RevokedToken',
  Type.Object({
    id: Type.String(),
    principal_id: Type.String(),
    name: Nullable(Type.String()),
    created_at: Timestamp,
    created_by: Type.String(),
    revoked_at: Nullable(Timestamp),
  }),
);
export const CreatedEnrolment = named(
  'Enrolment',
  Type.Object({
    enrolment_id: Type.String(),
    principal_id: Type.String(),
    code: Type.String({ description: 'shown once' }),
    redeem_url: Type.String({ description: 'the dashboard page that redeems the code (the code is in its fragment)' }),
    expires_at: Timestamp,
  }),
);
export const RedeemBody = Type.Object(
  { code: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

// Events and deliveries (docs/design.md#events).
export const EventsQuery = Type.Object(
  {
    type: Type.Optional(Type.String({ maxLength: 1000, description: 'comma-separated event types' })),
    change_set: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'uuid or change_set_id' })),
    last_event_id: Type.Optional(
      Type.String({ maxLength: 20, description: 'resume after this event id (as the Last-Event-ID header)' }),
    ),
  },
  { additionalProperties: false },
);
export const EventStreamResponse = Type.String({
  description: 'text/event-stream: `id: <id>`, `event: <type>`, `data: <envelope JSON with id>` per event',
});

export const DeliveryQuery = Type.Object(
  {
    status: Type.Optional(StringEnum(DELIVERY_STATUSES)),
    event_type: Type.Optional(Type.String({ maxLength: 64 })),
    channel: Type.Optional(Type.String({ maxLength: 64 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
    cursor: Cursor,
  },
  { additionalProperties: false },
);
export const DeliveryParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export const DeliveryView = named(
  'Delivery',
  Type.Object({
    id: Type.String({ format: 'uuid' }),
    event_id: Type.Integer(),
    event_type: StringEnum(EVENT_TYPES),
    channel: Type.String(),
    recipient: Nullable(Type.String()),
    address: Nullable(Type.String()),
    status: StringEnum(DELIVERY_STATUSES),
    attempts: Type.Integer(),
    next_attempt_at: Timestamp,
    last_error: Nullable(Type.String()),
    created_at: Timestamp,
    delivered_at: Nullable(Timestamp),
    change_set_id: Nullable(Type.String()),
  }),
);
export const DeliveryList = page('DeliveryPage', DeliveryView);

/** An event as streams carry it (`data` of an SSE frame) and a wait answers it. */
export const EventEnvelope = named(
  'Event',
  Type.Object({
    id: Type.Integer(),
    type: StringEnum(EVENT_TYPES),
    occurred_at: Timestamp,
    actor: Type.String(),
    change_set: Nullable(
      Type.Object({
        id: Type.String({ format: 'uuid' }),
        change_set_id: Type.String(),
        title: Type.String(),
        status: StringEnum(STATUSES),
        category: Type.String(),
        priority: StringEnum(PRIORITIES),
        agent_id: Type.String(),
      }),
    ),
    data: Type.Record(Type.String(), AnyJson),
  }),
);
