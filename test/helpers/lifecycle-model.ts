// The reference model of a change-set's lifecycle, written from the documented rules (the product
// contract, docs/design.md, docs/configuration.md), not from src/: statuses, who may act, eligible
// approvers, approvals and their staleness, risk → required approvals, items, targets, versions
// and history, apply in every mode, rollback and its conflict rule. Where the rules are ambiguous
// the model encodes the reading docs/design.md ("Readings of ambiguous rules") states.
//
// Every action returns the refusal code it expects (and changes nothing), or null and changes the
// model as the product must change its state.

export type Obj = { [key: string]: number };
export type Status =
  | 'DRAFT'
  | 'PENDING_APPROVAL'
  | 'APPROVED'
  | 'APPLIED'
  | 'PARTIALLY_APPLIED'
  | 'REJECTED'
  | 'ROLLED_BACK';
export type Category = 'UI_LAYOUT' | 'CONFIG_UPDATE';
export type Mode = 'ATOMIC' | 'BEST_EFFORT' | 'AUTO' | 'DRY_RUN';
export type Code =
  | 'INVALID_TRANSITION'
  | 'FORBIDDEN'
  | 'CONFLICT'
  | 'APPLY_FAILED'
  | 'ITEMS_NOT_APPLICABLE'
  | 'APPROVAL_UNSATISFIABLE';

/** An item as proposed: UPDATE carries `after` or `addA` (diff_data [add /a]), maybe a `before`. */
export interface ItemSpec {
  op: 'CREATE' | 'UPDATE' | 'DELETE';
  target: number;
  after?: Obj;
  addA?: number;
  before?: Obj;
}

interface ItemModel extends ItemSpec {
  status: 'PENDING' | 'APPLIED' | 'FAILED' | 'ROLLED_BACK';
  /** What the item found when it applied (what rollback restores), its version and order. */
  prev?: { present: boolean; state: Obj | null };
  version?: number;
  order?: number;
}

export interface HistoryEntry {
  version: number;
  present: boolean;
  state: Obj | null;
  change_set: string;
}

export interface TargetModel {
  type: string;
  id: string;
  present: boolean;
  state: Obj | null;
  version: number;
  history: HistoryEntry[];
}

export interface Decision {
  decision: 'APPROVED' | 'REJECTED';
  /** The content it was given on. */
  content: string;
}

export interface ChangeSetModel {
  id: string;
  creator: string;
  category: Category;
  chain: string[];
  autoApply: boolean;
  items: ItemModel[];
  content: string;
  status: Status;
  required: number;
  received: number;
  /** Current (not stale) decisions by approver. */
  decisions: Map<string, Decision>;
}

export interface PrincipalModel {
  groups: string[];
  active: boolean;
  risk: number | null;
}

export interface Model {
  principals: Map<string, PrincipalModel>;
  targets: TargetModel[];
  changeSets: ChangeSetModel[];
}

/** The risk configuration the model test runs with (docs/configuration.md, `risk`). */
export const LEVELS = { critical: 60, high: 25, medium: 12 } as const;
const APPROVALS = { critical: 3, high: 2, medium: 1, low: 0 } as const;
const CATEGORY_APPROVERS: Record<Category, string[]> = { UI_LAYOUT: ['Agent-A', 'Agent-B'], CONFIG_UPDATE: [] };
const AGENTS: Record<string, number> = { 'Agent-A': 15, 'Agent-B': 20, 'Agent-C': 35, 'Agent-D': 25 };
const SCOPE: Record<Category, number> = { UI_LAYOUT: 15, CONFIG_UPDATE: 25 };
const OPERATION: Record<ItemSpec['op'], number> = { CREATE: 5, UPDATE: 10, DELETE: 30 };

const canonical = (value: unknown): string =>
  value === null || typeof value !== 'object'
    ? JSON.stringify(value)
    : Array.isArray(value)
      ? `[${value.map(canonical).join(',')}]`
      : `{${Object.keys(value)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
          .join(',')}}`;
const deepEqual = (a: unknown, b: unknown): boolean => canonical(a) === canonical(b);

/** The reviewable content (what the content hash covers): category and items, title unchanged. */
export const contentOf = (category: Category, items: readonly ItemSpec[]): string =>
  canonical({
    category,
    items: items.map(({ op, target, after, addA, before }) => ({ op, target, after, addA, before })),
  });

