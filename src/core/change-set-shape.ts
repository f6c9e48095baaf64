// The one declaration of a change-set's fields. Everything else derives from it: the TypeScript
// types (ChangeSet, the store's ChangeSetRow), the API's response schemas (http/schemas.ts), the
// columns the store inserts, updates and selects (store/change-sets.ts, store/change-set-read.ts),
// which of them are timestamps or jsonb, and the summary the API returns (engine/view.ts).
// Adding a field: a migration adding the column, and one line here (docs/architecture.md).
import { type Static, type TSchema, Type } from 'typebox';
import { POLICY_ACTIONS, POLICY_EFFECTS } from './policy.js';
import { AnyJson, Nullable, StringEnum, typed } from './schema-kit.js';
import type { ApprovalStep, Json, PolicyEvaluation, RiskAssessment } from './types.js';
import { DECISIONS, PRINCIPAL_KINDS, PRIORITIES, RISK_LEVELS, STATUSES } from './types.js';
/** A timestamptz column, ISO-8601 in the domain and the API. */
export const Timestamp = Type.String({ format: 'date-time' });

export const RiskSchema = typed<RiskAssessment>(
  Type.Object({
    score: Type.Integer(),
    level: StringEnum(RISK_LEVELS),
    factors: Type.Object({
      operation: Type.Integer(),
      target: Type.Integer(),
      agent: Type.Integer(),
      scope: Type.Integer(),
      quantity: Type.Integer(),
    }),
    recommendations: Type.Array(Type.String()),
    auto_approve: Type.Boolean(),
    required_approvals: Type.Integer(),
    trust: Type.Optional(
      Type.Object(
        {
          mode: Type.Union([Type.Literal('shadow'), Type.Literal('enforce')]),
          adjustment: Type.Integer(),
          agent_factor: Type.Integer(),
          reason: Type.String(),
          with_trust: Type.Object({
            score: Type.Integer(),
            level: Type.String(),
            auto_approve: Type.Boolean(),
            required_approvals: Type.Integer(),
          }),
        },
        { description: 'Earned trust (docs/trust.md); absent when trust.mode is off' },
      ),
    ),
  }),
);

/** One approval step: `count` approvals from `approvers` (principal ids or `group:NAME`). */
export const ApprovalStepSchema = Type.Object({
  name: Type.String(),
  count: Type.Integer(),
  approvers: Type.Array(Type.String()),
  message: Type.Optional(Type.String()),
});

/**
 * Who may decide one approval step still short of approvals (`deciders` of the change-set view,
 * computed by core/approvals.ts stepDeciders): the principals the engine would accept a decision
 * from, named as GET /principals names them to every reader, never with contacts.
 */
export const StepDecidersSchema = Type.Object(
  {
    step: Type.String({ description: 'the step, by its name in approval_steps' }),
    count: Type.Integer({ description: 'approvals the step needs' }),
    received: Type.Integer({ description: 'approvals it has, counted as the engine counts them' }),
    eligible: Type.Array(
      Type.Object(
        {
          id: Type.String(),
          display_name: Nullable(Type.String()),
          kind: StringEnum(PRINCIPAL_KINDS),
          decision: Nullable(
            StringEnum(DECISIONS, { description: 'their decision on the current content; null while undecided' }),
          ),
        },
        { additionalProperties: false },
      ),
      {
        description:
          'every active principal the step admits, the author never, in id order; no email or Slack id (docs/security.md)',
      },
    ),
  },
  { additionalProperties: false },
);
export type StepDeciders = Static<typeof StepDecidersSchema>;

/** What a policy said about the change-set at one action. */
export const PolicyEvaluationSchema = Type.Object({
  policy: Type.String(),
  action: StringEnum(POLICY_ACTIONS),
  effect: StringEnum(POLICY_EFFECTS),
  matched: Type.Boolean(),
  message: Nullable(Type.String()),
  evaluated_at: Timestamp,
});

/**
 * The change-set's public fields, in the order the API writes them (a summary: the view without
 * its approvals and items). Each is a column of `change_sets` of the same name; objects and arrays
 * of objects are jsonb columns, timestamps (`Timestamp`) timestamptz, other arrays SQL arrays.
 */
