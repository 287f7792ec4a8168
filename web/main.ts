/**
 * The inspector page: opens an image by file picker, drag and drop or URL (also `?url=`), shows the summary,
 * block tables and partition map, browses an HFS+ volume, previews and downloads files. Everything runs in the
 * page through dmgkit's browser entry (built with esbuild by web/build.mjs).
 */
import { DmgkitError, HttpSource, BlobSource, WebWorkerPoolExecutor, openImage, type ByteSource, type DiskImage, type HfsEntry, type HfsVolume } from '../dist/index.js';

/** Decoder threads for verify (web workers running decode-worker.js, built next to app.js). */
const THREADS = Math.max(2, Math.min(4, navigator.hardwareConcurrency || 2));
let pool: WebWorkerPoolExecutor | null = null;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

let current: DiskImage | null = null;
let volume: HfsVolume | null = null;
let abort: AbortController | null = null;

/** The same one-line messages as the CLI: "dmgkit: <what>, <where>". */
function message(e: unknown): string {
  if (e instanceof DmgkitError) return `dmgkit: ${e.message}`;
  if ((e as Error)?.name === 'AbortError') return 'cancelled';
  return `dmgkit: ${(e as Error)?.message ?? String(e)}`;
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const u = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${u[i]}`;
}

function el(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function table(head: string[], rows: (string | Node)[][], numeric: number[] = []): HTMLTableElement {
  const t = el('table') as HTMLTableElement;
  t.append(el('tr', {}, ...head.map((h, i) => el('th', numeric.includes(i) ? { class: 'num' } : {}, h))));
  for (const r of rows) t.append(el('tr', {}, ...r.map((c, i) => el('td', numeric.includes(i) ? { class: 'num' } : {}, c))));
  return t;
}

function show(id: string, ...content: (Node | string)[]): void {
  const s = $(id);
  s.replaceChildren(...content);
  s.classList.remove('hidden');
}

function setStatus(text: string): void {
  $('status').textContent = text;
}

/** Long work: a progress bar and a Cancel button until `work` settles. */
async function withProgress<T>(label: string, work: (signal: AbortSignal, progress: (f: number) => void) => Promise<T>): Promise<T> {
  abort?.abort();
  const ac = new AbortController();
  abort = ac;
  const bar = $<HTMLProgressElement>('progress');
  bar.value = 0;
  bar.classList.remove('hidden');
  $('cancel').classList.remove('hidden');
  setStatus(label);
  try {
    return await work(ac.signal, (f) => (bar.value = f));
  } finally {
    if (abort === ac) {
      abort = null;
      $('cancel').classList.add('hidden');
    }
  }
}

/** Counts the bytes read from the image file, for progress. */
function counted(src: ByteSource, signal: () => AbortSignal | undefined, onRead: (n: number) => void): ByteSource {
  return {
    get size() {
      return src.size;
    },
    name: src.name,
    async read(offset: number, length: number) {
      signal()?.throwIfAborted();
      const b = await src.read(offset, length);
      onRead(length);
      return b;
    },
    close: () => src.close?.() ?? Promise.resolve(),
  } as ByteSource;
}

let readBytes = 0;
let activeSignal: AbortSignal | undefined;

async function open(input: File | string): Promise<void> {
  $('error').textContent = '';
  for (const id of ['summary', 'blocks', 'partitions', 'browser', 'preview']) $(id).classList.add('hidden');
  await current?.close().catch(() => undefined);
  await pool?.close();
  current = null;
  pool = null;
  volume = null;
  const name = typeof input === 'string' ? input : input.name;
  try {
    await withProgress(`opening ${name}…`, async (signal, progress) => {
      activeSignal = signal;
      const raw: ByteSource = typeof input === 'string' ? await HttpSource.open(new URL(input, location.href).href) : new BlobSource(input, input.name);
      const src = counted(raw, () => activeSignal, (n) => {
        readBytes += n;
        progress(Math.min(1, readBytes / raw.size));
      });
      pool = new WebWorkerPoolExecutor(new URL('decode-worker.js', import.meta.url), THREADS);
      current = await openImage(src, { threads: THREADS, executor: pool });
      progress(1);
    });
    await render(current!, name);
    setStatus(`opened ${name}`);
  } catch (e) {
    $('error').textContent = message(e);
    setStatus('');
  } finally {
    $('progress').classList.add('hidden');
  }
}

async function render(img: DiskImage, name: string): Promise<void> {
  const info = await img.info();
  const rows: [string, string][] = [
    ['Image', name],
    ['Container', img.kind],
    ['Disk size', `${fmtBytes(img.size)} (${img.size} bytes)`],
  ];
  if ('format' in info && img.udif) {
    rows.push(['Format', `${info.format} (UDIF, ${info.tableSource === 'xml' ? 'XML plist' : info.tableSource === 'rsrc' ? 'binary resource fork' : 'no block tables'})`]);
    const c = info.checksums;
    rows.push(['Checksums', `data fork ${c.dataFork.type}${'value' in c.dataFork ? ` ${c.dataFork.value}` : ''}, master ${c.master.type}${'value' in c.master ? ` ${c.master.value}` : ''}`]);
  }
  const verify = el('button', { id: 'verify' }, 'Verify checksums');
  const result = el('span', { id: 'verify-result' });
  verify.addEventListener('click', () => void runVerify(result));
  show('summary', el('h2', {}, 'Image'), table(['', ''], rows), ...(img.udif ? [el('p', {}, verify, ' ', result)] : []), ...img.warnings.map((w) => el('p', { class: 'warning' }, `warning: ${w}`)));

  if (img.udif) {
    show(
      'blocks',
      el('h2', {}, 'Block tables'),
      table(
        ['#', 'first sector', 'sectors', 'size', 'checksum', 'chunks', 'name'],
        img.udif.partitions.map((p) => [
          String(p.index),
          String(p.firstSector),
          String(p.sectorCount),
          fmtBytes(p.size),
          'value' in (info as { partitions: { checksum: { value?: string; type: string } }[] }).partitions[p.index]!.checksum
            ? `${(info as { partitions: { checksum: { value?: string; type: string } }[] }).partitions[p.index]!.checksum.type} ${(info as { partitions: { checksum: { value?: string } }[] }).partitions[p.index]!.checksum.value}`
            : 'none',
          Object.entries(p.chunks).filter(([t]) => t !== 'terminator' && t !== 'comment').map(([t, n]) => `${t}×${n}`).join(' '),
          p.name,
        ]),
        [0, 1, 2, 3],
      ),
    );
  }
  const d = await img.describe();
  const m = d.partitionMap;
  const fsName = (f: { name: string; label?: string }) => `${f.name}${f.label ? ` "${f.label}"` : ''}`;
  show(
    'partitions',
    el('h2', {}, m.scheme === 'none' ? 'Partition map: none' : `Partition map: ${m.scheme.toUpperCase()} (${m.entries.length} entries)`),
    m.scheme === 'none'
      ? el('p', {}, `File system: ${d.filesystem ? fsName(d.filesystem as { name: string; label?: string }) : 'unknown'}`)
      : table(
          ['#', 'start', 'size', 'type', 'name', 'file system'],
          m.entries.map((e) => [String(e.index), String(e.offset), fmtBytes(e.size), e.typeName, e.name, fsName(e.filesystem as { name: string; label?: string })]),
          [0, 1, 2],
        ),
    ...m.warnings.map((w) => el('p', { class: 'warning' }, `warning: ${w}`)),
  );
  try {
    volume = await img.volume();
    $('volname').textContent = `— ${volume.info.volumeName}`;
    await browse('');
  } catch (e) {
    if (!(e instanceof DmgkitError && e.code === 'NOT_FOUND')) show('browser', el('h2', {}, 'Files'), el('p', { id: 'volume-error' }, message(e)));
  }
}

async function runVerify(out: HTMLElement): Promise<void> {
  if (!current) return;
  const img = current;
  out.textContent = '';
  try {
    const total = img.udif!.source.size;
    readBytes = 0;
    const report = await withProgress('verifying…', async (signal) => {
      activeSignal = signal;
      return img.verify({ threads: THREADS });
    });
    void total;
    $<HTMLProgressElement>('progress').value = 1;
    document.body.dataset.workerDecodes = String(pool?.decoded ?? 0);
    out.textContent = report.ok ? 'all checksums match' : `MISMATCH: ${report.results.filter((r) => r.status === 'mismatch').map((r) => r.what).join(', ')}`;
    setStatus('verified');
  } catch (e) {
    out.textContent = message(e);
  }
}

function fmtMode(m: number, type: string): string {
  const t = type === 'dir' ? 'd' : type === 'symlink' ? 'l' : '-';
  let s = '';
  for (let i = 8; i >= 0; i--) s += m & (1 << i) ? 'rwx'[(8 - i) % 3] : '-';
  return t + s;
}

async function browse(path: string): Promise<void> {
  if (!volume) return;
  const vol = volume;
  const entries = await vol.readdir(path);
  const crumbs: Node[] = [];
  const parts = path ? path.split('/') : [];
  const link = (label: string, p: string) => {
    const a = el('a', { href: '#', 'data-path': p }, label);
    a.addEventListener('click', (ev) => {
      ev.preventDefault();
      void browse(p);
    });
    return a;
  };
  crumbs.push(link('/', ''));
  parts.forEach((p, i) => crumbs.push(' ', link(p, parts.slice(0, i + 1).join('/')), ' /'));
  $('crumbs').replaceChildren(...crumbs);
  const t = table(
    ['name', 'size', 'modified', 'mode', ''],
    entries.map((e) => {
      const name =
        e.type === 'dir'
          ? link(e.name, e.path)
          : el('span', {}, e.name, ...(e.linkTarget !== undefined ? [` → ${e.linkTarget}`] : []), ...(e.compressed ? [el('span', { class: 'tag' }, 'compressed')] : []), ...(e.hardLink ? [el('span', { class: 'tag' }, 'hard link')] : []));
      const actions: Node[] = [];
      if (e.type === 'file') {
        const pv = el('button', { 'data-preview': e.path }, 'preview');
        pv.addEventListener('click', () => void preview(e));
        const dl = el('button', { 'data-download': e.path }, 'download');
        dl.addEventListener('click', () => void download(e));
        actions.push(pv, ' ', dl);
      }
      return [name, e.type === 'dir' ? '' : fmtBytes(e.size), e.modifyTime.toISOString().replace('T', ' ').slice(0, 19), fmtMode(e.mode, e.type), el('span', {}, ...actions)];
    }),
    [1],
  );
  t.id = 'files';
  entries.forEach((e, i) => (t.rows[i + 1]!.className = e.type));
  $('files').replaceWith(t);
  $('browser').classList.remove('hidden');
}

const TEXT = /\.(txt|md|plist|strings|xml|json|html|css|js|sh|c|h|py|rtf|log|cfg|conf|ini)$/i;
const IMAGE: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', tiff: 'image/tiff', tif: 'image/tiff', icns: 'image/icns', svg: 'image/svg+xml' };

async function preview(e: HfsEntry): Promise<void> {
  if (!volume) return;
  try {
    const data = await withProgress(`reading ${e.name}…`, async () => volume!.readFile(e));
    const ext = e.name.split('.').pop()!.toLowerCase();
    const head = el('h2', {}, `Preview: ${e.path}`);
    if (IMAGE[ext]) {
      const url = URL.createObjectURL(new Blob([data as Uint8Array<ArrayBuffer>], { type: IMAGE[ext] }));
      show('preview', head, el('img', { src: url, alt: e.name, id: 'preview-image' }));
    } else if (TEXT.test(e.name) || looksText(data)) {
      show('preview', head, el('pre', { id: 'preview-text' }, new TextDecoder().decode(data.subarray(0, 256 << 10))));
    } else {
      show('preview', head, el('p', {}, `${fmtBytes(e.size)} of binary data`));
    }
    setStatus(`previewed ${e.name}`);
  } catch (err) {
    $('error').textContent = message(err);
  } finally {
    $('progress').classList.add('hidden');
  }
}

function looksText(b: Uint8Array): boolean {
  const n = Math.min(b.length, 4096);
  for (let i = 0; i < n; i++) if (b[i] === 0) return false;
  return true;
}

async function download(e: HfsEntry): Promise<void> {
  if (!volume) return;
  try {
    const data = await withProgress(`reading ${e.name}…`, async () => volume!.readFile(e));
    const a = el('a', { href: URL.createObjectURL(new Blob([data as Uint8Array<ArrayBuffer>])), download: e.name }) as HTMLAnchorElement;
    document.body.append(a);
    a.click();
    a.remove();
    setStatus(`downloaded ${e.name}`);
  } catch (err) {
    $('error').textContent = message(err);
  } finally {
    $('progress').classList.add('hidden');
  }
}

$('cancel').addEventListener('click', () => {
  abort?.abort();
  setStatus('cancelled');
});
$<HTMLInputElement>('file').addEventListener('change', (ev) => {
  const f = (ev.target as HTMLInputElement).files?.[0];
  if (f) void open(f);
});
$('urlform').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const u = $<HTMLInputElement>('url').value.trim();
  if (u) void open(u);
});
const drop = $('drop');
for (const t of [document.body]) {
  t.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    drop.classList.add('over');
  });
  t.addEventListener('dragleave', () => drop.classList.remove('over'));
  t.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    const f = ev.dataTransfer?.files[0];
    if (f) void open(f);
  });
}
const initial = new URLSearchParams(location.search).get('url');
if (initial) void open(initial);
