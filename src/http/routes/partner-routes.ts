import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { CERTIFICATION_GRACE_DAYS, notInEffectCause, type Agreement } from '../../domain/agreement.js';
import { AppDisabled, Conflict, InvalidToken, NotFound } from '../../domain/errors.js';
import { wasActivated } from '../../domain/agreement-in-force.js';
import { addDays, type Instant } from '../../domain/time.js';
import { AgreementService } from '../../lifecycle/agreement-service.js';
import type { ClientTokenContext } from '../../store/client-token-repository.js';
import type { FilingKind, PartnerFiling } from '../../store/partner-filing-repository.js';
import { AGREEMENT_TERMS_PROPERTIES, agreementTermsView } from '../agreement-terms-view.js';
import { DateTime, iso } from './admin-schemas.js';
import type { AppContext } from '../app.js';
import { bearerOf } from '../bearer.js';
import { confirmDeletion, deletionRequestView } from '../privacy/deletion-requests.js';
import { DeletionRequestList, DeletionRequestView } from '../privacy/privacy-schemas.js';
import { ERROR_RESPONSES, MultiLineText, SingleLineText } from '../schemas.js';
import { acceptJsonBodiesOnly } from '../validation.js';


const AgreementView = Type.Object({
  ...AGREEMENT_TERMS_PROPERTIES,
  suspended_if_uncertified_at: DateTime,
  last_certified_at: Type.Union([DateTime, Type.Null()]),
}, { additionalProperties: false });

const FilingBody = Type.Object({
  signed_by: SingleLineText({ maxLength: 200, description: 'The person at the partner who signs.' }),
  statement: MultiLineText({ maxLength: 10_000 }),
}, { additionalProperties: false });

const FilingView = Type.Object({
  id: Type.String(),
  kind: Type.Optional(Type.String({ description: '`certification` or `deletion_attestation` (in the list of filings).' })),
  agreement_id: Type.String(),
  agreement_version: Type.Integer(),
  signed_by: Type.String(),
  statement: Type.String(),
  filed_at: DateTime,
}, { additionalProperties: false });

const security = [{ oauth2: [] }];
const tags = ['partner'];

function filingView(filing: PartnerFiling, withKind = false): Static<typeof FilingView> {
  return {
    id: filing.id, ...(withKind ? { kind: filing.kind } : {}), agreement_id: filing.agreementId, agreement_version: filing.agreementVersion,
    signed_by: filing.signedBy, statement: filing.statement, filed_at: iso(filing.filedAt),
  };
}

/**
 * What partner servers (client credentials, never a member's token) read and file about their own
 * agreement (PRODUCT.md §5). Filings are recorded here; the lifecycle acts on them.
 */
