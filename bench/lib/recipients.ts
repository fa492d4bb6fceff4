/**
 * The demo partners' agreements that have an app: whom the synthetic requests of bench/reads.ts and
 * bench/reports.ts go to, with the friend fields each agreement names.
 */
import type { Field } from '../../src/domain/field-catalog.js';
import type { Instant } from '../../src/domain/time.js';
import { inventoryReport } from '../../src/reports/inventory.js';
import type { Store } from '../../src/store/store.js';

export interface Recipient {
  readonly partnerId: string;
  readonly appId: string;
  readonly agreementId: string;
  readonly friendFields: readonly Field[];
}

export async function recipientsOf(store: Store, now: Instant): Promise<Recipient[]> {
  return (await inventoryReport(store, now)).data
    .filter((row) => row.agreement_id !== null && row.apps.length > 0)
    .map((row) => ({ partnerId: row.partner_id, appId: row.apps[0]!, agreementId: row.agreement_id!, friendFields: row.friend_fields as Field[] }));
}
