import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { benchEnv, type Cleanup } from './harness';

/**
 * The bench's process starter: a bare Node child (probe-child.cjs) that spawns and times processes on request, one
 * request at a time. Forking the bench itself (a large process under tsx) costs more than forking a small `node`, and
 * that cost would land in start-up times and spawn floors alike.
 */
export interface Probe {
  /** Runs FILE ARGS to exit; wall ms from spawn to exit. Rejects on a non-zero exit. */
  time(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<number>;
  /** Spawns `sh -c command` as the worker's runner does; epoch ms noted just before the spawn. */
  floor(command: string): Promise<number>;
}

export function startProbe(cleanup: Cleanup): Probe {
  // Its own session, like a worker's (the kernel's autogroup scheduling shares the CPU out by session).
  const child = spawn(process.execPath, [join(__dirname, 'probe-child.cjs')], { env: benchEnv(), stdio: ['pipe', 'pipe', 'inherit'], detached: true });
  cleanup.defer('stop the probe process', () => child.kill('SIGKILL'));
  const waiting: ((reply: Record<string, unknown>) => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.(JSON.parse(line) as Record<string, unknown>));
  let queue = Promise.resolve();
  const request = (body: object): Promise<Record<string, unknown>> => {
    const result = queue.then(
      () =>
        new Promise<Record<string, unknown>>((resolve, reject) => {
          waiting.push((reply) => (typeof reply.error === 'string' ? reject(new Error(`probe: ${reply.error}`)) : resolve(reply)));
          child.stdin.write(`${JSON.stringify(body)}\n`);
        }),
    );
    queue = result.then(() => undefined, () => undefined);
    return result;
  };
  return {
    async time(file, args, env) {
      const reply = await request({ op: 'time', file, args, env });
      if (reply.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${String(reply.code)}`);
      return reply.ms as number;
    },
    async floor(command) {
      return (await request({ op: 'floor', command })).before as number;
    },
  };
}
