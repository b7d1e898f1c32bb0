/** Before the run: the folder in which the services the run shares are registered (shared-services.ts). */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OWNER_PID_VARIABLE, RUN_DIR_VARIABLE } from './shared-services';

export default function globalSetup(): void {
  process.env[RUN_DIR_VARIABLE] = mkdtempSync(path.join(os.tmpdir(), 'broker-test-run-'));
  process.env[OWNER_PID_VARIABLE] = String(process.pid);
}
