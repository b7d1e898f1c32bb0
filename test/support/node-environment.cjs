// jest's Node environment, and the last of test/support/cleanup.ts's work: once a file's own
// afterAll hooks have run (they may stop what they started, gracefully), whatever still runs is
// killed. An afterAll in cleanup.ts would run before them: jest runs hooks in the order declared.
'use strict';
const { TestEnvironment } = require('jest-environment-node');

/** Where cleanup.ts leaves that kill, on the file's global. */
const KILL_LEFTOVERS = Symbol.for('broker-test.killLeftovers');

module.exports = class NodeEnvironment extends TestEnvironment {
  async handleTestEvent(event) {
    if (event.name === 'run_finish') await this.global[KILL_LEFTOVERS]?.();
  }
};
