import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SCHEMA_FILE, consoleApiTypes } from '../../scripts/openapi.js';

test("the console's typed client is generated from the server's OpenAPI document as it is now (run `npm run openapi` after changing a route)", async () => {
  assert.ok(readFileSync(SCHEMA_FILE, 'utf8') === await consoleApiTypes(), `${SCHEMA_FILE} is out of date: run \`npm run openapi\`, then commit it`);
});
