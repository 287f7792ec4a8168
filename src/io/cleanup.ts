/**
 * A process-wide registry of what must be undone when the process is interrupted (Node only): partial output
 * files above all. While at least one cleanup is registered, SIGINT, SIGTERM and SIGHUP run every registered
 * cleanup (synchronously), print one line to stderr and exit with 128 + the signal number (130, 143, 129).
 * With nothing registered the handlers are removed again, so the process keeps Node's default behaviour.
 *
 * Whoever registers a cleanup unregisters it (the function returned) once the resource is committed or closed.
 */

/** Undoes one thing, synchronously; returns a few words naming what it removed, for the one line printed. */
export type SignalCleanup = () => string | undefined | void;

const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
type Sig = keyof typeof SIGNALS;

const registry = new Set<SignalCleanup>();
let installed = false;

function onSignal(sig: Sig): void {
  const removed: string[] = [];
  for (const c of [...registry]) {
    try {
      const what = c();
      if (what) removed.push(what);
    } catch {
      // keep undoing the rest: the process is going away
    }
  }
  registry.clear();
  const tail = removed.length ? `; removed ${removed.join(', ')}` : '';
  try {
    process.stderr.write(`dmgkit: interrupted by ${sig}${tail}\n`);
  } catch {
    // stderr gone: exit anyway
  }
  process.exit(128 + SIGNALS[sig]);
}

const handlers = Object.fromEntries(Object.keys(SIGNALS).map((s) => [s, () => onSignal(s as Sig)])) as Record<Sig, () => void>;

function install(): void {
  if (installed) return;
  installed = true;
  for (const s of Object.keys(SIGNALS) as Sig[]) process.on(s, handlers[s]);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  for (const s of Object.keys(SIGNALS) as Sig[]) process.off(s, handlers[s]);
}

/** Registers a cleanup to run on SIGINT/SIGTERM/SIGHUP; returns the function that unregisters it. */
export function registerSignalCleanup(cleanup: SignalCleanup): () => void {
  registry.add(cleanup);
  install();
  return () => {
    registry.delete(cleanup);
    if (registry.size === 0) uninstall();
  };
}

/** How many cleanups are registered (for tests: zero once every output is committed or aborted). */
export function pendingSignalCleanups(): number {
  return registry.size;
}
