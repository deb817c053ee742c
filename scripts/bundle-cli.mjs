// Bundles the compiled CLI program (dist/cli/entry.js and everything it requires, better-sqlite3's JavaScript
// included) into dist/cli/queuectl.js, then warms the V8 code cache that dist/cli/bin.js loads it with, because
// start-up is the CLI's cost per command. Measured beside `node -e 0` (24-27 ms here): a `queuectl enqueue` took 65 ms
// loading 46 files, 47-49 ms bundled, 37 ms with the code cache. `pg` stays outside: only the PostgreSQL path loads
// it. The rest of dist/ stays as tsc wrote it, for the library API.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/cli/', import.meta.url));
const program = join(dist, 'queuectl.js');

/**
 * commander requires `child_process` when it loads, for subcommands run as separate executables, which queuectl has
 * none of: 3 ms of every start. Its copy is handed a stand-in that loads the module on first use.
 */
const lazyChildProcessForCommander = {
  name: 'lazy-child-process-for-commander',
  setup(bundle) {
    bundle.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'lazy-builtin' } : undefined,
    );
    bundle.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, () => ({
      contents: "let loaded; module.exports = new Proxy({}, { get: (_, key) => (loaded ??= require('node:child_process'))[key] });",
      loader: 'js',
    }));
  },
};

/**
 * The dashboard stays out of the bundle: only `queuectl dashboard` loads it, from dist/dashboard/ as tsc wrote it,
 * with its page's static files copied beside it. Other commands neither load nor parse it.
 */
const dashboardOutside = {
  name: 'dashboard-outside',
  setup(bundle) {
    bundle.onResolve({ filter: /[\\/]dashboard[\\/](server|security)$/ }, (args) => ({ path: `../dashboard/${args.path.split(/[\\/]/).pop()}.js`, external: true }));
  },
};
cpSync(fileURLToPath(new URL('../src/dashboard/assets/', import.meta.url)), join(dist, '..', 'dashboard', 'assets'), { recursive: true });

await build({
  entryPoints: [join(dist, 'entry.js')],
  outfile: program,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['pg'],
  plugins: [lazyChildProcessForCommander, dashboardOutside],
  // Less to parse at every start (1-3 ms); identifiers are kept, so a stack trace still names its functions.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});

// The code cache: each command adds the functions it ran. A fresh one each build (a stale cache is rejected anyway).
rmSync(`${program}.cache`, { force: true });
const scratch = mkdtempSync(join(tmpdir(), 'queuectl-build-'));
try {
  const env = { ...process.env, QUEUECTL_BUILD_CODE_CACHE: '1', QUEUECTL_DB: join(scratch, 'queue.db'), XDG_DATA_HOME: scratch };
  for (const args of [['enqueue', '{"command":"true"}'], ['status'], ['list'], ['show', '--help']]) {
    const run = spawnSync(process.execPath, [join(dist, 'bin.js'), ...args], { env, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`warming the code cache: queuectl ${args.join(' ')} failed: ${run.stderr.trim()}`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