export const partnerRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async (app, { context }) => {
  const { store, clock } = context;
  const lifecycle = new AgreementService(store.db);
  acceptJsonBodiesOnly(app);

  async function authenticate(request: FastifyRequest): Promise<{ partner: ClientTokenContext; now: Instant }> {
    const bearer = bearerOf(request);
    if (bearer === undefined) throw new InvalidToken('Send a client-credentials access token as `Authorization: Bearer <token>`.');
    const partner = await store.clientTokens.verify(bearer);
    const now = clock();
    if (!partner || now >= partner.expiresAt || (partner.revokedAt !== null && partner.revokedAt <= now)) {
      throw new InvalidToken('The access token is not valid, has expired or was revoked.');
    }
    if (partner.app.status !== 'active') throw new AppDisabled(`The app ${partner.app.id} is disabled.`);
    return { partner, now };
  }

  /** The agreement in force at `now` (else the one that ended last, else a renewal still to start): what certifications land on. */
  async function agreementOf(partner: ClientTokenContext, now: Instant): Promise<Agreement> {
    const agreement = await store.agreements.currentForApp(partner.app.id, now);
    if (!agreement) throw new NotFound(`No agreement covers the app ${partner.app.id}.`);
    return agreement;
  }

  /** Every agreement of the app the partner has worked (or will work) under: ended ones too, never a draft. */
  async function agreementsOf(partner: ClientTokenContext): Promise<Agreement[]> {
    return (await store.agreements.ofApps([partner.app.id])).filter(wasActivated)
      .sort((a, b) => a.startsAt - b.startsAt || a.id.localeCompare(b.id));
  }

  async function partnerView(agreement: Agreement, now: Instant): Promise<Static<typeof AgreementView>> {
    const certifications = await store.filings.ofAgreement('certification', agreement.id);
    const lastCertified = certifications[certifications.length - 1];
    return {
      ...agreementTermsView(agreement, now),
      suspended_if_uncertified_at: iso(addDays(agreement.certificationDueAt, CERTIFICATION_GRACE_DAYS)),
      last_certified_at: lastCertified ? iso(lastCertified.filedAt) : null,
    };
  }

  async function file(request: FastifyRequest, body: Static<typeof FilingBody>, kind: FilingKind) {
    const { partner, now } = await authenticate(request);
    const agreement = await agreementOf(partner, now);
    if (kind === 'deletion_attestation') {
      const cause = notInEffectCause(agreement, now);
      if (cause !== 'access_ended' && cause !== 'expired' && cause !== 'terminated') {
        throw new Conflict('access_not_ended', 'A deletion attestation is filed after access has ended (wind-down `access_ended` or the end date).');
      }
    }
    // The filing and what it does to the lifecycle (a certification moves the due date a year on; an
    // attestation terminates) are written together, with the history row, audit entry and notice.
    const filing = await lifecycle.partnerFiling(kind, agreement.id, partner.app.id,
      { signedBy: body.signed_by, statement: body.statement }, { requestId: request.id, now });
    return filingView(filing);
  }

  app.get('/agreement', {
    schema: {
      summary: "The partner's agreement in force now (else the one that ended last, else a renewal still to start): terms, status, certification due date and wind-down schedule",
      security,
      tags,
      response: { 200: AgreementView, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const { partner, now } = await authenticate(request);
    return partnerView(await agreementOf(partner, now), now);
  });

  app.get('/agreements', {
    schema: {
      summary: "Every agreement the app has worked under or will: ended and terminated ones, the one in force, renewals to come; by start",
      security,
      tags,
      response: {
        200: Type.Object({ data: Type.Array(Type.Object({ ...AgreementView.properties, in_force: Type.Boolean({ description: 'The one GET /v1/partner/agreement answers with now.' }) }, { additionalProperties: false })) }, { additionalProperties: false }),
        ...ERROR_RESPONSES,
      },
    },
  }, async (request) => {
    const { partner, now } = await authenticate(request);
    const agreements = await agreementsOf(partner);
    const current = await store.agreements.currentForApp(partner.app.id, now);
    const data = [];
    for (const agreement of agreements) data.push({ ...(await partnerView(agreement, now)), in_force: agreement.id === current?.id });
    return { data };
  });

  app.get('/filings', {
    schema: {
      summary: "The partner's own certifications and deletion attestations for the app's agreements, ended ones included; oldest first",
      security,
      tags,
      response: { 200: Type.Object({ data: Type.Array(FilingView) }, { additionalProperties: false }), ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const { partner } = await authenticate(request);
    const ids = (await agreementsOf(partner)).map((a) => a.id);
    const filings = [...await store.filings.ofAgreements('certification', ids), ...await store.filings.ofAgreements('deletion_attestation', ids)]
      .sort((a, b) => a.filedAt - b.filedAt || a.id.localeCompare(b.id));
    return { data: filings.map((filing) => filingView(filing, true)) };
  });

  app.get('/deletion-requests', {
    schema: {
      summary: "Members' requests that the partner delete their data, still unconfirmed; oldest first (each was also sent as a `member.deletion_requested` notice)",
      security,
      tags,
      response: { 200: DeletionRequestList, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const { partner, now } = await authenticate(request);
    return { data: (await store.deletionRequests.openOfPartner(partner.app.partnerId)).map((r) => deletionRequestView(r, now)) };
  });

  app.post('/deletion-requests/:id/confirm', {
    schema: {
      summary: "Confirm that the member's data was deleted; the member sees it in their privacy center. Confirming again changes nothing",
      security,
      tags,
      params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
      response: { 200: DeletionRequestView, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const { partner, now } = await authenticate(request);
    return deletionRequestView(await confirmDeletion(store, partner.app.partnerId, request.params.id, now), now);
  });

  app.post('/certifications', {
    schema: {
      summary: 'File the yearly certification of the agreement',
      security,
      tags,
      body: FilingBody,
      response: { 201: FilingView, ...ERROR_RESPONSES, 409: Type.Ref('ErrorResponse') },
    },
  }, async (request, reply) => reply.status(201).send(await file(request, request.body, 'certification')));

  app.post('/deletion-attestations', {
    schema: {
      summary: 'Attest that the data received was deleted (after access has ended)',
      security,
      tags,
      body: FilingBody,
      response: { 201: FilingView, ...ERROR_RESPONSES, 409: Type.Ref('ErrorResponse') },
    },
  }, async (request, reply) => reply.status(201).send(await file(request, request.body, 'deletion_attestation')));
};
