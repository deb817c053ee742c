// Bundles the compiled CLI (dist/cli/bin.js and everything it requires, better-sqlite3's JavaScript included) into
// that one file, because start-up is the CLI's cost per command. Measured beside `node -e 0` (27 ms here): a
// `queuectl enqueue` took 65 ms loading 46 files, 47-49 ms bundled. `pg` stays outside: only the PostgreSQL path
// loads it. The rest of dist/ stays as tsc wrote it, for the library API.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/cli/bin.js', import.meta.url));

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

await build({
  entryPoints: [cli],
  outfile: cli,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['pg'],
  plugins: [lazyChildProcessForCommander],
  // Less to parse at every start (1-3 ms); identifiers are kept, so a stack trace still names its functions.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
