import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A throwaway PostgreSQL server of one test file's own: `initdb` into a temp directory and `pg_ctl` on a free loopback
 * port. A test that stops or restarts it cannot disturb any other test, which all use the shared server.
 * As root, the server runs as the `postgres` user (initdb refuses root).
 */
export class PrivateServer {
  private running = false;
  private forget = (): void => undefined;

  private constructor(
    private readonly bin: string,
    private readonly dir: string,
    readonly port: number,
  ) {}

  /** The URL of its `postgres` database (trust auth). */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Creates and starts a server; takes a few seconds (initdb). */
  static async create(): Promise<PrivateServer> {
    const bin = serverBinDir();
    if (bin === null) throw new Error('no PostgreSQL server binaries (initdb, pg_ctl) found');
    const dir = mkdtempSync(join(tmpdir(), 'queuectl-pg-private-'));
    if (process.getuid?.() === 0) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), -1);
    const server = new PrivateServer(bin, dir, await freePort());
    // Should the test process exit without its `after` (a crash, a runner timeout), the server must not outlive it.
    const stopOnExit = () => server.stopNow();
    process.once('exit', stopOnExit);
    server.forget = () => process.removeListener('exit', stopOnExit);
    try {
      await server.ctl('initdb', ['-D', server.data, '-U', 'postgres', '-A', 'trust', '-N', '--no-instructions']);
      await server.start();
    } catch (err) {
      await server.destroy();
      throw err;
    }
    return server;
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  /** Starts it and waits until it accepts connections; a no-op while it runs. */
  async start(): Promise<void> {
    if (this.running) return;
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
    await this.ctl('pg_ctl', ['-D', this.data, '-o', options, '-l', join(this.dir, 'server.log'), '-w', '-t', '60', 'start']);
    this.running = true;
  }

  /** Stops it; `fast` (a normal restart's shutdown) ends every session with an error, as a real restart does. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    if (!this.running) return;
    await this.ctl('pg_ctl', ['-D', this.data, '-m', mode, '-w', '-t', '60', 'stop']);
    this.running = false;
  }

  /** Stops it if it runs and removes its files. */
  async destroy(): Promise<void> {
    try {
      if (this.running || existsSync(join(this.data, 'postmaster.pid'))) {
        await this.ctl('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      }
    } finally {
      this.running = false;
      this.forget();
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** Synchronous last resort, for an exiting process: kill the server and remove its files. */
  private stopNow(): void {
    try {
      if (existsSync(join(this.data, 'postmaster.pid'))) execFileSync(...this.command('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']), { stdio: 'ignore' });
    } catch {
      // Already stopped.
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The program and arguments that run `tool`: as root, through runuser as the postgres user. */
  private command(tool: string, args: string[]): [string, string[]] {
    return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', join(this.bin, tool), ...args]] : [join(this.bin, tool), args];
  }

  private ctl(tool: string, args: string[]): Promise<void> {
    const [file, argv] = this.command(tool, args);
    return new Promise((resolve, reject) => {
      execFile(file, argv, { cwd: this.dir, timeout: 90_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${tool} ${args.at(-1)} failed: ${err.message}\n${stdout}${stderr}`));
        else resolve();
      });
    });
  }
}

/** The directory holding initdb and pg_ctl: `pg_config --bindir`, else the newest /usr/lib/postgresql/<version>/bin. */
function serverBinDir(): string | null {
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    // No pg_config on the PATH.
  }
  try {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => join('/usr/lib/postgresql', version, 'bin')));
  } catch {
    // Not a Debian layout.
  }
  return candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) ?? null;
}

/**
 * The `skip` option of a suite that needs a private server: false when initdb and pg_ctl are here (or under CI=true,
 * where a missing server must fail the run); otherwise a one-line reason.
 */
export function privateServerSkipReason(): string | false {
  if (process.env.CI === 'true' || serverBinDir() !== null) return false;
  return 'no PostgreSQL server binaries (initdb, pg_ctl) on this machine; install postgresql to run this test';
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
