/** The README's table of error codes is the catalogue in server/http/errors.ts, code for code and status for status. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ERROR_STATUS } from '../../server/http/errors';

test('the README lists every error code with its status, and no other', () => {
  const readme = readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('Error codes ('), readme.indexOf('### Token layout'));
  const listed = Object.fromEntries([...section.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map(([, code, status]) => [code, Number(status)]));
  expect(listed).toEqual(ERROR_STATUS);
});
