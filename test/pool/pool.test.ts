import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { deflateSync, inflateSync } from 'node:zlib';
import { createPool, WorkerPool } from '../../src/pool/node.js';
import { InlinePool, orderedMap, type DecodeResult } from '../../src/pool/index.js';
import { CHUNK_BZIP2, CHUNK_ZLIB } from '../../src/udif/chunk-types.js';
import { DmgkitError } from '../../src/errors.js';
import { runTaskHere } from '../../src/pool/registry.js';
import { mixedData, textData } from '../codecs/data.js';
import { repoRoot } from '../helpers/fixtures.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('orderedMap', () => {
  it('yields in input order whatever the finishing order, with at most maxInFlight started and unconsumed', async () => {
    let inFlight = 0;
    let peak = 0;
    const delays = [30, 5, 20, 1, 15, 2, 25, 3, 10, 0, 7, 12];
    const out: number[] = [];
    for await (const r of orderedMap(
      delays.map((d, i) => ({ d, i })),
      async ({ d, i }) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await sleep(d);
        return i;
      },
      { maxInFlight: 3 },
    )) {
      inFlight--;
      out.push(r);
    }
    expect(out).toEqual(delays.map((_, i) => i));
    expect(peak).toBe(3);
  });

  it('applies back-pressure: a stalled consumer stops new jobs', async () => {
    let started = 0;
    const gen = orderedMap(Array.from({ length: 100 }, (_, i) => i), async (i) => (started++, i), { maxInFlight: 4 });
    await gen.next();
    await sleep(20);
    expect(started).toBe(4);
    await gen.return();
  });

  it('bounds total weight (one heavy job still runs alone)', async () => {
    let weight = 0;
    let peak = 0;
    const ws = [3, 3, 3, 10, 1, 1, 1, 1];
    const out: number[] = [];
    for await (const r of orderedMap(ws, async (w) => ((weight += w), (peak = Math.max(peak, weight)), await sleep(2), w), { maxInFlight: 8, weight: (w) => w, maxWeight: 6 })) {
      weight -= r;
      out.push(r);
    }
    expect(out).toEqual(ws);
    expect(peak).toBe(10);
  });

  it('throws a failing job at its place in the order, after earlier results, and settles the rest', async () => {
    const settled: number[] = [];
    const started: number[] = [];
    const got: number[] = [];
    const run = async () => {
      for await (const r of orderedMap([0, 1, 2, 3, 4, 5, 6, 7], async (i) => {
        started.push(i);
        await sleep(i === 2 ? 1 : 10);
        settled.push(i);
        if (i === 2) throw new DmgkitError('CORRUPT_CHUNK', 'bad chunk 2');
        return i;
      }, { maxInFlight: 4 })) got.push(r);
    };
    await expect(run()).rejects.toMatchObject({ code: 'CORRUPT_CHUNK' });
    expect(got).toEqual([0, 1]);
    // jobs 0-5 started (the window refilled as 0 and 1 were taken), none after the failure was seen, and every
    // started job has settled by the time the generator has returned
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    expect(settled.sort()).toEqual(started);
  });

  it('stops on abort', async () => {
    const ac = new AbortController();
    const got: number[] = [];
    const run = async () => {
      for await (const r of orderedMap([0, 1, 2, 3, 4, 5], async (i) => i, { maxInFlight: 2, signal: ac.signal })) {
        got.push(r);
        if (r === 1) ac.abort(new DmgkitError('IO_ERROR', 'stop'));
      }
    };
    await expect(run()).rejects.toThrow('stop');
    expect(got).toEqual([0, 1]);
  });
});