/** Required approvals by the risk model (product contract, "Risk assessment"), with LEVELS. */
export function requiredApprovals(m: Model, creator: string, category: Category, items: readonly ItemSpec[]): number {
  const op = Math.min(
    100,
    items.reduce((sum, i) => sum + OPERATION[i.op], 0),
  );
  const target = Math.min(
    100,
    items.reduce((sum, i) => sum + (m.targets[i.target]!.type.includes('SYSTEM') ? 40 : 0), 0),
  );
  const agent = m.principals.get(creator)?.risk ?? AGENTS[creator] ?? 30;
  const scope = SCOPE[category];
  const quantity = items.length <= 5 ? 5 : 15;
  const score = Math.floor((30 * op + 35 * target + 15 * agent + 15 * scope + 5 * quantity + 50) / 100);
  const level =
    score >= LEVELS.critical ? 'critical' : score >= LEVELS.high ? 'high' : score >= LEVELS.medium ? 'medium' : 'low';
  const byScore = APPROVALS[level];
  const auto = op < 20 && target < 15 && scope < 25 && quantity < 10 && byScore === 0;
  return Math.max(byScore, auto ? 0 : 1);
}

const isAdmin = (m: Model, p: string) => m.principals.get(p)?.groups.includes('admin') ?? false;
const isActive = (m: Model, p: string) => m.principals.get(p)?.active ?? false;

/** Eligible approver: the category's approvers, the chain, group admin; never the creator, never inactive. */
export function eligible(m: Model, cs: ChangeSetModel, p: string): boolean {
  if (!isActive(m, p) || p === cs.creator) return false;
  return CATEGORY_APPROVERS[cs.category].includes(p) || cs.chain.includes(p) || isAdmin(m, p);
}

/** Distinct current APPROVED decisions on the current content from principals eligible now. */
export function tally(m: Model, cs: ChangeSetModel): number {
  const approving = [...cs.decisions].filter(
    ([p, d]) => d.decision === 'APPROVED' && d.content === cs.content && eligible(m, cs, p),
  ).length;
  return Math.min(approving, cs.required);
}

/** Creator, group operator or group admin, and active: who may apply and roll back. */
const mayOperate = (m: Model, cs: ChangeSetModel, p: string) =>
  isActive(m, p) && (p === cs.creator || isAdmin(m, p) || (m.principals.get(p)?.groups.includes('operator') ?? false));

type Outcome = 'APPLIED' | 'FAILED';
interface Simulation {
  outcomes: Outcome[];
  states: Map<number, { present: boolean; state: Obj | null }>;
}

/** Items in order on a working copy of the targets; a failed item writes nothing. */
function simulate(m: Model, items: readonly ItemSpec[]): Simulation {
  const states = new Map<number, { present: boolean; state: Obj | null }>();
  const current = (t: number) => states.get(t) ?? { present: m.targets[t]!.present, state: m.targets[t]!.state };
  const outcomes = items.map((item): Outcome => {
    const now = current(item.target);
    if (item.op === 'CREATE') {
      if (now.present) return 'FAILED';
      states.set(item.target, { present: true, state: item.after! });
      return 'APPLIED';
    }
    if (!now.present) return 'FAILED';
    if (item.before !== undefined && !deepEqual(item.before, now.state)) return 'FAILED';
    if (item.op === 'DELETE') states.set(item.target, { present: false, state: null });
    else if (item.after !== undefined) states.set(item.target, { present: true, state: item.after });
    else states.set(item.target, { present: true, state: { ...now.state!, a: item.addA! } });
    return 'APPLIED';
  });
  return { outcomes, states };
}

function write(t: TargetModel, present: boolean, state: Obj | null, changeSet: string): number {
  t.version += 1;
  t.present = present;
  t.state = present ? state : null;
  t.history.push({ version: t.version, present, state: t.state, change_set: changeSet });
  return t.version;
}

