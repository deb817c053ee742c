import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, closeSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { assertCleanFailure, CliSession } from '../support/cli-session';
import { processRuns, signalQuietly } from '../support/processes';
import { CLI_BIN, runCli } from '../support/run-cli';
import { tempDir } from '../support/temp-store';
import { fillDisk, mountTmpfs, type Tmpfs } from '../support/tmpfs';
import { waitFor } from '../support/wait-for';

const sqlite = { name: 'sqlite', make: () => import('../support/temp-store').then((m) => m.tempSqliteStore()), skip: false as const };
const sha1 = (path: string) => createHash('sha1').update(readFileSync(path)).digest('hex');

describe('a --db that is not a queuectl store is refused before anything is written to it', () => {
  let dir: string;
  let removeDir: () => void;
  before(() => {
    ({ dir, cleanup: removeDir } = tempDir());
    const foreign = new Database(join(dir, 'app.db'));
    foreign.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ann');");
    foreign.close();
    writeFileSync(join(dir, 'notes.txt'), 'not a database at all\n');
  });
  after(() => removeDir());

  it('fails with one line, exit 1, and leaves the file byte-identical', async () => {
    const files = readdirSync(dir).sort();
    const hashes = files.map((name) => sha1(join(dir, name)));
    const cases: [string, RegExp][] = [
      ['app.db', /it holds other tables\); choose another --db\n/],
      ['notes.txt', /it is not a SQLite database\); choose another --db\n/],
    ];
    for (const [file, message] of cases) {
      for (const args of [['list'], ['status'], ['enqueue', '{"command":"echo hi"}'], ['worker', 'list']]) {
        const result = await runCli({ location: join(dir, file) }, args);
        assertCleanFailure(result, { code: 1, message: new RegExp(`^queuectl: ${join(dir, file)} is not a queuectl store \\(${message.source}`) }, `${file}: ${args.join(' ')}`);
      }
    }
    assert.deepEqual(readdirSync(dir).sort(), files, 'no file was added beside them');
    assert.deepEqual(files.map((name) => sha1(join(dir, name))), hashes, 'the files are byte-identical');
  });
});

