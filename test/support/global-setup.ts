/**
 * Before the run: the folder in which the services the run shares are registered (shared-services.ts).
 * A whole run (no path pattern) starts the common ones first, side by side, instead of one after
 * another as suites first ask for them; and before the first file, whose timing they would
 * otherwise disturb (on two cores, starting them beside the console e2e slowed it by a fifth).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '@jest/types';
import { COMMON_SERVICES, OWNER_PID_VARIABLE, RUN_DIR_VARIABLE, sharedService } from './shared-services';

export default async function globalSetup(globalConfig: Config.GlobalConfig): Promise<void> {
  process.env[RUN_DIR_VARIABLE] = mkdtempSync(path.join(os.tmpdir(), 'broker-test-run-'));
  process.env[OWNER_PID_VARIABLE] = String(process.pid);
  // A failed start is the suites' to report: they ask for the service again.
  if (globalConfig.testPathPattern) return;
  await Promise.all(COMMON_SERVICES.map((service) => sharedService(...service, 120_000).catch(() => undefined)));
}
