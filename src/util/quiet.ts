/**
 * Runs a synchronous function with console.error muted. The XML parser under the `plist` package (xmldom) prints
 * every warning and fatal error there before throwing, which would spray a hostile image's garbage over a CLI's or
 * an application's stderr; callers turn the thrown error into a DmgkitError that carries the message.
 * Synchronous only, so nothing else runs while console.error is swapped.
 */
export function withConsoleErrorMuted<T>(f: () => T): T {
  const saved = console.error;
  console.error = () => {};
  try {
    return f();
  } finally {
    console.error = saved;
  }
}
