import { Worker } from 'node:worker_threads';

/**
 * Records the length of the transfer list of every message this thread posts to a worker until `restore()`: a
 * transfer detaches the sender's buffer, which slows every typed-array access of that thread from then on
 * (docs/architecture.md), so the hot paths must post none.
 */
export function recordTransferLists(): { lists: number[]; restore: () => void } {
  const lists: number[] = [];
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (this: Worker, msg: unknown, list?: readonly unknown[]) {
    lists.push(Array.isArray(list) ? list.length : 0);
    return post.call(this, msg, list as never);
  };
  return { lists, restore: () => void (Worker.prototype.postMessage = post) };
}
