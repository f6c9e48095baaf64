// What the compiler must refuse (test/public-types.test.ts): proof that the check can fail.
import type { ApplyResult, NotExported } from 'changeledger';

export const wrongField = (result: ApplyResult): string => result.no_such_field;
export type Unknown = NotExported;

import { createLedgerClient } from 'changeledger/client';

const client = createLedgerClient({ baseUrl: 'http://127.0.0.1:8080' });
// A decision without the content hash of what was reviewed.
export const unbound = () => client.decide('CS-1', { decision: 'APPROVED' });
// A body the API does not take.
export const wrongBody = () => client.api.POST('/api/ledger/changesets', { body: { title: 42 } });
