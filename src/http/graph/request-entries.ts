import type { AuditEntry } from '../../audit/audit-entry.js';
import { fieldsOf, type Field, type FieldMask } from '../../domain/field-catalog.js';
import { FRIEND_OPTED_OUT, RULES_VERSION, type WithheldReason } from '../../domain/reason-codes.js';
import type { Instant } from '../../domain/time.js';
import type { GrantContext } from '../../store/access-token-repository.js';

export type WithheldMap = Readonly<Partial<Record<Field, WithheldReason>>>;

const NOTHING: readonly Field[] = Object.freeze([]);
const NONE_WITHHELD: WithheldMap = Object.freeze({});

/**
 * The audit entries of one Graph API request. A friend list writes one entry per friend it
 * passes, dozens per request, that differ only in subject and decision: who asked, under which
 * agreement and when is worked out once here, and every entry is built with the same shape.
 */
export class RequestEntries {
  private readonly at: Instant;
  private readonly appId: string;
  private readonly partnerId: string;
  private readonly agreementId: string | null;
  private readonly agreementVersion: number | null;
  private readonly tokenMemberId: string;
  private readonly purpose: string;
  /** Released field lists by mask: the friends of a page mostly share one. */
  private readonly releasedLists = new Map<FieldMask, readonly Field[]>();

  constructor(context: GrantContext, private readonly requestId: string, now: Instant) {
    this.at = now;
    this.appId = context.app.id;
    this.partnerId = context.partnerId;
    this.agreementId = context.agreement?.id ?? null;
    this.agreementVersion = context.agreement?.version ?? null;
    this.tokenMemberId = context.member.id;
    this.purpose = context.grant.purpose;
  }

  /** The request was refused (`code`), about `subject` when there is one. */
  denial(code: string, subject: string | null): AuditEntry {
    return this.entry(subject, 'denied', code, NOTHING, NONE_WITHHELD);
  }

  /** `subject` was in the response with `released`; `withheld` says why the other requested fields were not. */
  released(subject: string, relation: 'self' | 'friend', released: FieldMask, withheld: WithheldMap): AuditEntry {
    let fields = this.releasedLists.get(released);
    if (fields === undefined) {
      fields = Object.freeze(fieldsOf(released));
      this.releasedLists.set(released, fields);
    }
    return this.entry(subject, 'released', relation === 'self' ? null : 'through_friend', fields, withheld);
  }

  /** A friend left out by their own settings: recorded here and nowhere else (PRODUCT.md §4). */
  optedOut(subject: string): AuditEntry {
    return this.entry(subject, 'withheld', FRIEND_OPTED_OUT, NOTHING, NONE_WITHHELD);
  }

  private entry(
    subject: string | null,
    outcome: AuditEntry['outcome'],
    code: string | null,
    released: readonly Field[],
    withheld: WithheldMap,
  ): AuditEntry {
    return {
      at: this.at,
      requestId: this.requestId,
      appId: this.appId,
      partnerId: this.partnerId,
      agreementId: this.agreementId,
      agreementVersion: this.agreementVersion,
      rulesVersion: RULES_VERSION,
      tokenMemberId: this.tokenMemberId,
      subjectMemberId: subject,
      purpose: this.purpose,
      outcome,
      code,
      released,
      withheld,
    };
  }
}