describe('stored values no Date can hold still list and show', () => {
  let session: CliSession;
  afterEach(async () => session?.close());

  it('list, list --json, show and show --json succeed on a row written before times were bounded', async () => {
    session = await CliSession.open(sqlite);
    // As an older queuectl stored `--delay 99999999999999999999`: the store itself does not bound what it is given.
    await session.temp.store.enqueue({
      jobs: [{ id: 'far', command: 'true', queue: 'default', maxRetries: null, priority: 0, runAt: null, delayMs: 1e20, timeout: null, cwd: null, env: null, dependsOn: [] }],
      ifNotExists: false,
    });
    const listed = JSON.parse(await session.ok(['list', '--json'])) as { id: string; run_at: string }[];
    assert.equal(listed[0]!.id, 'far');
    assert.match(listed[0]!.run_at, /^1\d{20}$/, 'the number as it is');
    assert.match(await session.ok(['list']), /^far\s+pending/m);
    assert.match(await session.ok(['show', 'far']), /^run at\s+1\d{20} \(in /m);
    assert.equal((await session.show('far')).id, 'far');
  });
});

describe('a full disk', () => {
  let tmpfs: Tmpfs | string;
  const pids = new Set<number>();
  before(() => {
    tmpfs = mountTmpfs('2m');
  });
  afterEach(() => {
    for (const pid of pids) if (processRuns(pid)) signalQuietly(pid);
    pids.clear();
  });
  after(() => {
    if (typeof tmpfs !== 'string') tmpfs.cleanup();
  });

  it('enqueue says "disk full" (exit 75), the store stays as it was, and a worker on that disk keeps going', async (t) => {
    if (typeof tmpfs === 'string') return t.skip(tmpfs);
    const target = { location: join(tmpfs.dir, 'queue.db'), env: { QUEUECTL_HOST: 'full-disk-test' } };
    const ok = async (args: string[]) => {
      const result = await runCli(target, args);
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      return result.stdout;
    };
    await ok(['enqueue', '--id', 'before', '--command', 'true']);
    // The workers' log sits beside the store, on the same disk, as it does for every user.
    const started = await ok(['worker', 'start']);
    for (const pid of (/pid (\d+)/.exec(started)?.[1] ?? '').split(' ').map(Number)) pids.add(pid);
    await waitFor('job before to complete', async () => /"state": "completed"/.test(await ok(['show', 'before', '--json'])));

    const filler = fillDisk(tmpfs.dir);
    const many = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ id: `big-${i}`, command: `echo ${'x'.repeat(1000)}` })).join('\n');
    const scratch = tempDir();
    try {
      writeFileSync(join(scratch.dir, 'many.jsonl'), many);
      for (const args of [['enqueue', '--file', join(scratch.dir, 'many.jsonl')], ['enqueue', '--command', 'true']]) {
        const result = await runCli(target, args);
        assertCleanFailure(result, { code: 75, message: /^queuectl: disk full: cannot write .*queue\.db; free some space and try again\n$/ }, args.join(' '));
      }
      assert.ok([...pids].every(processRuns), 'the worker survived the full disk');
    } finally {
      scratch.cleanup();
      rmSync(filler);
    }

    const jobs = JSON.parse(await ok(['list', '--json'])) as { id: string }[];
    assert.deepEqual(jobs.map((job) => job.id), ['before'], 'nothing of the refused enqueues was stored');
    await ok(['enqueue', '--id', 'after', '--command', 'true']);
    await waitFor('job after to complete', async () => /"state": "completed"/.test(await ok(['show', 'after', '--json'])), { timeoutMs: 15_000 });
    assert.ok([...pids].every(processRuns), 'the same worker ran it');
    await ok(['worker', 'stop']);
  });

  it('a worker whose log cannot be written keeps working and reports the lines it lost', async (t) => {
    if (typeof tmpfs === 'string') return t.skip(tmpfs);
    const session = await CliSession.open(sqlite);
    let worker: ChildProcess | null = null;
    try {
      // The store on a disk with room; only the log on the full one.
      const logPath = join(tmpfs.dir, 'only.log');
      const logFd = openSync(logPath, 'a');
      // A worker logs each retention sweep that deletes something: a line on demand.
      await session.configSet('retention', '1s');
      worker = spawn(process.execPath, [CLI_BIN, 'worker', 'run'], { stdio: ['ignore', logFd, logFd], env: { ...process.env, QUEUECTL_DB: session.temp.location } });
      closeSync(logFd);
      const exited = new Promise<number | null>((resolve) => worker!.on('exit', (code) => resolve(code)));
      const log = () => readFileSync(logPath, 'utf8');
      // Its last start-up line (the spawn engine): later lines come only from the jobs and sweeps below.
      await waitFor('the worker to start', () => log().includes('jobs start with'));

      // The log's last page still has room after the disk is full: end the file at a page boundary first.
      const size = statSync(logPath).size;
      appendFileSync(logPath, `${'#'.repeat(4096 - (size % 4096) - 1)}\n`);
      const filler = fillDisk(tmpfs.dir);
      try {
        for (const id of ['a', 'b']) {
          await session.enqueue({ id, command: 'true' });
          await session.waitFor(`job ${id} to be swept by retention`, async () => (await session.temp.store.getJob({ id })) === null);
        }
        assert.equal(worker.exitCode, null, 'the worker still runs');
      } finally {
        rmSync(filler);
      }
      await session.enqueue({ id: 'c', command: 'true' });
      await waitFor('the worker to report lost lines', () => /\d+ log line\(s\) lost: could not write the log \(disk full\)\n[\s\S]*retention: deleted 1/.test(log()))
        .catch((err: Error) => assert.fail(`${err.message}; the log:\n${log()}`));
      worker.kill('SIGTERM');
      assert.equal(await exited, 0, 'a graceful stop, not a crash');
      assert.ok(log().endsWith('stopped\n'), 'the log ends with a whole line');
    } finally {
      if (worker?.pid !== undefined && processRuns(worker.pid)) signalQuietly(worker.pid);
      await session.close();
    }
  });
});

describe('a corrupt store', () => {
  let session: CliSession;
  afterEach(async () => session?.close());

  it('commands say so in one line; worker stop still stops the workers, by pid', async () => {
    session = await CliSession.open(sqlite);
    const pids = await session.startWorkers(2);
    for (const id of ['a', 'b', 'c']) await session.enqueue({ id, command: 'true' });
    for (const id of ['a', 'b', 'c']) await session.waitForState(id, 'completed');
    rmSync(`${session.temp.location}-wal`);

    const enqueued = await session.run(['enqueue', '--command', 'true']);
    assertCleanFailure(enqueued, { code: 74, message: /^queuectl: the store .*queue\.db is corrupt \(SQLITE_\w+\); stop its workers/ }, 'enqueue');
    const stopped = await session.run(['worker', 'stop']);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stderr, new RegExp(`^queuectl: the store .* is corrupt \\(SQLITE_\\w+\\); stopping this host's 2 worker\\(s\\) by pid instead: (${pids.join(' ')}|${[...pids].reverse().join(' ')})\\n$`));
    assert.equal(stopped.stdout, 'stopped 2 worker(s)\n');
    assert.ok(pids.every((pid) => !processRuns(pid)), 'the workers are gone');
  });
});
