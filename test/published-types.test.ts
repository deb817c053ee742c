import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from './support/temp-store';

/** Issue 13: the published `.d.ts` compiles in a project without @types/node (`npm test` builds dist first). */
describe('published types', () => {
  it('compile with no @types/node installed', () => {
    const { dir, cleanup } = tempDir();
    try {
      const dist = join(__dirname, '..', 'dist', 'index');
      writeFileSync(join(dir, 'use.ts'), `import { openQueue, wait, follow, type JobSpecInput, type ScheduleSpecInput, type Schedule } from '${dist}';\nconst spec: JobSpecInput = { command: 'true', delay: '10m' };\nconst nightly: ScheduleSpecInput = { name: 'nightly', cron: '0 3 * * *', command: 'true' };\nconst added: (queue: Awaited<ReturnType<typeof openQueue>>) => Promise<Schedule> = (queue) => queue.addSchedule(nightly);\nvoid openQueue; void wait; void follow; void spec; void added;\n`);
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, types: [], typeRoots: [join(dir, 'none')], moduleResolution: 'node', module: 'commonjs', target: 'es2022' },
        files: ['use.ts'],
      }));
      const tsc = join(__dirname, '..', 'node_modules', 'typescript', 'bin', 'tsc');
      const run = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stdout + run.stderr);
    } finally {
      cleanup();
    }
  });
});