/** Applies `indices` of cs's items whose outcome is APPLIED, one new version each, in order. */
function writeItems(m: Model, cs: ChangeSetModel, pending: ItemModel[], sim: Simulation): void {
  let order = Math.max(0, ...cs.items.map((i) => i.order ?? 0));
  pending.forEach((item, k) => {
    if (sim.outcomes[k] !== 'APPLIED') {
      item.status = 'FAILED';
      return;
    }
    const t = m.targets[item.target]!;
    item.prev = { present: t.present, state: t.state };
    const next = item.op === 'DELETE' ? null : (item.after ?? { ...t.state!, a: item.addA! });
    item.version = write(t, item.op !== 'DELETE', next, cs.id);
    item.order = ++order;
    item.status = 'APPLIED';
  });
}

export interface ApplyOutcome {
  code: Code | null;
  /** Status after a successful apply. */
  status?: Status;
}

export function apply(m: Model, cs: ChangeSetModel, actor: string, mode: Mode): ApplyOutcome {
  if (mode === 'DRY_RUN') return { code: null, status: cs.status };
  if (cs.status !== 'APPROVED' && cs.status !== 'PARTIALLY_APPLIED') return { code: 'INVALID_TRANSITION' };
  if (!mayOperate(m, cs, actor)) return { code: 'FORBIDDEN' };
  const pending = cs.items.filter((i) => i.status !== 'APPLIED');
  const sim = simulate(m, pending);
  const failed = sim.outcomes.some((o) => o === 'FAILED');
  if (mode !== 'BEST_EFFORT' && failed) return { code: 'APPLY_FAILED' };
  writeItems(m, cs, pending, sim);
  const applied = cs.items.filter((i) => i.status === 'APPLIED').length;
  if (applied === cs.items.length) cs.status = 'APPLIED';
  else if (applied > 0) cs.status = 'PARTIALLY_APPLIED';
  return { code: null, status: cs.status };
}

/** `auto_apply`: mode AUTO on behalf of the creator once APPROVED; a refusal or failure leaves it APPROVED. */
function autoApply(m: Model, cs: ChangeSetModel): void {
  if (cs.autoApply && cs.status === 'APPROVED') apply(m, cs, cs.creator, 'AUTO');
}

/** What `plan` says: would every item apply to the targets as they are now? */
export const wouldSucceed = (m: Model, cs: ChangeSetModel): boolean =>
  simulate(m, cs.items).outcomes.every((o) => o === 'APPLIED');

export function create(
  m: Model,
  id: string,
  creator: string,
  category: Category,
  chain: string[],
  autoApplyFlag: boolean,
  items: ItemSpec[],
): Code | null {
  if (!isActive(m, creator)) return 'FORBIDDEN';
  const required = requiredApprovals(m, creator, category, items);
  const cs: ChangeSetModel = {
    id,
    creator,
    category,
    chain,
    autoApply: autoApplyFlag,
    items: items.map((i) => ({ ...i, status: 'PENDING' })),
    content: contentOf(category, items),
    status: required === 0 ? 'APPROVED' : 'DRAFT',
    required,
    received: 0,
    decisions: new Map(),
  };
  m.changeSets.push(cs);
  autoApply(m, cs);
  return null;
}

const guard = (m: Model, cs: ChangeSetModel, from: Status[], actor: string, who: 'creator' | 'creator-or-admin') => {
  if (!from.includes(cs.status)) return 'INVALID_TRANSITION';
  const allowed = actor === cs.creator || (who === 'creator-or-admin' && isAdmin(m, actor));
  return isActive(m, actor) && allowed ? null : 'FORBIDDEN';
};

export function edit(m: Model, cs: ChangeSetModel, actor: string, items: ItemSpec[]): Code | null {
  const refused = guard(m, cs, ['DRAFT', 'REJECTED'], actor, 'creator');
  if (refused) return refused;
  cs.items = items.map((i) => ({ ...i, status: 'PENDING' }));
  cs.content = contentOf(cs.category, items);
  cs.required = requiredApprovals(m, cs.creator, cs.category, items);
  cs.received = tally(m, cs);
  return null;
}

export function submit(m: Model, cs: ChangeSetModel, actor: string): Code | null {
  const refused = guard(m, cs, ['DRAFT'], actor, 'creator');
  if (refused) return refused;
  if (!wouldSucceed(m, cs)) return 'ITEMS_NOT_APPLICABLE';
  const candidates = [...m.principals.keys()].filter((p) => eligible(m, cs, p)).length;
  if (candidates < cs.required) return 'APPROVAL_UNSATISFIABLE';
  cs.received = 0;
  cs.status = cs.required === 0 ? 'APPROVED' : 'PENDING_APPROVAL';
  autoApply(m, cs);
  return null;
}

