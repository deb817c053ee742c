// The Node peer of issue 14: pg-boss (10.x, the last line for Node 20) draining shell jobs, plain JavaScript in a bare
// `node` in its own session, like the spawn loops and the workers. argv: PG_URL SCHEMA JOBS WORKERS IN_FLIGHT.
// Before "ready" it makes its schema and queue and inserts JOBS jobs `{command: "true"}`; on a line on stdin it starts
// WORKERS `work()` loops with batchSize 100 (issue 14's "batch 100"), each running its batch IN_FLIGHT / WORKERS at a
// time with `sh -c COMMAND` through child_process (output ignored: the cheapest way, in pg-boss's favour), a batch
// completed when all of it ran (pg-boss's batch contract). pg-boss fetches again at once only when its last fetch
// found jobs and took longer than its polling interval (0.5 s, its minimum); else it waits out the interval.
// Prints {"start","end","runs","cpuMs"} once every job ran (epoch ms; cpuMs is this process's own CPU from "go" on),
// then drops its schema.
'use strict';
const { spawn } = require('node:child_process');
const PgBoss = require('pg-boss');
const pg = require('pg');

const [url, schema, jobsText, workersText, inFlightText] = process.argv.slice(2);
const jobs = Number(jobsText);
const workers = Number(workersText);
const perWorker = Math.max(1, Number(inFlightText) / workers);
const wallMs = () => performance.timeOrigin + performance.now();
const QUEUE = 'shell';

const runShell = (command) =>
  new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}`))));
  });

async function main() {
  const boss = new PgBoss({ connectionString: url, schema, max: workers + 2 });
  boss.on('error', (err) => process.stderr.write(`pg-boss: ${err.message}\n`));
  await boss.start();
  await boss.createQueue(QUEUE);
  for (let i = 0; i < jobs; i += 1000) {
    await boss.insert(Array.from({ length: Math.min(1000, jobs - i) }, () => ({ name: QUEUE, data: { command: 'true' } })));
  }
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));

  const cpuStart = process.cpuUsage();
  const start = wallMs();
  let runs = 0;
  const done = new Promise((resolve) => {
    for (let w = 0; w < workers; w++) {
      boss.work(QUEUE, { batchSize: 100, pollingIntervalSeconds: 0.5 }, async (batch) => {
        let next = 0;
        await Promise.all(Array.from({ length: perWorker }, async () => {
          while (next < batch.length) {
            await runShell(batch[next++].data.command);
            runs++;
          }
        }));
        if (runs >= jobs) resolve();
      });
    }
  });
  await done;
  const end = wallMs();
  const cpu = process.cpuUsage(cpuStart);
  await boss.stop({ graceful: false, wait: true });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
  process.stdout.write(JSON.stringify({ start, end, runs, cpuMs: (cpu.user + cpu.system) / 1000 }) + '\n');
}

main().catch((err) => {
  process.stderr.write(`pg-boss peer: ${err.stack || err}\n`);
  process.exit(1);
});
