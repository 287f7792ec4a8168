// WorkerPoolExecutor (the decode executor of the CLI's random-access commands and of library callers): chunks of
// every threaded codec, written by the native tools where there is one (zlib, bzip2, xz), decode to their bytes in
// the workers, and nothing crosses threads by transfer (a transfer detaches a buffer, which slows every typed-array
// access of that thread from then on: docs/architecture.md).
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { deflateSync } from 'node:zlib';
import { recordTransferLists } from '../helpers/transfers.js';
import { WorkerPoolExecutor } from '../../src/udif/worker-pool.js';
import { CHUNK_ADC, CHUNK_BZIP2, CHUNK_LZFSE, CHUNK_LZMA, CHUNK_ZLIB } from '../../src/udif/chunk-types.js';
import { encodeLzfse } from '../../src/codecs/lzfse-encode.js';
import { encodeAdc } from '../../src/codecs/adc-encode.js';
import { mixedData } from '../codecs/data.js';

const exec = new WorkerPoolExecutor(2);
afterAll(() => exec.close());

describe('WorkerPoolExecutor', () => {
  it('decodes zlib, bzip2, XZ, LZFSE and ADC chunks in its workers, with no transfer list either way', async () => {
    const data = mixedData(300_000, 21);
    const chunks: [number, Uint8Array][] = [
      [CHUNK_ZLIB, deflateSync(data)],
      [CHUNK_BZIP2, execFileSync('bzip2', ['-9', '-c'], { input: data })],
      [CHUNK_LZMA, execFileSync('xz', ['-6', '-c', '--check=crc32'], { input: data })],
      [CHUNK_LZFSE, encodeLzfse(data)],
      [CHUNK_ADC, encodeAdc(data)],
    ];
    const { lists: sent, restore } = recordTransferLists();
    try {
      // A view into a larger buffer as input, twice each (the second on a warm worker).
      for (let rep = 0; rep < 2; rep++) {
        for (const [type, enc] of chunks) {
          const padded = new Uint8Array(enc.length + 16);
          padded.set(enc, 8);
          const input = padded.subarray(8, 8 + enc.length);
          const out = await exec.decode(type, input, data.length);
          expect(Buffer.compare(out, data), `type ${type.toString(16)}`).toBe(0);
          expect(input.byteLength).toBe(enc.length); // (not detached)
        }
      }
    } finally {
      restore();
    }
    expect(sent.length).toBe(2 * chunks.length);
    expect(sent.filter((n) => n > 0)).toEqual([]);
  });
});
