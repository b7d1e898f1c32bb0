// Preloaded into a backend process (NODE_OPTIONS=--require) by the fault tests: this process's
// clock runs TEST_CLOCK_OFFSET_SECONDS ahead (negative: behind), as a machine whose clock is off
// would; the rest of the stack keeps the real time. With TEST_CLOCK_FILE set, SIGUSR2 makes it
// read the offset again from that file (seconds) and acknowledge by writing what it applied to
// `<file>.<pid>`, so a test moves a running backend's clock instead of waiting (fleet.ts).
'use strict';
const fs = require('node:fs');

let offsetMs = Number(process.env.TEST_CLOCK_OFFSET_SECONDS ?? 0) * 1000;
const file = process.env.TEST_CLOCK_FILE;
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

if (file) {
  const read = () => {
    const text = fs.readFileSync(file, 'utf8');
    offsetMs = Number(text) * 1000;
    return text;
  };
  // Started after a move: the offset in force, not the one in the environment.
  if (fs.existsSync(file)) read();
  process.on('SIGUSR2', () => fs.writeFileSync(`${file}.${process.pid}`, read()));
}
