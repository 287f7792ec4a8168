/** Ordered map over a bounded window of concurrent jobs (browser-safe). */
import { DmgkitError } from '../errors.js';

export interface OrderedOptions<T> {
  /** Most jobs started and not yet consumed (running or finished and waiting for their turn). At least 1. */
  maxInFlight: number;
  /** A job's weight (e.g. its output bytes); with maxWeight, bounds memory as well as count. */
  weight?: (item: T) => number;
  /** Most total weight in flight; a single heavier job still runs (alone). */
  maxWeight?: number;
  /** Stops starting jobs; the generator throws the signal's reason (or an error naming the abort). */
  signal?: AbortSignal;
}

function aborted(signal: AbortSignal): unknown {
  return signal.reason ?? new DmgkitError('IO_ERROR', 'operation aborted', { aborted: true });
}

/**
 * Runs `fn` over `items` with at most `maxInFlight` jobs in flight and yields the results in input order.
 * Back-pressure: a new job starts only when the consumer takes a result (or the window has room), so a slow
 * consumer bounds the work done ahead of it. A failing job throws at its place in the order, after every earlier
 * result was yielded. On every exit (done, error, consumer break) the generator waits until the jobs it started
 * have settled, so buffers they use are free again when it returns, and their rejections are never unhandled.
 */
export async function* orderedMap<T, R>(
  items: Iterable<T> | AsyncIterable<T>,
  fn: (item: T, index: number) => Promise<R>,
  opts: OrderedOptions<T>,
): AsyncGenerator<R, void, undefined> {
  const max = Math.max(1, Math.floor(opts.maxInFlight));
  const maxWeight = opts.maxWeight ?? Infinity;
  const weightOf = opts.weight ?? (() => 0);
  const it: Iterator<T> | AsyncIterator<T> =
    Symbol.asyncIterator in items ? (items as AsyncIterable<T>)[Symbol.asyncIterator]() : (items as Iterable<T>)[Symbol.iterator]();
  const window: { p: Promise<R>; w: number }[] = [];
  let weight = 0;
  let index = 0;
  let held: { item: T } | null = null;
  let done = false;

  const fill = async () => {
    while (!done && window.length < max) {
      if (opts.signal?.aborted) throw aborted(opts.signal);
      if (!held) {
        const r = await it.next();
        if (r.done) {
          done = true;
          break;
        }
        held = { item: r.value };
      }
      const w = weightOf(held.item);
      if (window.length > 0 && weight + w > maxWeight) break;
      const item = held.item;
      held = null;
      let p: Promise<R>;
      try {
        p = fn(item, index++);
      } catch (e) {
        p = Promise.reject(e);
      }
      p.catch(() => undefined);
      window.push({ p, w });
      weight += w;
    }
  };

  try {
    for (;;) {
      await fill();
      const head = window[0];
      if (!head) return;
      const r = await head.p;
      window.shift();
      weight -= head.w;
      if (opts.signal?.aborted) throw aborted(opts.signal);
      yield r;
    }
  } finally {
    if (!done) await it.return?.();
    await Promise.allSettled(window.map((j) => j.p));
  }
}
