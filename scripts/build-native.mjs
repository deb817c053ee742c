// The package's install step: builds the posix_spawn addon (native/spawn.c) with node-gyp into build/Release, as
// better-sqlite3 builds its own when no prebuilt binary fits. A failure is never fatal: queuectl then starts jobs
// through Node's child_process (slower for short jobs) and says so in each worker's log; this prints one line why.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const addon = join(root, 'build', 'Release', 'queuectl_spawn.node');
const say = (line) => process.stderr.write(`queuectl: ${line}\n`);
const fallback = 'jobs will start through child_process (slower for short jobs)';

/** node-gyp as npm hands it to install scripts, else the one bundled with the npm beside this node. */
function nodeGyp() {
  const candidates = [process.env.npm_config_node_gyp, join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
  const script = candidates.find((path) => path && existsSync(path));
  return script ? [process.execPath, script] : ['node-gyp'];
}

function build() {
  if (process.platform !== 'linux') return `native spawn is Linux-only; ${fallback}`;
  const args = ['rebuild'];
  // Headers installed beside this node (distribution packages, nodejs.org tarballs) spare node-gyp a download.
  const prefix = join(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
  const [command, ...first] = nodeGyp();
  const run = spawnSync(command, [...first, ...args], { cwd: root, encoding: 'utf8' });
  if (run.error || run.status !== 0) {
    const output = `${run.stderr ?? ''}${run.stdout ?? ''}`;
    const why = run.error?.message ?? output.split('\n').find((line) => /error/i.test(line) && !/^gyp (info|ERR! (cwd|node|stack|System|command|not ok))/.test(line)) ?? `node-gyp exited ${run.status}`;
    return `native spawn not built (${why.trim()}); ${fallback}`;
  }
  try {
    const reason = createRequire(import.meta.url)(addon).unavailableReason();
    return reason === null ? 'native spawn built: jobs start with posix_spawn' : `native spawn built but unusable here (${reason}); ${fallback}`;
  } catch (err) {
    return `native spawn built but does not load (${err.message.split('\n')[0]}); ${fallback}`;
  }
}

say(build());