export const CHANGE_SET_FIELDS = {
  id: Type.String({ format: 'uuid' }),
  change_set_id: Type.String(),
  title: Type.String(),
  description: Nullable(Type.String()),
  agent_id: Type.String(),
  agent_type: Type.String(),
  category: Type.String(),
  priority: StringEnum(PRIORITIES),
  tags: Type.Array(Type.String()),
  metadata: typed<{ [key: string]: Json }>(Type.Record(Type.String(), AnyJson)),
  approval_chain: Type.Array(Type.String()),
  auto_apply: Type.Boolean(),
  status: StringEnum(STATUSES),
  risk: RiskSchema,
  approval_steps: typed<ApprovalStep[]>(Type.Array(ApprovalStepSchema)),
  required_approvals: Type.Integer(),
  received_approvals: Type.Integer(),
  approval_deadline: Nullable(Timestamp),
  policy_evaluations: typed<PolicyEvaluation[]>(Type.Array(PolicyEvaluationSchema)),
  content_hash: Type.String(),
  item_count: Type.Integer(),
  version: Type.Integer(),
  created_at: Timestamp,
  created_by: Type.String(),
  updated_at: Timestamp,
  updated_by: Type.String(),
  submitted_at: Nullable(Timestamp),
  applied_at: Nullable(Timestamp),
  applied_by: Nullable(Type.String()),
  rolled_back_at: Nullable(Timestamp),
  rolled_back_by: Nullable(Type.String()),
};

/** Columns the engine reads and writes with the row but the API never shows. */
export const CHANGE_SET_INTERNAL_FIELDS = {
  /** The head of the change-set's audit chain, and its length. */
  audit_head: Type.String(),
  audit_count: Type.Integer(),
  /** The head's signature (engine/audit-signer.ts), null when unsigned. */
  audit_sig: Nullable(Type.String()),
};

/** Fields set when the change-set is created and never updated (the version has its own rule). */
export const CHANGE_SET_FIXED_FIELDS = ['id', 'change_set_id', 'created_at', 'created_by', 'version'] as const;

export const ChangeSetSummarySchema = Type.Object(CHANGE_SET_FIELDS);
export const ChangeSetRowSchema = Type.Object({ ...CHANGE_SET_FIELDS, ...CHANGE_SET_INTERNAL_FIELDS });

/** A change-set as lists show it: every public field but its items and approvals. */
export type ChangeSetSummary = Static<typeof ChangeSetSummarySchema>;
/** A row of `change_sets` as the engine works with it (timestamps as ISO strings). */
export type ChangeSetFieldsRow = Static<typeof ChangeSetRowSchema>;

export type ChangeSetField = keyof typeof CHANGE_SET_FIELDS;
export type ChangeSetColumn = ChangeSetField | keyof typeof CHANGE_SET_INTERNAL_FIELDS;

/** The public fields, in the API's order. */
export const SUMMARY_FIELDS = Object.keys(CHANGE_SET_FIELDS) as ChangeSetField[];
/** Every column the engine reads and writes: the public fields, then the internal ones. */
export const CHANGE_SET_COLUMNS = Object.keys(ChangeSetRowSchema.properties) as ChangeSetColumn[];

const members = (schema: TSchema): TSchema[] => {
  const s = schema as { anyOf?: TSchema[] };
  return s.anyOf ?? [schema];
};
const kind = (schema: TSchema): { type?: string; format?: string; items?: TSchema } => schema as never;

/** The timestamptz columns (ISO strings in the domain). */
export const TIMESTAMP_COLUMNS: readonly ChangeSetColumn[] = CHANGE_SET_COLUMNS.filter((column) =>
  members(ChangeSetRowSchema.properties[column]).some((m) => kind(m).format === 'date-time'),
);

/** The jsonb columns: objects, and arrays of objects (arrays of scalars are SQL arrays). */
export const JSONB_COLUMNS: readonly ChangeSetColumn[] = CHANGE_SET_COLUMNS.filter((column) =>
  members(ChangeSetRowSchema.properties[column]).some((m) => {
    const { type, items } = kind(m);
    return type === 'object' || (type === 'array' && items !== undefined && kind(items).type === 'object');
  }),
);