/** Back to DRAFT: every earlier decision becomes stale. */
function toDraft(cs: ChangeSetModel): void {
  cs.status = 'DRAFT';
  cs.decisions.clear();
  cs.received = 0;
}

export function withdraw(m: Model, cs: ChangeSetModel, actor: string): Code | null {
  const refused = guard(m, cs, ['PENDING_APPROVAL'], actor, 'creator');
  if (refused) return refused;
  toDraft(cs);
  return null;
}

export function reopen(m: Model, cs: ChangeSetModel, actor: string): Code | null {
  const refused = guard(m, cs, ['REJECTED', 'ROLLED_BACK'], actor, 'creator');
  if (refused) return refused;
  toDraft(cs);
  for (const item of cs.items) {
    item.status = 'PENDING';
    delete item.prev;
    delete item.version;
    delete item.order;
  }
  return null;
}

export function close(m: Model, cs: ChangeSetModel, actor: string): Code | null {
  const refused = guard(m, cs, ['DRAFT', 'PENDING_APPROVAL', 'APPROVED'], actor, 'creator-or-admin');
  if (refused) return refused;
  cs.status = 'REJECTED';
  return null;
}

export function decide(m: Model, cs: ChangeSetModel, actor: string, decision: Decision['decision']): Code | null {
  const from: Status[] = decision === 'APPROVED' ? ['PENDING_APPROVAL'] : ['PENDING_APPROVAL', 'APPROVED'];
  if (!from.includes(cs.status)) return 'INVALID_TRANSITION';
  if (!eligible(m, cs, actor)) return 'FORBIDDEN';
  cs.decisions.set(actor, { decision, content: cs.content });
  cs.received = tally(m, cs);
  if (decision === 'REJECTED') cs.status = 'REJECTED';
  else if (cs.received >= cs.required) {
    cs.status = 'APPROVED';
    autoApply(m, cs);
  }
  return null;
}

/**
 * Restores, newest first, what each applied item found. Refused with CONFLICT when another
 * change-set wrote a target after this one first wrote it, unless an admin forces it.
 */
export function rollback(m: Model, cs: ChangeSetModel, actor: string, force: boolean): Code | null {
  if (cs.status !== 'APPLIED' && cs.status !== 'PARTIALLY_APPLIED') return 'INVALID_TRANSITION';
  if (!mayOperate(m, cs, actor)) return 'FORBIDDEN';
  if (force && !isAdmin(m, actor)) return 'FORBIDDEN';
  const applied = cs.items.filter((i) => i.status === 'APPLIED');
  const firstWrite = new Map<number, number>();
  for (const item of applied)
    firstWrite.set(item.target, Math.min(item.version!, firstWrite.get(item.target) ?? Infinity));
  const conflict = [...firstWrite].some(([t, first]) =>
    m.targets[t]!.history.some((h) => h.version > first && h.change_set !== cs.id),
  );
  if (conflict && !force) return 'CONFLICT';
  for (const item of [...applied].sort((a, b) => b.order! - a.order!)) {
    write(m.targets[item.target]!, item.prev!.present, item.prev!.state, cs.id);
    item.status = 'ROLLED_BACK';
  }
  cs.status = 'ROLLED_BACK';
  return null;
}

/** Whether another change-set wrote one of cs's targets between two writes of cs (for coverage). */
export function interleaved(m: Model, cs: ChangeSetModel): boolean {
  const applied = cs.items.filter((i) => i.status === 'APPLIED');
  return applied.some((first) =>
    applied.some(
      (later) =>
        later.target === first.target &&
        m.targets[first.target]!.history.some(
          (h) => h.version > first.version! && h.version < later.version! && h.change_set !== cs.id,
        ),
    ),
  );
}

/** Another change-set (outside the model's) sets a target: UPDATE when present, CREATE when absent. */
export function drift(m: Model, target: number, state: Obj, changeSet: string): void {
  write(m.targets[target]!, true, state, changeSet);
}

export function setActive(m: Model, principal: string, active: boolean): void {
  m.principals.get(principal)!.active = active;
}
