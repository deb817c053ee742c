import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backends } from '../../support/backends';
import { CliSession, readLines } from '../../support/cli-session';

/**
 * Issue 10's targets, end to end with real worker processes on each store: a queue's concurrency limit holds across
 * workers, a rate spaces starts evenly, and a paused queue waits beside a running one. Jobs record their own start and
 * end times (`date +%s%N`), so what is checked is what ran, not what the store says.
 */

/** A job command that appends `<ns> + <tag>` when it starts and `<ns> - <tag>` when it ends, around `body`. */
const recorded = (file: string, tag: string, body: string): string =>
  `echo "$(date +%s%N) + ${tag}" >> '${file}'; ${body}; echo "$(date +%s%N) - ${tag}" >> '${file}'`;

interface Event {
  at: bigint;
  start: boolean;
  tag: string;
}

function events(file: string): Event[] {
  return readLines(file).map((line) => {
    const [at, sign, tag] = line.split(' ');
    return { at: BigInt(at!), start: sign === '+', tag: tag! };
  });
}

/** The most jobs running at once by their own timestamps (an end at the same instant as a start counts first). */
function peakOverlap(list: Event[]): number {
  const sorted = [...list].sort((a, b) => (a.at === b.at ? Number(a.start) - Number(b.start) : a.at < b.at ? -1 : 1));
  let running = 0;
  let peak = 0;
  for (const event of sorted) {
    running += event.start ? 1 : -1;
    peak = Math.max(peak, running);
  }
  return peak;
}

const completedIn = async (session: CliSession, name: string): Promise<number> =>
  (await session.store.listQueues()).find((queue) => queue.name === name)?.counts.completed ?? 0;

for (const backend of backends()) {
  describe(`queue limits with real workers (${backend.name})`, { skip: backend.skip, concurrency: false }, () => {
    it('a queue limited to 3 never runs a 4th job, with 4 workers x 4 slots; another queue uses the free slots', async (t) => {
      const session = await CliSession.forTest(t, backend);
      const limitedLog = session.path('limited.log');
      const freeLog = session.path('free.log');
      const limited = Array.from({ length: 24 }, (_, i) => ({ id: `limited-${i}`, queue: 'limited', priority: 1, command: recorded(limitedLog, `limited-${i}`, 'sleep 0.3') }));
      const free = Array.from({ length: 8 }, (_, i) => ({ id: `free-${i}`, queue: 'free', command: recorded(freeLog, `free-${i}`, 'sleep 1') }));
      await session.ok(['queue', 'set', 'limited', '--concurrency', '3']);
      await session.enqueueMany([...limited, ...free]);
      await session.ok(['worker', 'start', '--count', '4', '--concurrency', '4']);

      await session.waitFor('every job to complete', async () => (await completedIn(session, 'limited')) === 24 && (await completedIn(session, 'free')) === 8, 120_000);
      const limitedEvents = events(limitedLog);
      assert.equal(limitedEvents.length, 48, 'each limited job recorded its start and end once');
      assert.equal(peakOverlap(limitedEvents), 3, 'the limited queue ran 3 at once at most, and did reach 3');
      assert.ok(peakOverlap(events(freeLog)) > 3, 'the free queue ran more than 3 at once: slots were free, the limit held');
    });

    it('a rate of 20/s spreads 200 jobs over 9.5 to 10.5 s, never more than 20 starts in a second', async (t) => {
      const session = await CliSession.forTest(t, backend);
      const log = session.path('rate.log');
      const jobs = Array.from({ length: 200 }, (_, i) => ({ id: `rated-${i}`, queue: 'rated', command: recorded(log, `rated-${i}`, 'true') }));
      await session.ok(['queue', 'set', 'rated', '--rate', '20/s']);
      await session.enqueueMany(jobs);
      await session.ok(['worker', 'start', '--count', '2', '--concurrency', '4']);

      await session.waitFor('200 rated jobs to complete', async () => (await completedIn(session, 'rated')) === 200, 60_000);
      const list = events(log);
      assert.equal(list.length, 400);
      const first = list.filter((e) => e.start).reduce((min, e) => (e.at < min ? e.at : min), list[0]!.at);
      const last = list.filter((e) => !e.start).reduce((max, e) => (e.at > max ? e.at : max), list[0]!.at);
      const seconds = Number(last - first) / 1e9;
      const startTimes = list.filter((e) => e.start).map((e) => e.at).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const widestGapMs = Math.max(...startTimes.slice(1).map((at, i) => Number(at - startTimes[i]!) / 1e6));
      const took = `${seconds.toFixed(3)} s from the first start to the last end, widest gap between starts ${widestGapMs.toFixed(0)} ms`;
      t.diagnostic(`${backend.name}: 200 jobs at 20/s took ${took}`);
      assert.ok(seconds >= 9.5 && seconds <= 10.5, `took ${took}; expected 9.5 to 10.5 s`);

      const starts: number[] = [];
      for (const job of jobs) starts.push(...(await session.store.listAttempts({ jobId: job.id })).map((attempt) => attempt.startedAt));
      starts.sort((a, b) => a - b);
      assert.equal(starts.length, 200, 'each job ran once');
      // An attempt's start is the time the rate was checked against, so no 21 of them fall within one second.
      const tightest = Math.min(...starts.slice(20).map((at, i) => at - starts[i]!));
      assert.ok(tightest >= 1000, `21 starts within ${tightest} ms`);
    });

    it('a paused queue waits beside a running one: its running job finishes, the rest stay pending until resumed', async (t) => {
      const session = await CliSession.forTest(t, backend);
      const gate = session.gate();
      await session.enqueue({ id: 'held-running', queue: 'held', command: gate.wait });
      await session.ok(['worker', 'start', '--count', '1', '--concurrency', '2']);
      await session.waitForState('held-running', 'processing');

      const paused = await session.say(['queue', 'pause', 'held']);
      assert.equal(paused, "paused queue held: its jobs wait until 'queuectl queue resume held'; its 1 running job will finish");
      // Higher priority than the open queue's: unpaused, they would run first.
      await session.enqueueMany([
        ...[1, 2, 3].map((i) => ({ id: `held-${i}`, queue: 'held', priority: 10, command: 'true' })),
        ...[1, 2, 3, 4].map((i) => ({ id: `open-${i}`, queue: 'open', command: 'true' })),
      ]);
      gate.open();
      await session.waitForState('held-running', 'completed');
      for (const i of [1, 2, 3, 4]) await session.waitForState(`open-${i}`, 'completed');
      for (const i of [1, 2, 3]) {
        const job = await session.peek(`held-${i}`);
        assert.deepEqual([job?.state, job?.attempts], ['pending', 0], `held-${i} was not started`);
      }
      const status = await session.ok(['status']);
      assert.match(status, /^Paused: held \(its jobs wait; resume with: queuectl queue resume held\)$/m);

      assert.equal(await session.say(['queue', 'resume', 'held']), 'resumed queue held: its jobs start again');
      for (const i of [1, 2, 3]) await session.waitForState(`held-${i}`, 'completed');
      assert.doesNotMatch(await session.ok(['status']), /Paused/);
    });
  });
}
