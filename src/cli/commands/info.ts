import type { OpenedDisk } from '../../open.js';
import type { CommandContext } from '../runner.js';
import { checksumHex, checksumTypeName, isPresent } from '../../udif/checksum.js';
import type { UdifImage } from '../../udif/image.js';
import type { ParsedArgs } from '../args.js';
import { type CliIO, formatBytes, table, write } from '../context.js';
import { describeDisk, type DiskDescription } from '../inspect.js';
import { infoJson, udifInfoJson } from '../../image/info.js';
export { infoJson, udifInfoJson };


function diskText(d: DiskDescription): string {
  const m = d.partitionMap;
  const lines: string[] = [];
  if (m.scheme === 'none') {
    lines.push(`Partition map: none`, `File system:   ${d.filesystem?.name ?? 'unknown'}${d.filesystem && 'label' in d.filesystem && d.filesystem.label ? ` "${d.filesystem.label}"` : ''}`);
  } else {
    lines.push(`Partition map: ${m.scheme.toUpperCase()} (${m.entries.length} entries, ${m.blockSize}-byte blocks)`);
    lines.push(
      table(
        ['#', 'start', 'size', 'type', 'name', 'file system'],
        m.entries.map((e) => [
          e.index,
          e.offset,
          formatBytes(e.size),
          e.typeName === e.type ? e.type : `${e.typeName} (${e.type})`,
          e.name,
          `${e.filesystem.name}${'label' in e.filesystem && e.filesystem.label ? ` "${e.filesystem.label}"` : ''}`,
        ]),
      ),
    );
  }
  for (const w of m.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

function udifText(img: UdifImage): string {
  const j = udifInfoJson(img);
  const lines = [
    `Format:      ${j.format} (UDIF, koly v${j.koly.version} at the ${j.koly.position === 'start' ? 'start' : 'end'}, ${j.tableSource === 'xml' ? 'XML plist' : j.tableSource === 'rsrc' ? 'binary resource fork' : 'no block tables'})`,
    `Disk size:   ${formatBytes(j.size)} (${j.sectorCount} sectors)`,
    `Variant:     ${j.koly.imageVariant === 1 ? 'device image' : j.koly.imageVariant === 2 ? 'partition image' : j.koly.imageVariant}`,
    `Checksums:   data fork ${j.checksums.dataFork.type}${'value' in j.checksums.dataFork ? ` ${j.checksums.dataFork.value}` : ''}, master ${j.checksums.master.type}${'value' in j.checksums.master ? ` ${j.checksums.master.value}` : ''}`,
    '',
    'Block tables:',
    table(
      ['#', 'first sector', 'sectors', 'size', 'checksum', 'chunks', 'name'],
      j.partitions.map((p) => [
        p.index,
        p.firstSector,
        p.sectorCount,
        formatBytes(p.sectorCount * 512),
        'value' in p.checksum ? `${p.checksum.type} ${p.checksum.value}` : 'none',
        Object.entries(p.chunks).filter(([t]) => t !== 'terminator' && t !== 'comment').map(([t, n]) => `${t}×${n}`).join(' '),
        p.name,
      ]),
    ),
  ];
  const side = Object.entries(j.resources).filter(([t]) => t !== 'blkx');
  if (side.length) {
    lines.push('', `Resources:   ${side.map(([t, l]) => `${t}×${l.length}`).join(', ')}`);
  }
  return lines.join('\n');
}

export async function infoCommand(args: ParsedArgs, io: CliIO, ctx: CommandContext): Promise<number> {
  const [image] = args.positional;
  const opened = await ctx.openDisk(image);
  if (args.flags.has('json')) {
    await write(io.out, JSON.stringify(await infoJson(opened), null, 2) + '\n');
    return 0;
  }
  let text = `Image:       ${image}\nContainer:   ${opened.kind}\n`;
  text += opened.udif ? udifText(opened.udif) : `Disk size:   ${formatBytes(opened.disk.size)}`;
  const disk = diskText(await describeDisk(opened));
  for (const w of opened.warnings) text += `\nwarning: ${w}`;
  ctx.markShown(opened.warnings);
  text += '\n\n' + disk;
  await write(io.out, text + '\n');
  return 0;
}
