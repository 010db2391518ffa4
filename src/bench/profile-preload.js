/**
 * `node --cpu-prof` for a process started with NODE_OPTIONS, which may not carry --cpu-prof: loaded by
 * NODE_OPTIONS="--require <this file>", it starts V8's sampling profiler at once and, when the process exits (a
 * worker stopped by SIGTERM exits through process.exit), writes the profile, in the .cpuprofile format, to the file
 * named by BENCH_CPU_PROFILE, with one more field, `wallStartMs` (Date.now() at its start). Plain CommonJS: it runs before ts-node is registered.
 */
"use strict";
const file = process.env.BENCH_CPU_PROFILE;
if (file) {
  const inspector = require("node:inspector");
  const fs = require("node:fs");
  const session = new inspector.Session();
  session.connect();
  // The main thread's session answers synchronously, so the profile is written before the process ends.
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 1000 });
  session.post("Profiler.start");
  // The wall-clock time of the profile's start, so that a window of the run can be cut out of it.
  const wallStartMs = Date.now();
  process.on("exit", () => {
    session.post("Profiler.stop", (err, result) => {
      if (!err) fs.writeFileSync(file, JSON.stringify({ ...result.profile, wallStartMs }));
    });
  });
}
