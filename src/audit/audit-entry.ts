import type { Field } from '../domain/field-catalog.js';
import type { WithheldReason } from '../domain/reason-codes.js';
import type { Instant } from '../domain/time.js';

/**
 * One line of the audit log (PRODUCT.md §3): a subject released or withheld to a recipient, or a
 * request refused. Written before the response that it describes is sent.
 */
export interface AuditEntry {
  readonly at: Instant;
  readonly requestId: string;
  readonly appId: string | null;
  readonly partnerId: string | null;
  readonly agreementId: string | null;
  readonly agreementVersion: number | null;
  readonly rulesVersion: string;
  readonly tokenMemberId: string | null;
  readonly subjectMemberId: string | null;
  readonly purpose: string | null;
  /** `released`: the subject was in the response; `withheld`: left out by the rules; `denied`: the request was refused. */
  readonly outcome: 'released' | 'withheld' | 'denied';
  /** The refusal's error code, or why a subject was left out. */
  readonly code: string | null;
  readonly released: readonly Field[];
  readonly withheld: Readonly<Partial<Record<Field, WithheldReason>>>;
}
