// The spawn-ceiling loop, plain JavaScript so it runs in a bare `node` like a queuectl worker (no tsx loader).
// argv: COUNTER_FILE TOTAL_RUNS CONCURRENCY [ENGINE]. Prints "ready", waits for a line on stdin, then keeps
// CONCURRENCY `sh -c true` in flight. ENGINE `child_process` (the default) is the plain Node way: own process group,
// piped output, done when the pipes close. ENGINE `posix_spawn` is queuectl's addon (build/Release) with no queue
// around it: own session, stdout and stderr onto files (as the C loop of issue 14 and the workers do), done at exit;
// its `spawn` holds the loop's thread until the child exec'd. ENGINE `posix_spawn_async` is the addon's spawnAsync,
// which starts each child on a libuv threadpool thread, as the workers do. Runs are shared with the other loops
// through COUNTER_FILE: each run first appends a byte to it and starts only while the file holds at most TOTAL_RUNS bytes, so loops that run faster take more runs, as workers sharing a
// queue do, and no loop is left finishing a fixed share alone. Prints {"start","end","runs","cpuMs"} at the end
// (times in epoch ms; cpuMs is this process's own CPU time from "go" on, its children's not).
'use strict';
const { spawn } = require('node:child_process');
const { fstatSync, openSync, writeSync } = require('node:fs');
const { join } = require('node:path');

const [counterFile, totalText, concurrencyText, engine = 'child_process'] = process.argv.slice(2);
const total = Number(totalText);
const concurrency = Math.max(1, Number(concurrencyText));
const counter = openSync(counterFile, 'a');
const addon = engine.startsWith('posix_spawn') ? require(join(__dirname, '..', 'build', 'Release', 'queuectl_spawn.node')) : null;
const output = addon ? openSync(`${counterFile}.out`, 'a') : -1;
const wallMs = () => performance.timeOrigin + performance.now();

function claim() {
  writeSync(counter, '.');
  return fstatSync(counter).size <= total;
}

process.stdout.write('ready\n');
process.stdin.once('data', () => {
  const start = wallMs();
  const cpuAtStart = process.cpuUsage();
  let running = 0;
  let runs = 0;
  const launch = () => {
    if (!claim()) {
      if (running === 0) {
        const cpu = process.cpuUsage(cpuAtStart);
        process.stdout.write(`${JSON.stringify({ start, end: wallMs(), runs, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
        process.exit(0);
      }
      return;
    }
    running++;
    const done = () => {
      running--;
      runs++;
      launch();
    };
    if (addon) {
      const env = [];
      for (const [name, value] of Object.entries(process.env)) env.push(`${name}=${value}`);
      if (engine === 'posix_spawn_async') {
        addon.spawnAsync('/bin/sh', ['/bin/sh', '-c', 'true'], null, env, output, output, (err) => {
          if (err) {
            process.stderr.write(`spawn failed: ${err.message}\n`);
            process.exit(1);
          }
        }, done);
      } else addon.spawn('/bin/sh', ['/bin/sh', '-c', 'true'], null, env, output, output, done);
      return;
    }
    const child = spawn('/bin/sh', ['-c', 'true'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
    child.stdout.resume();
    child.stderr.resume();
    child.on('error', (err) => {
      process.stderr.write(`spawn failed: ${err.message}\n`);
      process.exit(1);
    });
    child.on('close', done);
  };
  for (let i = 0; i < concurrency; i++) launch();
});
