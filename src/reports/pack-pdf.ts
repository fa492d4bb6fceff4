import { existsSync } from 'node:fs';
import { Conflict, Overloaded } from '../domain/errors.js';

/**
 * The pack's HTML printed to PDF by a headless Chromium driven by playwright-core: the system's
 * Chromium (Debian's `chromium` package, or DATAPACT_CHROMIUM), never a browser downloaded at run
 * time. Without one, PDF is refused with 409 `pdf_unavailable` (the server works: HTML does).
 */

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** PDF was asked for but this machine cannot print one. */
export class PdfUnavailable extends Conflict {
  constructor(message: string) {
    super('pdf_unavailable', message);
  }
}

/** The PDF of a self-contained HTML document (no script runs, nothing is fetched). */
export async function htmlToPdf(document: string, chromium: string = DEFAULT_CHROMIUM): Promise<Buffer> {
  if (!existsSync(chromium)) {
    throw new PdfUnavailable(`PDF needs Chromium, which is not installed at ${chromium} (install Debian's chromium package, `
      + 'or set DATAPACT_CHROMIUM to a Chromium binary). The HTML format works without it.');
  }
  const { chromium: launcher } = await import('playwright-core');
  const browser = await launcher.launch({ executablePath: chromium, args: ['--headless', '--no-sandbox'], timeout: 30_000 });
  try {
    // The document is whole: offline and without JavaScript, anything in it that tried to reach out would get nothing.
    const context = await browser.newContext({ javaScriptEnabled: false, offline: true });
    const page = await context.newPage();
    await page.setContent(document, { waitUntil: 'load', timeout: 30_000 });
    return await page.pdf({ format: 'A4', printBackground: true, margin: { top: '15mm', bottom: '15mm', left: '12mm', right: '12mm' } });
  } finally {
    await browser.close();
  }
}

/** Prints the server's PDFs: `html => pdf`, given the document. */
export type PdfRender = (document: string) => Promise<Buffer>;

/**
 * At most `concurrency` PDFs printed at once by one server. Each print starts a Chromium (hundreds
 * of megabytes and a core for seconds), so staff clicking "PDF" together must not start one each:
 * past the limit the request is refused at once with 503 `overloaded` and Retry-After, as the audit
 * queue does when full, rather than queued behind the others.
 */
export class PdfPrinter {
  private printing = 0;

  constructor(private readonly render: PdfRender, private readonly concurrency = 1, private readonly retryAfterSeconds = 10) {}

  async print(document: string): Promise<Buffer> {
    if (this.printing >= this.concurrency) {
      throw new Overloaded(`${this.printing} PDF(s) are being printed, the most this server prints at once; try again after Retry-After seconds, or ask for the HTML.`, this.retryAfterSeconds);
    }
    this.printing++;
    try {
      return await this.render(document);
    } finally {
      this.printing--;
    }
  }
}
