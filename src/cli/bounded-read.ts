import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { UsageError } from '../core/errors';
import { MAX_FILE_BYTES, MAX_FILE_LINE_BYTES } from '../core/limits';

/**
 * Reading what `enqueue --file` and `--command-file` name, with bounds: `/dev/zero` or a runaway pipe must end in
 * one clear line, not in a read that never returns or a heap that runs out.
 */

const CHUNK_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

const shownName = (path: string) => (path === '-' ? 'standard input' : path);

/** Opens `path` ('-' is standard input); a named file must be a regular file or a pipe. */
function openInput(path: string, what: string): number {
  let fd: number;
  try {
    fd = path === '-' ? 0 : openSync(path, 'r');
  } catch (err) {
    throw new UsageError(`${what}: cannot read ${shownName(path)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (path !== '-') {
    const stat = fstatSync(fd);
    if (!stat.isFile() && !stat.isFIFO()) {
      closeSync(fd);
      throw new UsageError(`${what}: ${path} is ${stat.isDirectory() ? 'a directory' : 'not a regular file or a pipe'}; name a file`);
    }
  }
  return fd;
}

/** One read, waiting out a non-blocking standard input that has nothing yet. */
function readChunk(fd: number, buffer: Buffer, path: string, what: string): number {
  for (;;) {
    try {
      return readSync(fd, buffer, 0, buffer.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      if (code === 'EOF') return 0;
      throw new UsageError(`${what}: cannot read ${shownName(path)}: ${code ?? (err as Error).message}`);
    }
  }
}

/** The whole text of `path`, refused once it passes `maxBytes`; `limitText` says what the limit is for. */
export function readBoundedText(path: string, what: string, maxBytes: number, limitText: string): string {
  const fd = openInput(path, what);
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, maxBytes + 1 - total));
      const n = readChunk(fd, chunk, path, what);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > maxBytes) throw new UsageError(`${what}: ${shownName(path)} is larger than ${maxBytes} bytes, ${limitText}`);
    }
  } finally {
    if (fd !== 0) closeSync(fd);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

/**
 * Calls `onLine(text, number)` for each line of `path` (numbered from 1), refusing a line longer than
 * MAX_FILE_LINE_BYTES (naming it) and a file larger than MAX_FILE_BYTES.
 */
export function readLines(path: string, what: string, onLine: (line: string, lineNumber: number) => void): void {
  const fd = openInput(path, what);
  let carry: Buffer = Buffer.alloc(0);
  let lineNumber = 0;
  let total = 0;
  try {
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      const n = readChunk(fd, chunk, path, what);
      total += n;
      if (total > MAX_FILE_BYTES) throw new UsageError(`${what}: ${shownName(path)} is larger than ${MAX_FILE_BYTES} bytes; split it into smaller files`);
      const data = n === 0 ? carry : carry.length === 0 ? chunk.subarray(0, n) : Buffer.concat([carry, chunk.subarray(0, n)]);
      let start = 0;
      for (let end = data.indexOf(NEWLINE, start); end !== -1; end = data.indexOf(NEWLINE, start)) {
        lineNumber++;
        if (end - start > MAX_FILE_LINE_BYTES) throw lineTooLong(path, what, lineNumber);
        onLine(data.toString('utf8', start, end), lineNumber);
        start = end + 1;
      }
      if (n === 0) {
        if (start < data.length) {
          lineNumber++;
          if (data.length - start > MAX_FILE_LINE_BYTES) throw lineTooLong(path, what, lineNumber);
          onLine(data.toString('utf8', start), lineNumber);
        }
        return;
      }
      if (data.length - start > MAX_FILE_LINE_BYTES) throw lineTooLong(path, what, lineNumber + 1);
      // Copied: `chunk` is reused by the next read.
      carry = Buffer.from(data.subarray(start));
    }
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

function lineTooLong(path: string, what: string, lineNumber: number): UsageError {
  return new UsageError(`${what}: line ${lineNumber} of ${shownName(path)} is longer than ${MAX_FILE_LINE_BYTES} bytes; nothing enqueued`);
}
