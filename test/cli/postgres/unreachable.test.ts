import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli, type CliEnv, type CliResult } from '../../support/run-cli';
import { tempDir } from '../../support/temp-store';

/** Nothing listens on port 1. The password must never reach a message. */
const DEAD_URL = 'postgres://postgres:s3cret@127.0.0.1:1/test';
/** Commands fail fast on a refused connection; the store's connect timeout (10 s) is the most any may take. */
const PROMPT_MS = 9_000;

/** Asserts a failed command's contract: a non-zero exit, one stderr line naming the cause, no stack trace. */
function assertOneLineFailure(result: CliResult, message: RegExp, what: string): void {
  const context = `${what}: exit ${result.code}, stdout ${JSON.stringify(result.stdout)}, stderr ${JSON.stringify(result.stderr)}`;
  assert.equal(result.code, 1, context);
  assert.equal(result.stdout, '', context);
  assert.equal(result.stderr.trimEnd().split('\n').length, 1, `one stderr line: ${context}`);
  assert.match(result.stderr, message, context);
  assert.ok(!result.stderr.includes('    at '), `no stack trace: ${context}`);
  assert.ok(!/internal error/.test(result.stderr), `an expected error, not an internal one: ${context}`);
  assert.ok(!result.stderr.includes('s3cret'), `the password stays secret: ${context}`);
}

describe('PostgreSQL: an unreachable database', () => {
  let dir: ReturnType<typeof tempDir>;
  before(() => {
    dir = tempDir('queuectl-pg-unreachable-');
  });
  after(() => dir.cleanup());

  const commands: [string, string[]][] = [
    ['enqueue', ['enqueue', '--id', 'nope', '-c', 'true']],
    ['enqueue --wait', ['enqueue', '--id', 'nope', '-c', 'true', '--wait']],
    ['enqueue -f', ['enqueue', '-f', '-']],
    ['status', ['status']],
    ['worker start', ['worker', 'start', '--count', '2']],
    ['worker start --foreground', ['worker', 'start', '--foreground']],
    ['worker stop', ['worker', 'stop', '--timeout', '1']],
    ['config set', ['config', 'set', 'lease-timeout', '5']],
  ];

  it('every command fails at once with one line on stderr and exit 1 (through --db and QUEUECTL_DB)', async () => {
    const target: CliEnv = { location: DEAD_URL, cwd: dir.dir, env: { XDG_DATA_HOME: dir.dir } };
    const message = /^queuectl: cannot connect to PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/test: .*ECONNREFUSED.*check --db \/ QUEUECTL_DB/;
    // Two at a time: enough to keep the test short, few enough that the time each takes is its own.
    for (let i = 0; i < commands.length; i += 2) {
      const runs = commands.slice(i, i + 2).map(async ([what, args], j) => {
        const started = Date.now();
        // One through QUEUECTL_DB (the target's location), one through --db, which wins over it.
        const [argv, via] = j === 0 ? [args, target] : [['--db', DEAD_URL, ...args], { ...target, location: 'postgres://postgres@127.0.0.1:2/overridden' }];
        const result = await runCli(via, argv, { input: '{"command":"true"}\n' });
        return { what, result, ms: Date.now() - started };
      });
      for (const { what, result, ms } of await Promise.all(runs)) {
        assertOneLineFailure(result, message, what);
        assert.ok(ms < PROMPT_MS, `${what} gave up in ${ms} ms, not ${PROMPT_MS}`);
      }
    }
  });

  it('a database that does not exist is one line too', async () => {
    const result = await runCli({ location: 'postgres://postgres:s3cret@127.0.0.1:5432/queuectl_no_such_db', cwd: dir.dir }, ['status']);
    // Without a server at all this is the refused connection again; either way the same one-line contract holds.
    assertOneLineFailure(result, /^queuectl: cannot connect to PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:5432\/queuectl_no_such_db: /, 'status');
  });
});
