// Preloaded into the services a jest run shares (test/support/shared-services.ts): they run
// detached, so when the jest process that owns the run is gone (killed, or ended without its
// teardown) each stops itself with SIGTERM, as its teardown would have, instead of lingering.
'use strict';
const owner = Number(process.env.BROKER_TEST_OWNER_PID);
if (owner > 0) {
  const timer = setInterval(() => {
    try {
      process.kill(owner, 0);
    } catch {
      clearInterval(timer);
      process.kill(process.pid, 'SIGTERM');
    }
  }, 1000);
  timer.unref();
}
