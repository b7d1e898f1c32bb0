/**
 * Which database failures are passing ones (503 registry_unavailable, every token kept) rather
 * than bugs (500): a deadlock PostgreSQL broke by aborting one transaction was a 500 in the lease
 * soak, though nothing of it was kept and trying again is what PostgreSQL asks.
 */
import { errorAnswer } from '../../server/http/errors';
import { isStorageUnavailable } from '../../server/storage/errors';

const pgError = (code: string) => Object.assign(new Error(`error ${code}`), { code });

test('a deadlock or a serialization failure is a passing failure, answered 503 registry_unavailable; a syntax error is a bug', () => {
  expect(['40P01', '40001', '57P01', '08006'].map((code) => isStorageUnavailable(pgError(code)))).toEqual([true, true, true, true]);
  expect(isStorageUnavailable(pgError('42601'))).toBe(false);
  expect([errorAnswer(pgError('40P01')).status, errorAnswer(pgError('40P01')).code]).toEqual([503, 'registry_unavailable']);
});