describe.each([1, 2])('pool with %i thread(s)', (threads) => {
  it('decodes bzip2 chunks made by bzip2(1) and zlib chunks made by pigz, in order, into shared output slots', async () => {
    const pool = createPool(threads);
    try {
      const plain = [textData(300_000, 1), mixedData(500_000, 2), textData(200_000, 3), mixedData(100_000, 4)];
      const jobs = plain.map((p, i) => ({
        type: i % 2 ? CHUNK_ZLIB : CHUNK_BZIP2,
        input: new Uint8Array(execFileSync(i % 2 ? 'pigz' : 'bzip2', i % 2 ? ['-z', '-c'] : ['-c'], { input: p })),
        outLength: p.length,
      }));
      const slots = Array.from({ length: 3 }, () => new Uint8Array(new SharedArrayBuffer(1 << 20)));
      let k = 0;
      for await (const { r, slot } of orderedMap(jobs, async (j, i) => {
        const slot = slots[i % 3];
        const r = await pool.run<DecodeResult>('decode', { ...j, output: slot, crc: true });
        return { r, slot };
      }, { maxInFlight: 3 })) {
        expect(Buffer.from(slot.subarray(0, plain[k].length)).equals(plain[k])).toBe(true);
        expect(r.crc).toBe(Number.parseInt(execFileSync('sh', ['-c', 'gzip -c | tail -c 8 | od -An -tx4 | head -c 10'], { input: plain[k] }).toString().trim(), 16));
        k++;
      }
      expect(k).toBe(4);
      // Without an output buffer, the decoded bytes come back in a buffer of their own.
      const r = await pool.run<DecodeResult>('decode', jobs[0]);
      expect(Buffer.from(r.data!).equals(plain[0])).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('encodes zlib checked by node:zlib, and surfaces decoder errors as DmgkitError', async () => {
    const pool = createPool(threads);
    try {
      const p = mixedData(200_000, 5);
      const z = await pool.run<Uint8Array>('encode', { codec: 'zlib', level: 6, input: p });
      expect(Buffer.from(inflateSync(z)).equals(p)).toBe(true);
      const bad = pool.run('decode', { type: CHUNK_BZIP2, input: new Uint8Array([0x42, 0x5a, 0x68, 0x39, 1, 2, 3]), outLength: 100 });
      await expect(bad).rejects.toBeInstanceOf(DmgkitError);
      await expect(bad).rejects.toMatchObject({ code: 'CORRUPT_CHUNK' });
      await expect(pool.run('no-such-task', {})).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    } finally {
      await pool.close();
    }
    await expect(pool.run('crc32', { data: new Uint8Array(1) })).rejects.toMatchObject({ code: 'IO_ERROR' });
  });
});

describe('WorkerPool lifecycle', () => {
  it('starts threads only on demand, and close() rejects unfinished jobs', async () => {
    const pool = new WorkerPool(2);
    expect(pool.started).toBe(0);
    const big = mixedData(4 << 20, 9);
    const jobs = [1, 2, 3].map(() => pool.run('encode', { codec: 'adc', input: big }).then(() => 'done', (e: DmgkitError) => e.code));
    expect(pool.started).toBe(2);
    await pool.close();
    expect(await Promise.all(jobs)).toEqual(['IO_ERROR', 'IO_ERROR', 'IO_ERROR']);
  });

  it('an unclosed idle pool does not keep the process alive', () => {
    const script = `
      import { createPool } from ${JSON.stringify(repoRoot + '/dist/pool/node.js')};
      const pool = createPool(2);
      const n = await pool.run('crc32', { data: new Uint8Array([1, 2, 3]) });
      console.log(n);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 90_000, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(String(0x55bc801d));
  });

  it('callerRuns: threads - 1 workers, the calling thread takes jobs when they are full; results in order', async () => {
    const pool = new WorkerPool(2, { callerRuns: true });
    try {
      const data = Array.from({ length: 8 }, (_, i) => mixedData(50_000, 20 + i));
      const want = data.map((d) => Number.parseInt(execFileSync('sh', ['-c', 'gzip -c | tail -c 8 | od -An -tx4 | head -c 10'], { input: d }).toString().trim(), 16));
      const got: number[] = [];
      for await (const c of orderedMap(data, (d) => pool.run<number>('crc32', { data: d }), { maxInFlight: 6 })) got.push(c);
      expect(got).toEqual(want);
      expect(pool.started).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it('startWith: a starting worker is given its first jobs; the calling thread, when free, takes back those not begun', () => {
    // A child process on the compiled pool, so the task module and the pool share one registry. Each job says which
    // thread ran it (0 is the calling thread) and appends that to a log, so a job run twice would show.
    const dir = mkdtempSync(join(tmpdir(), 'dmgkit-pool-'));
    try {
      const mod = join(dir, 'where.mjs');
      const log = join(dir, 'log');
      writeFileSync(mod, `import { threadId } from 'node:worker_threads';
import { appendFileSync } from 'node:fs';
import { registerTask } from ${JSON.stringify(repoRoot + '/dist/pool/registry.js')};
registerTask('where', (a) => {
  const until = Date.now() + (a.spin ?? 0);
  while (Date.now() < until);
  appendFileSync(${JSON.stringify(log)}, a.tag + ':' + threadId + '\\n');
  return threadId;
});
`);
      const script = `
        import { WorkerPool } from ${JSON.stringify(repoRoot + '/dist/pool/node.js')};
        const out = [];
        // [startWith, how long the first job spins (ms)]
        for (const [startWith, spin] of [[0, 0], [1, 0], [1, 2000]]) {
          const pool = new WorkerPool(2, { callerRuns: true, startWith, modules: [${JSON.stringify(pathToFileURL(mod).href)}] });
          const tag = startWith + '/' + spin;
          out.push(await Promise.all([pool.run('where', { tag, spin }), pool.run('where', { tag })]));
          await new Promise((r) => setTimeout(r, 300)); // (a job the worker would wrongly run again shows in the log)
          await pool.close();
        }
        console.log(JSON.stringify(out));`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 90_000, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      const [byDefault, takenBack, workerBegun] = JSON.parse(r.stdout) as number[][];
      // The calling thread, free, takes the first job. Without startWith the worker is still starting (tens of ms)
      // when the second comes, which the calling thread runs next.
      expect(byDefault).toEqual([0, 0]);
      // With startWith 1 the second goes to the starting worker; the calling thread, free again at once, takes it
      // back before the worker is up.
      expect(takenBack).toEqual([0, 0]);
      // With the calling thread busy for 2 s on the first job, the worker is up first and runs the second.
      expect(workerBegun[0]).toBe(0);
      expect(workerBegun[1]).toBeGreaterThan(0);
      // Every job ran exactly once.
      const lines = readFileSync(log, 'utf8').trim().split('\n').sort();
      expect(lines).toEqual(['0/0:0', '0/0:0', '1/0:0', '1/0:0', '1/2000:0', `1/2000:${workerBegun[1]}`].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the built-in 'decode' and 'encode' tasks answer with no buffer to transfer (a transfer detaches it in the worker)", async () => {
    await import('../../src/pool/tasks.js');
    const data = mixedData(200_000, 9);
    const z = deflateSync(data);
    const d = await runTaskHere('decode', { type: CHUNK_ZLIB, input: z, outLength: data.length });
    expect(d.buffers).toEqual([]);
    expect(Buffer.compare((d.value as DecodeResult).data!, data)).toBe(0);
    const e = await runTaskHere('encode', { codec: 'zlib', level: 6, input: data });
    expect(e.buffers).toEqual([]);
    expect(Buffer.compare(inflateSync(e.value as Uint8Array), data)).toBe(0);
  });

  it('the inline pool runs the same tasks without threads', async () => {
    const pool = new InlinePool();
    expect(await pool.run('crc32', { data: new Uint8Array([1, 2, 3]) })).toBe(0x55bc801d);
    await pool.close();
    await expect(pool.run('crc32', { data: new Uint8Array(1) })).rejects.toMatchObject({ code: 'IO_ERROR' });
  });
});
