/** A least-recently-used cache bounded by the total byte size of its values. */
export class ByteLru<K> {
  private readonly map = new Map<K, Uint8Array>();
  private bytes = 0;
  constructor(readonly capacityBytes: number) {}

  get(key: K): Uint8Array | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: K, value: Uint8Array): void {
    if (value.length > this.capacityBytes) return;
    const old = this.map.get(key);
    if (old !== undefined) {
      this.bytes -= old.length;
      this.map.delete(key);
    }
    this.map.set(key, value);
    this.bytes += value.length;
    while (this.bytes > this.capacityBytes) {
      const first = this.map.keys().next();
      if (first.done) break;
      const v = this.map.get(first.value)!;
      this.map.delete(first.value);
      this.bytes -= v.length;
    }
  }

  get size(): number {
    return this.map.size;
  }
  get byteSize(): number {
    return this.bytes;
  }
  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }
}
