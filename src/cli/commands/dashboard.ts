import { spawn } from 'node:child_process';
import { UsageError } from '../../core/errors';
import type { CliContext } from '../context';
import { printLine } from '../output';

/*
 * `queuectl dashboard`: serves the web dashboard from this process until Ctrl+C. Loopback only unless a token is
 * given (--token or QUEUECTL_DASHBOARD_TOKEN); with a token, every request needs it.
 */

export interface DashboardCommandOptions {
  host?: string;
  port?: number;
  token?: string;
  open?: boolean;
}

export async function run(ctx: CliContext, options: DashboardCommandOptions): Promise<number> {
  const { Dashboard } = await import('../../dashboard/server');
  const { isLoopbackHost } = await import('../../dashboard/security');
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8420;
  if (port < 0 || port > 65535) throw new UsageError(`--port: ${port} is not a port; use 0 to 65535`);
  const token = options.token ?? (process.env.QUEUECTL_DASHBOARD_TOKEN || null);
  if (token !== null && token.length < 8) throw new UsageError('--token: use at least 8 characters');
  if (!isLoopbackHost(host) && token === null) {
    throw new UsageError(`--host ${host} is reachable from other machines: give --token T (or set QUEUECTL_DASHBOARD_TOKEN) to require it`);
  }
  const dashboard = new Dashboard({
    host, port, token,
    // Each open is fresh: after the store went away, the next request opens it again.
    openQueue: async () => {
      await ctx.close();
      const queue = await ctx.open();
      queue.setCallDeadline(10_000);
      return queue;
    },
  });
  let url: string;
  try {
    ({ url } = await dashboard.listen());
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UsageError(`port ${port} on ${host} is in use; pick another with --port`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UsageError(`--host ${host}: no such address on this machine`);
    throw err;
  }
  const openUrl = token === null ? url : `${url}?token=${encodeURIComponent(token)}`;
  printLine(`Dashboard on ${url}${token === null ? '' : ' (token required)'}; Ctrl+C stops it`);
  if (options.open) openBrowser(openUrl);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await dashboard.close();
  return 0;
}

function openBrowser(url: string): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(command, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => printLine(`Could not start a browser (${command}); open ${url}`));
    child.unref();
  } catch {
    printLine(`Could not start a browser; open ${url}`);
  }
}
