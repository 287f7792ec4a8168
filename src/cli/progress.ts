/** A one-line progress bar on a terminal; silent when the stream is not a TTY. */
export class Progress {
  private last = 0;
  private readonly start = Date.now();
  private readonly enabled: boolean;
  constructor(
    private readonly out: NodeJS.WriteStream | { isTTY?: boolean; write(s: string): unknown },
    private readonly total: number,
    private readonly label: string,
  ) {
    this.enabled = Boolean(out.isTTY) && total > 0;
  }
  update(done: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100 && done < this.total) return;
    this.last = now;
    const frac = Math.min(1, done / this.total);
    const width = 30;
    const filled = Math.round(frac * width);
    const secs = (now - this.start) / 1000;
    const rate = secs > 0 ? done / secs / 1e6 : 0;
    this.out.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(1)}% ${rate.toFixed(0)} MB/s `);
  }
  done(): void {
    if (this.enabled) this.out.write('\n');
  }
}
