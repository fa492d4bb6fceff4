import type { AuditEntry, NumberedEntry, PassedOver } from '../../audit/audit-entry.js';
import { fieldsOf, type Field, type FieldMask } from '../../domain/field-catalog.js';
import { FRIEND_NOT_APP_USER, FRIEND_OPTED_OUT, RULES_VERSION, type WithheldReason } from '../../domain/reason-codes.js';
import type { Instant } from '../../domain/time.js';
import type { GrantContext } from '../../store/access-token-repository.js';

export type WithheldMap = Readonly<Partial<Record<Field, WithheldReason>>>;

const NOTHING: readonly Field[] = Object.freeze([]);
const NONE_WITHHELD: WithheldMap = Object.freeze({});

/**
 * The audit entries of one Graph API request (issue 11): exactly one entry for the request (served
 * or denied, with how many friends its scan passed over) and one per subject the response carried.
 * So the log grows by 1 + the subjects shown, whatever was left out and why: nothing public about
 * the log tells a partner of hidden friends. Who asked, under which agreement and when is worked
 * out once here, and every entry is built with the same shape.
 */
export class RequestEntries {
  private readonly at: Instant;
  private readonly appId: string;
  private readonly partnerId: string;
  private readonly agreementId: string | null;
  private readonly agreementVersion: number | null;
  private readonly tokenMemberId: string;
  private readonly tokenMemberNumber: number | undefined;
  private readonly purpose: string;
  /** Why this app's friend lists pass friends over: their settings, or (third-party apps) not using the app. */
  private readonly passedOverReason: string;

  constructor(context: GrantContext, private readonly requestId: string, now: Instant) {
    this.at = now;
    this.appId = context.app.id;
    this.partnerId = context.partnerId;
    this.agreementId = context.agreement?.id ?? null;
    this.agreementVersion = context.agreement?.version ?? null;
    this.tokenMemberId = context.member.id;
    this.tokenMemberNumber = context.member.number;
    this.purpose = context.grant.purpose;
    this.passedOverReason = context.app.class === 'third_party' ? FRIEND_NOT_APP_USER : FRIEND_OPTED_OUT;
  }

  /**
   * The request was refused (`code`), about `subject` when there is one. `passedOver` 1 marks a
   * lookup of a friend left out by their settings: the same 404 as a stranger's, told apart only
   * inside this (blinded) entry.
   */
  denial(code: string, subject: string | null, passedOver = 0): AuditEntry {
    return this.entry(subject, 'denied', code, NOTHING, NONE_WITHHELD, passedOver);
  }

  /** The request was answered; its scan passed over `passedOver` friends (0 when it read no list). */
  served(passedOver: number): AuditEntry {
    return this.entry(null, 'served', null, NOTHING, NONE_WITHHELD, passedOver);
  }

  /**
   * `subject` was in the response with the fields of `released` (those it carried); `withheld` says why
   * the other requested fields were not. `subjectNumber`: its member number, read with its row.
   */
  released(subject: string, relation: 'self' | 'friend', released: FieldMask, withheld: WithheldMap, subjectNumber: number | undefined): NumberedEntry {
    return this.entry(subject, 'released', relation === 'self' ? null : 'through_friend', releasedList(released), withheld, 0, subjectNumber);
  }

  private entry(
    subject: string | null,
    outcome: AuditEntry['outcome'],
    code: string | null,
    released: readonly Field[],
    withheld: WithheldMap,
    passedOver: number,
    subjectNumber?: number,
  ): NumberedEntry {
    const counted: PassedOver | null = outcome === 'released' ? null : { count: passedOver, reason: this.passedOverReason };
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
      passedOver: counted,
      // Beside the entry for the counts, never logged (NumberedEntry); every entry has both, so all share one shape.
      subjectNumber,
      tokenMemberNumber: this.tokenMemberNumber,
    };
  }
}

/**
 * Released field lists by mask, one frozen list per mask for every request: entries that released
 * the same fields share it, and the counts work out what a list means once (audit-aggregates.ts).
 */
const RELEASED_LISTS = new Map<FieldMask, readonly Field[]>();

function releasedList(mask: FieldMask): readonly Field[] {
  let fields = RELEASED_LISTS.get(mask);
  if (fields === undefined) {
    if (RELEASED_LISTS.size >= 4096) RELEASED_LISTS.clear();
    RELEASED_LISTS.set(mask, (fields = Object.freeze(fieldsOf(mask))));
  }
  return fields;
}
