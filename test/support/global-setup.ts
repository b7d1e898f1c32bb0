/**
 * Before the run: the folder in which the services the run shares are registered (shared-services.ts).
 * A whole run (no path pattern) starts the common ones at once, in the background: they come up
 * beside the first files instead of one after another as suites first ask for them.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '@jest/types';
import { COMMON_SERVICES, OWNER_PID_VARIABLE, RUN_DIR_VARIABLE, sharedService } from './shared-services';

export default function globalSetup(globalConfig: Config.GlobalConfig): void {
  process.env[RUN_DIR_VARIABLE] = mkdtempSync(path.join(os.tmpdir(), 'broker-test-run-'));
  process.env[OWNER_PID_VARIABLE] = String(process.pid);
  // A suite that asks for one meanwhile waits for this start; a failed start is its to report.
  if (!globalConfig.testPathPattern) for (const service of COMMON_SERVICES) void sharedService(...service, 120_000).catch(() => undefined);
}
