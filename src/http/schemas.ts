// Schemas of every body, parameter and response: they validate requests at the edge and generate
// the OpenAPI document. The engine validates again in depth (cross-field rules, cycles).
import { type TSchema, Type } from 'typebox';
import { CHANGE_SET_FIELDS, ChangeSetSummarySchema, Timestamp } from '../core/change-set-shape.js';
import {
  CATEGORY_PATTERN,
  CONTENT_HASH_PATTERN,
  ID_DESCRIPTION,
  ID_PATTERN,
  MAX_ENTRIES,
  MAX_LENGTH,
} from '../core/input-rules.js';
import {
  APPLY_MODES,
  DECISIONS,
  ITEM_STATUSES,
  OPERATION_TYPES,
  PRINCIPAL_KINDS,
  PRIORITIES,
  STATUSES,
} from '../core/types.js';

const Id = Type.String({ pattern: ID_PATTERN.source, description: ID_DESCRIPTION });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const AnyJson = Type.Unknown({ description: 'any JSON value' });
const Reason = Type.Optional(Nullable(Type.String({ maxLength: MAX_LENGTH.reason })));

const PatchOp = Type.Object(
  {
    op: Type.Union(['add', 'remove', 'replace', 'move', 'copy', 'test'].map((op) => Type.Literal(op))),
    path: Type.String(),
    value: Type.Optional(AnyJson),
    from: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const ItemBody = Type.Object(
  {
    key: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_LENGTH.item_key })),
    operation_type: Type.Union(OPERATION_TYPES.map((o) => Type.Literal(o))),
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
  priority: Type.Union(PRIORITIES.map((p) => Type.Literal(p))),
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
    decision: Type.Union(DECISIONS.map((d) => Type.Literal(d))),
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
export const ApplyBody = Type.Object(
  { mode: Type.Optional(Type.Union(APPLY_MODES.map((m) => Type.Literal(m)))) },
  { additionalProperties: false },
);
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

export const ListQuery = Type.Object(
  {
    status: Type.Optional(Type.String({ maxLength: 200, description: `comma-separated: ${STATUSES.join(', ')}` })),
    category: Type.Optional(Type.String({ maxLength: 64 })),
    agent_id: Type.Optional(Type.String({ maxLength: 64 })),
    priority: Type.Optional(Type.Union(PRIORITIES.map((p) => Type.Literal(p)))),
    tag: Type.Optional(Type.String({ maxLength: 64 })),
    approver: Type.Optional(Type.Literal('me')),
    q: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
    cursor: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);

export const PrincipalBody = Type.Object(
  {
    id: Id,
    kind: Type.Optional(Type.Union(PRINCIPAL_KINDS.map((k) => Type.Literal(k)))),
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
    kind: Type.Optional(Type.Union(PRINCIPAL_KINDS.map((k) => Type.Literal(k)))),
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

// Responses (documentation, and fast serialisation). JSON states stay free-form.
export const ErrorResponse = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
  fix: Type.Optional(Type.String({ description: 'what to do about it, in one sentence (docs/errors.md)' })),
});

const ItemView = Type.Object({
  id: Type.String(),
  sequence: Type.Integer(),
  key: Type.String(),
  operation_type: Type.String(),
  target_type: Type.String(),
  target_id: Type.String(),
  after_state: Type.Optional(AnyJson),
  diff_data: Type.Optional(Type.Array(Type.Record(Type.String(), AnyJson))),
  before_state: Type.Optional(AnyJson),
  base_version: Type.Optional(Type.Integer()),
  depends_on: Type.Array(Type.String()),
  status: Type.Union(ITEM_STATUSES.map((s) => Type.Literal(s))),
  error: Nullable(Type.Object({ code: Type.String(), message: Type.String() })),
  applied_version: Nullable(Type.Integer()),
});

const ApprovalView = Type.Object({
  id: Type.String(),
  approver_id: Type.String(),
  decision: Type.String(),
  reason: Nullable(Type.String()),
  content_hash: Type.String(),
  stale: Type.Boolean(),
  decided_at: Timestamp,
});

// The change-set's fields are declared once, in core/change-set-shape.ts.
export const ChangeSetSummary = ChangeSetSummarySchema;
export const ChangeSetView = Type.Object({
  ...CHANGE_SET_FIELDS,
  approvals: Type.Array(ApprovalView),
  items: Type.Array(ItemView),
});
export const ChangeSetList = Type.Object({ data: Type.Array(ChangeSetSummary), next_cursor: Nullable(Type.String()) });

export const ApplyResult = Type.Object({
  success: Type.Boolean(),
  mode: Type.String(),
  status: Type.String(),
  applied_items: Type.Optional(Type.Integer()),
  failed_items: Type.Optional(Type.Integer()),
  skipped_items: Type.Optional(Type.Integer()),
  errors: Type.Optional(Type.Array(Type.Record(Type.String(), AnyJson))),
  items: Type.Array(Type.Record(Type.String(), AnyJson)),
  applied_at: Type.Optional(Timestamp),
  applied_by: Type.Optional(Type.String()),
  would_succeed: Type.Optional(Type.Boolean()),
  id: Type.Optional(Type.String()),
  change_set_id: Type.Optional(Type.String()),
});

export const PlanResult = Type.Object({
  id: Type.String(),
  change_set_id: Type.String(),
  status: Type.String(),
  mode: Type.Literal('DRY_RUN'),
  would_succeed: Type.Boolean(),
  items: Type.Array(Type.Record(Type.String(), AnyJson)),
});

export const RollbackResult = Type.Object({
  success: Type.Boolean(),
  rolled_back_items: Type.Integer(),
  failed_items: Type.Integer(),
  errors: Type.Array(Type.Record(Type.String(), AnyJson)),
  rolled_back_at: Timestamp,
  rolled_back_by: Type.String(),
  reason: Nullable(Type.String()),
  forced: Type.Boolean(),
});

export const PrincipalView = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  display_name: Nullable(Type.String()),
  email: Type.Optional(Nullable(Type.String({ description: 'only for admins and the principal itself' }))),
  slack_id: Type.Optional(Nullable(Type.String({ description: 'only for admins and the principal itself' }))),
  groups: Type.Array(Type.String()),
  risk: Nullable(Type.Integer()),
  active: Type.Boolean(),
});
export const IssuedToken = Type.Object({ token_id: Type.String(), token: Type.String(), principal_id: Type.String() });
export const CreatedEnrolment = Type.Object({
  enrolment_id: Type.String(),
  principal_id: Type.String(),
  code: Type.String({ description: 'shown once' }),
  redeem_url: Type.String({ description: 'the dashboard page that redeems the code (the code is in its fragment)' }),
  expires_at: Type.String(),
});
export const RedeemBody = Type.Object(
  { code: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

/** Response schemas document the API; handlers return domain types, so the map is not type-checked against them. */
export const responses = (map: Record<string | number, TSchema>): unknown => map;

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
    status: Type.Optional(Type.Union(['PENDING', 'DELIVERED', 'DEAD'].map((s) => Type.Literal(s)))),
    event_type: Type.Optional(Type.String({ maxLength: 64 })),
    channel: Type.Optional(Type.String({ maxLength: 64 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
    cursor: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
export const DeliveryParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export const DeliveryView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  event_id: Type.Integer(),
  event_type: Type.String(),
  channel: Type.String(),
  recipient: Nullable(Type.String()),
  address: Nullable(Type.String()),
  status: Type.Union(['PENDING', 'DELIVERED', 'DEAD'].map((s) => Type.Literal(s))),
  attempts: Type.Integer(),
  next_attempt_at: Timestamp,
  last_error: Nullable(Type.String()),
  created_at: Timestamp,
  delivered_at: Nullable(Timestamp),
  change_set_id: Nullable(Type.String()),
});
export const DeliveryList = Type.Object({ data: Type.Array(DeliveryView), next_cursor: Nullable(Type.String()) });
