// Reads a V8 .cpuprofile (node --cpu-prof) and prints where the time went: self time per function
// and per package or source file, largest first, as a share of the profile's wall time.
// Run: node dist/bench/cpu-profile-top.js FILE.cpuprofile [--top 25]
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** node_modules/@scope/pkg or node_modules/pkg; a project file by its path under dist/; node internals as they are. */
function placeOf(url: string): string {
  if (url === '') return '(native or idle)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const dist = url.indexOf('/dist/');
  return dist >= 0 ? url.slice(dist + '/dist/'.length) : url;
}

function top(totals: Map<string, number>, n: number, wallUs: number): string[] {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => `${((100 * us) / wallUs).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
  const n = Number(values.top);
  for (const file of positionals) {
    const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    const byFunction = new Map<string, number>();
    const byPlace = new Map<string, number>();
    for (let i = 0; i < profile.samples.length; i++) {
      const frame = byId.get(profile.samples[i]!)!.callFrame;
      const us = profile.timeDeltas[i] ?? 0;
      const fn = `${frame.functionName || '(anonymous)'} ${placeOf(frame.url)}:${frame.lineNumber + 1}`;
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
      byPlace.set(placeOf(frame.url), (byPlace.get(placeOf(frame.url)) ?? 0) + us);
    }
    const wallUs = profile.endTime - profile.startTime;
    console.log(`${file}: ${(wallUs / 1e6).toFixed(2)} s wall`);
    console.log('  by package or file:');
    for (const line of top(byPlace, n, wallUs)) console.log(`    ${line}`);
    console.log('  by function:');
    for (const line of top(byFunction, n, wallUs)) console.log(`    ${line}`);
  }
}

await main();
