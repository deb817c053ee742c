import { main } from './main';

// The CLI program. `npm run build` bundles it with what it requires into dist/cli/queuectl.js, which bin.ts runs.

// `queuectl list | head` closes the pipe early: that is the reader's choice, not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

void main(process.argv);
