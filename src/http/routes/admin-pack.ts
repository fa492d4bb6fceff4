import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { packHtml } from '../../reports/pack-html.js';
import { htmlToPdf, PdfPrinter } from '../../reports/pack-pdf.js';
import { PACK_MONTHS, regulatorPack } from '../../reports/pack.js';
import type { AppContext } from '../app.js';
import { requirePermission } from '../plugins/staff-auth.js';
import { ADMIN_ERRORS, StringEnum, security } from './admin-schemas.js';

/** The pack's download name: `datapact-pack[-<partner>]-<time>.<html|pdf>`. */
export function packFileName(generatedAt: string, partnerId: string | null, format: 'html' | 'pdf'): string {
  const partner = partnerId === null ? '' : `-${partnerId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return `datapact-pack${partner}-${generatedAt.replace(/[:.]/g, '-')}.${format}`;
}

/** The regulator's pack (PRODUCT.md §6): one document, HTML or PDF. Every staff role may read it, as the other reports. */
export const adminPackRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async (app, { context }) => {
  const { store, clock, controller, checkpoints } = context;
  const printer = new PdfPrinter((document) => htmlToPdf(document, context.chromium));

  app.get('/reports/pack', {
    onRequest: requirePermission('read'),
    schema: {
      summary: "Regulator's pack: one self-contained document answering the 2018 letters' questions for every partner or one",
      description: 'Who (partner, country, risk flags), which data (fields per agreement, sensitive ones marked), since when, stored '
        + `where, which safeguards (the records of processing), audited how (the latest tree head, its signature checked with the log's `
        + 'public key as the document is written, and the witnesses\' cosignatures), how many members were reached (the inventory, '
        + `the exposure over the last ${PACK_MONTHS} months and a chart per month) and what the 2018 rules would have reached. `
        + 'HTML with inline CSS and SVG, no script, nothing fetched; PDF printed from it by the server\'s Chromium '
        + '(409 `pdf_unavailable` when it has none; one PDF at a time per server, 503 `overloaded` with Retry-After while one is '
        + 'being printed). Both are downloads.',
      tags: ['admin: reports'],
      security,
      querystring: Type.Object({
        format: Type.Optional(StringEnum(['html', 'pdf'] as const, 'html (default) or pdf')),
        partner_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'only this partner (404 when there is none)' })),
      }, { additionalProperties: false }),
      response: {
        200: {
          description: 'The pack, as an attachment',
          content: {
            'text/html': { schema: Type.String() },
            'application/pdf': { schema: Type.String({ format: 'binary' }) },
          },
        },
        ...ADMIN_ERRORS,
      },
    },
  }, async (request, reply) => {
    const { format = 'html', partner_id: partnerId } = request.query;
    const pack = await regulatorPack(
      { store, controller, log: { publicKey: checkpoints.publicKey, origin: checkpoints.origin, witnessKeys: checkpoints.witnessKeys, quorum: checkpoints.quorum } },
      { now: clock(), ...(partnerId === undefined ? {} : { partnerId }) },
    );
    const document = packHtml(pack);
    const body = format === 'pdf' ? await printer.print(document) : document;
    return reply
      .type(format === 'pdf' ? 'application/pdf' : 'text/html; charset=utf-8')
      .header('content-disposition', `attachment; filename="${packFileName(pack.generated_at, pack.partner_id, format)}"`)
      .send(body);
  });
};
