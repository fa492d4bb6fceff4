import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Overloaded } from '../../src/domain/errors.js';
import { PdfPrinter } from '../../src/reports/pack-pdf.js';

/** A render held open until the test lets it finish, so that "while one is printing" needs no timing. */
function heldRender() {
  const started: string[] = [];
  const finish: ((pdf: Buffer) => void)[] = [];
  const render = (document: string) => {
    started.push(document);
    return new Promise<Buffer>((resolve) => finish.push(resolve));
  };
  return { render, started, finish };
}

test('a second PDF while one is printing is refused at once with 503 overloaded and Retry-After, without starting a Chromium', async () => {
  const { render, started, finish } = heldRender();
  const printer = new PdfPrinter(render, 1, 10);
  const first = printer.print('first');
  await assert.rejects(printer.print('second'), (error: unknown) => {
    assert.ok(error instanceof Overloaded);
    assert.equal(error.status, 503);
    assert.equal(error.code, 'overloaded');
    assert.equal(error.retryAfterSeconds, 10);
    assert.match(error.message, /HTML/);
    return true;
  });
  assert.deepEqual(started, ['first']);
  finish[0]!(Buffer.from('%PDF-first'));
  assert.equal((await first).toString(), '%PDF-first');
});

test('the next PDF prints once the one before it has finished, or failed', async () => {
  const { render, started, finish } = heldRender();
  const printer = new PdfPrinter(render, 1);
  const first = printer.print('one');
  finish[0]!(Buffer.from('1'));
  await first;
  const failing = new PdfPrinter(() => Promise.reject(new Error('chromium crashed')), 1);
  await assert.rejects(failing.print('x'), /chromium crashed/);
  await assert.rejects(failing.print('y'), /chromium crashed/, 'a failed print frees its place');
  const second = printer.print('two');
  assert.deepEqual(started, ['one', 'two']);
  finish[1]!(Buffer.from('2'));
  assert.equal((await second).toString(), '2');
});
