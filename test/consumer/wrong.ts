// What the compiler must refuse (test/public-types.test.ts): proof that the check can fail.
import type { ApplyResult, NotExported } from 'changeledger';

export const wrongField = (result: ApplyResult): string => result.no_such_field;
export type Unknown = NotExported;
