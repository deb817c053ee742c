import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { TcpProxy } from '../support/tcp-proxy';
import { waitFor } from '../support/wait-for';

/** An echo server on a free port; closed by the returned function. */
async function echoServer(): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(typeof address === 'object' && address !== null);
  return { port: address.port, close: () => (sockets.forEach((s) => s.destroy()), server.close()) };
}

describe('the chaos TCP proxy', () => {
  it('forwards, black-holes without closing, forwards again, and resets', async (t) => {
    const echo = await echoServer();
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: echo.port });
    t.after(async () => {
      await proxy.close();
      echo.close();
    });
    const client = connect(proxy.port, '127.0.0.1');
    let received = '';
    let error: NodeJS.ErrnoException | null = null;
    let closed = false;
    client.on('data', (data) => (received += data));
    client.on('error', (err) => (error = err));
    client.on('close', () => (closed = true));
    await once(client, 'connect');

    client.write('one;');
    await waitFor('the echo through the proxy', () => received === 'one;');

    proxy.blackHole();
    client.write('two;');
    // Nothing comes back, and nothing closes: the proxy holds what it got. Given a few round trips to misbehave in.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(received, 'one;');
    assert.equal(closed, false);
    assert.equal(proxy.open, 1);

    proxy.forward();
    await waitFor('what was held to arrive once forwarding again', () => received === 'one;two;');

    proxy.resetAll();
    await waitFor('the client to see the reset', () => closed);
    assert.equal((error as NodeJS.ErrnoException | null)?.code, 'ECONNRESET');
    assert.equal(proxy.open, 0);
  });
});
