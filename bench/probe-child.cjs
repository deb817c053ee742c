// A bare `node` (as users and workers run it, without tsx's loader) that starts processes for the bench, so the cost
// of forking the big bench process never lands in a figure. One JSON request per stdin line, one JSON reply per line:
//   {"op":"time","file":F,"args":[...],"env":{...}} -> {"ms":wall time from spawn to exit,"code":exit code}
//   {"op":"floor","command":C} -> {"before":epoch ms just before spawning `sh -c C` exactly as the worker's runner
//                                  does (own process group, piped output)}, sent once its pipes closed
'use strict';
const { spawn } = require('node:child_process');
const { createInterface } = require('node:readline');

const reply = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);

createInterface({ input: process.stdin }).on('line', (line) => {
  const request = JSON.parse(line);
  if (request.op === 'time') {
    const started = process.hrtime.bigint();
    const child = spawn(request.file, request.args, { env: request.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.resume();
    child.on('error', (err) => reply({ error: err.message }));
    child.on('close', (code) => reply({ ms: Number(process.hrtime.bigint() - started) / 1e6, code }));
  } else if (request.op === 'floor') {
    const before = Date.now();
    const child = spawn('/bin/sh', ['-c', request.command], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
    child.stdout.resume();
    child.stderr.resume();
    child.on('error', (err) => reply({ error: err.message }));
    child.on('close', () => reply({ before }));
  } else reply({ error: `unknown op ${request.op}` });
});
