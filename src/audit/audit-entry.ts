import type { Field } from '../domain/field-catalog.js';
import type { WithheldReason } from '../domain/reason-codes.js';
import type { Instant } from '../domain/time.js';

/**
 * One line of the audit log (PRODUCT.md §3): a subject released or withheld to a recipient, a
 * request refused, or a staff action. Written before the response that it describes is sent.
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
  /**
   * `served`: a Graph API request was answered (its request entry); `released`: the subject was in
   * the response; `denied`: the request was refused; `staff_action`: a member of staff (or the
   * system) changed something. `withheld` (a friend left out, one entry each) is only in logs
   * written before issue 11: friends passed over are now counted in the request's entry.
   */
  readonly outcome: 'released' | 'withheld' | 'denied' | 'staff_action' | 'served';
  /** The refusal's error code, why a subject was left out, or a staff action's name. */
  readonly code: string | null;
  readonly released: readonly Field[];
  readonly withheld: Readonly<Partial<Record<Field, WithheldReason>>>;
  /** Who did a staff action: a staff id, or `system` for timed transitions. Absent or null otherwise. */
  readonly actor?: string | null;
  /** A staff action's name, such as `partner.create` (the same as `code`). Absent or null otherwise. */
  readonly action?: string | null;
  /** What a staff action changed (client-safe, never a secret). Absent or null otherwise. */
  readonly detail?: Readonly<Record<string, unknown>> | null;
  /**
   * On a request's entry: how many friends the scan passed over and why (`friend_opted_out` for
   * device partners, `friend_not_app_user` for third-party apps), never who. Absent or null otherwise.
   */
  readonly passedOver?: PassedOver | null;
}

/**
 * An entry with what the counts need beside it, never logged (neither stored nor hashed): the member
 * numbers (`members.number`, migration 0037) of its subject and of its token's member, where the
 * code that built it read them with the members' rows, as the Graph API does. The counts' member
 * sets are bitmaps over these numbers; an entry without them has its members looked up by id.
 */
export interface NumberedEntry extends AuditEntry {
  readonly subjectNumber?: number;
  readonly tokenMemberNumber?: number;
}

export interface PassedOver {
  readonly count: number;
  readonly reason: string;
}
