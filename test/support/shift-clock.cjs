// Preloaded into a backend process (NODE_OPTIONS=--require) by the clock fault tests: this
// process's clock runs TEST_CLOCK_OFFSET_SECONDS ahead (negative: behind), as a machine whose
// clock is off would; the rest of the stack keeps the real time.
'use strict';
const offsetMs = Number(process.env.TEST_CLOCK_OFFSET_SECONDS ?? 0) * 1000;
const RealDate = Date;

class ShiftedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + offsetMs);
    else super(...args);
  }

  static now() {
    return RealDate.now() + offsetMs;
  }
}

globalThis.Date = ShiftedDate;
