/**
 * node-casbin beside Cedar (issue 15): the field rules of PRODUCT.md §4 in the pure-JavaScript
 * engine a Node developer would pick, asked the questions bench/cedar/index.ts asks Datapact and
 * Cedar, one (subject, field) at a time.
 *
 * Two models, each with its enforcer built once before anything is timed:
 * - `abac` (casbin-abac.conf): the idiomatic ABAC model, one matcher over the attributes of the
 *   token and of the field's owner, no policy rows; asked with `enforceSync`.
 * - `reasons` (casbin-reasons.conf + casbin-reasons.csv): one policy row per rule step, in the
 *   order the rules check them, the first row that holds deciding; asked with `enforceExSync`,
 *   whose returned row names the reason, compared with the reason Datapact withholds the field for.
 */
import { join } from 'node:path';
import { newEnforcer, type Enforcer } from 'casbin';
import type { Audience } from '../../src/domain/audience.js';
import type { Field, ObjectField } from '../../src/domain/field-catalog.js';
import { audienceOf, type GeneratedRequest } from './world.js';
import { PROJECT_ROOT } from '../../src/project-root.js';

/** The policy and model files stay in bench/cedar/ when this module runs compiled from .build/. */
const here = join(PROJECT_ROOT, 'bench', 'cedar');
export const CASBIN_MODEL_FILES = {
  abac: ['casbin-abac.conf'],
  reasons: ['casbin-reasons.conf', 'casbin-reasons.csv'],
} as const;
export type CasbinModel = keyof typeof CASBIN_MODEL_FILES;
export const CASBIN_MODELS = Object.keys(CASBIN_MODEL_FILES) as CasbinModel[];

/** `r.sub`: the token, with everything the rules read about its app, agreement and grant. */
interface CasbinToken {
  readonly id: string;
  readonly now: number;
  readonly app: { readonly id: string; readonly class: string };
  readonly agreement: {
    readonly partnerId: string;
    readonly memberFields: readonly Field[];
    readonly friendFields: readonly Field[];
    readonly windDown: { readonly noFriendData: number } | null;
  };
  readonly grant: { readonly memberFields: readonly Field[]; readonly friendFields: readonly Field[] };
}

/** `r.obj`: one field of one member, as the token's member sees that member. */
interface CasbinField {
  readonly field: ObjectField;
  readonly audience: Audience;
  readonly owner: {
    readonly id: string;
    readonly isFriend: boolean;
    readonly platformEnabled: boolean;
    readonly shareViaFriends: boolean;
    readonly usesApp: boolean;
    readonly excludedApps: readonly string[];
    readonly excludedPartners: readonly string[];
  };
}

/** The casbin requests for every field decision, built once before anything is timed. */
export interface CasbinRequests {
  readonly subs: readonly CasbinToken[];
  readonly objs: readonly CasbinField[];
}

export function casbinRequests(requests: readonly GeneratedRequest[]): CasbinRequests {
  const subs: CasbinToken[] = [];
  const objs: CasbinField[] = [];
  for (const r of requests) {
    const terms = r.context.agreement!;
    const sub: CasbinToken = {
      id: r.context.member.id,
      now: r.now,
      app: { id: r.context.app.id, class: r.context.app.class },
      agreement: {
        partnerId: terms.partnerId,
        memberFields: r.agreementMemberFields,
        friendFields: r.agreementFriendFields,
        windDown: terms.windDown === null ? null : { noFriendData: terms.windDown.noFriendData },
      },
      grant: { memberFields: r.grantMemberFields, friendFields: r.grantFriendFields },
    };
    const owner = {
      id: r.subject.id,
      isFriend: r.subject.isFriend,
      platformEnabled: r.subject.platformEnabled,
      shareViaFriends: r.subject.shareViaFriends,
      usesApp: r.subject.usesApp,
      excludedApps: r.subject.exclusions.apps,
      excludedPartners: r.subject.exclusions.partners,
    };
    for (const field of r.requestedFields) {
      subs.push(sub);
      objs.push({ field, audience: audienceOf(r.audiences, field), owner });
    }
  }
  return { subs, objs };
}

export function casbinEnforcer(model: CasbinModel): Promise<Enforcer> {
  return newEnforcer(...CASBIN_MODEL_FILES[model].map((file) => join(here, file)));
}

/** casbin's answer for every field decision: allowed, and for `reasons` the deciding row's reason. */
export interface CasbinAnswers {
  readonly allowed: Uint8Array;
  readonly reasons: string[];
}

export function casbinAnswers(model: CasbinModel, { subs }: CasbinRequests): CasbinAnswers {
  return { allowed: new Uint8Array(subs.length), reasons: new Array<string>(model === 'reasons' ? subs.length : 0) };
}

/**
 * Field decisions `from` to `to` (excluded) through one model, into `answers`. Timed as it is:
 * keeping the answers costs little beside an enforce call, and no answer can be skipped.
 */
export function casbinDecide(model: CasbinModel, enforcer: Enforcer, { subs, objs }: CasbinRequests, from: number, to: number, answers: CasbinAnswers): void {
  const { allowed, reasons } = answers;
  for (let i = from; i < to; i++) {
    if (model === 'abac') {
      allowed[i] = enforcer.enforceSync(subs[i], objs[i], 'read') ? 1 : 0;
    } else {
      const [allow, row] = enforcer.enforceExSync(subs[i], objs[i], 'read');
      allowed[i] = allow ? 1 : 0;
      reasons[i] = row[0] ?? '(no row)';
    }
  }
}

/** What casbin was asked, for a disagreement shown in full. */
export function describeCasbinRequest({ subs, objs }: CasbinRequests, i: number): string {
  return JSON.stringify({ sub: subs[i], obj: objs[i], act: 'read' });
}
