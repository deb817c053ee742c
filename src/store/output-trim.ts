/** A stored output chunk as UTF-8 bytes. */
export interface StoredChunk {
  seq: number;
  data: Buffer;
}

/** What trimming does to a batch of the oldest chunks: delete some, cut the front off one, and the bytes then left. */
export interface OutputCut {
  deleted: number[];
  cut: StoredChunk | null;
  bytes: number;
}

/**
 * The shared rule of output trimming: drops the oldest output (`oldest` comes oldest first) until an attempt holding
 * `bytes` holds at most `limit`, keeping the tail. Adapters fetch the oldest chunks and apply the cut until it is done.
 */
export function cutOldestOutput(oldest: readonly StoredChunk[], bytes: number, limit: number): OutputCut {
  const deleted: number[] = [];
  for (const chunk of oldest) {
    if (bytes <= limit) break;
    const excess = bytes - limit;
    if (chunk.data.length <= excess) {
      deleted.push(chunk.seq);
      bytes -= chunk.data.length;
      continue;
    }
    // Cut at a character boundary: the rest of a split UTF-8 character would decode to a replacement character.
    let start = excess;
    while (start < chunk.data.length && (chunk.data[start]! & 0xc0) === 0x80) start++;
    return { deleted, cut: { seq: chunk.seq, data: chunk.data.subarray(start) }, bytes: bytes - start };
  }
  return { deleted, cut: null, bytes };
}
