// Notification deliveries as operators see them: listed with filters and cursors, and retried by
// hand (a dead-lettered one above all). Only groups admin and operator may read them, and a
// recipient's address (email, Slack id) only admins and the recipient itself (core/contacts.ts):
// an operator sees `address: null` for others. A retry is audited on the system chain.
import { ADMIN_GROUP } from '../core/approvals.js';
import { maySeeContacts } from '../core/contacts.js';
import { LedgerError } from '../core/errors.js';
import { DELIVERY_STATUSES, type Principal } from '../core/types.js';
import { UUID_PATTERN } from '../core/validate-change-set.js';
import { type DeliveryView, listDeliveries, retryDelivery } from '../store/deliveries.js';
import { type EngineContext, inTransaction } from './context.js';
import { Journal } from './journal.js';
import { decodeCursor, encodeCursor } from './list.js';

const DELIVERY_GROUPS = [ADMIN_GROUP, 'operator'] as const;

/** The delivery without its address unless `actor` may see the recipient's contacts. */
const asSeenBy = (actor: Principal, view: DeliveryView): DeliveryView =>
  view.recipient && !maySeeContacts(actor, view.recipient) ? { ...view, address: null } : view;

function assertDeliveryOperator(actor: Principal): void {
  if (!actor.active || !DELIVERY_GROUPS.some((group) => actor.groups.includes(group))) {
    throw new LedgerError(
      'FORBIDDEN',
      `deliveries are for groups ${DELIVERY_GROUPS.join(' and ')}: ${actor.id} is in neither`,
    );
  }
}

export interface DeliveryQuery {
  status?: string | undefined;
  event_type?: string | undefined;
  channel?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

const validCursor = ([createdAt, id]: string[]) =>
  createdAt !== undefined && id !== undefined && !Number.isNaN(Date.parse(createdAt)) && UUID_PATTERN.test(id);

export interface DeliveryPage {
  data: DeliveryView[];
  next_cursor: string | null;
}

/** Newest first; `next_cursor` continues after the last row of the page. */
export async function listDeliveryPage(
  ctx: Pick<EngineContext, 'db'>,
  actor: Principal,
  query: DeliveryQuery,
  maxLimit = 200,
): Promise<DeliveryPage> {
  assertDeliveryOperator(actor);
  if (query.status !== undefined && !(DELIVERY_STATUSES as readonly string[]).includes(query.status)) {
    throw new LedgerError('VALIDATION_FAILED', `unknown status ${query.status}: use ${DELIVERY_STATUSES.join(', ')}`, [
      { path: 'status', message: `unknown status ${query.status}` },
    ]);
  }
  const limit = Math.min(query.limit ?? 50, maxLimit);
  const [created_at, id] = query.cursor ? decodeCursor(query.cursor, 2, validCursor) : [];
  const rows = await listDeliveries(ctx.db, {
    status: query.status,
    event_type: query.event_type,
    channel: query.channel,
    after: created_at !== undefined && id !== undefined ? { created_at, id } : undefined,
    limit: limit + 1,
  });
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    data: page.map((row) => asSeenBy(actor, row)),
    next_cursor: rows.length > limit && last ? encodeCursor([last.created_at, last.id]) : null,
  };
}

/** Due now with a fresh set of attempts; a delivery already delivered is a CONFLICT. */
export async function retryDeliveryNow(ctx: EngineContext, actor: Principal, id: string): Promise<DeliveryView> {
  assertDeliveryOperator(actor);
  if (!UUID_PATTERN.test(id)) throw new LedgerError('NOT_FOUND', `delivery ${id} does not exist`);
  const at = ctx.clock().toISOString();
  return inTransaction(ctx, async (tx) => {
    const result = await retryDelivery(tx, id, at);
    if (!result) throw new LedgerError('NOT_FOUND', `delivery ${id} does not exist`);
    if (!result.retried) {
      throw new LedgerError(
        'CONFLICT',
        `delivery ${id} was delivered at ${result.view.delivered_at}: only PENDING or DEAD deliveries can be retried`,
      );
    }
    const { view } = result;
    await new Journal(actor.id, at)
      .audit('delivery.retry', {
        delivery_id: id,
        event_id: view.event_id,
        channel: view.channel,
        recipient: view.recipient,
      })
      .writeForSystem(tx, ctx.signer);
    return asSeenBy(actor, view);
  });
}
