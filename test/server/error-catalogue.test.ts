/** The error-code table of docs/backend.md is the catalogue in server/http/errors.ts, code for code and status for status. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ERROR_STATUS } from '../../server/http/errors';

test('docs/backend.md lists every error code with its status, and no other', () => {
  const page = readFileSync(path.resolve(__dirname, '..', '..', 'docs', 'backend.md'), 'utf8');
  const start = page.indexOf('\n## Error codes\n');
  expect(start).toBeGreaterThan(-1);
  const section = page.slice(start + 1, page.indexOf('\n## ', start + 1));
  const listed = Object.fromEntries([...section.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map(([, code, status]) => [code, Number(status)]));
  expect(listed).toEqual(ERROR_STATUS);
});
