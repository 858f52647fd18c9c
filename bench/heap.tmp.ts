import { writeHeapSnapshot } from 'node:v8';
import { readFileSync } from 'node:fs';
import { createRuntime } from '../src/index.js';
import { smallWorkflow } from './lib/workflows.js';
const runtime = createRuntime({ retention: { maxTasks: 100000 } });
const s = smallWorkflow();
const run = async (n: number) => { for (let i = 0; i < n; i++) { const t = runtime.start(s as never, { name: 'ada', count: 42 }); await t.done; } };
await run(5000);
const file = writeHeapSnapshot('/tmp/h.heapsnapshot');
const snap = JSON.parse(readFileSync(file, 'utf8'));
const f = snap.snapshot.meta.node_fields; const types = snap.snapshot.meta.node_types[0];
const nf = f.length; const nodes = snap.nodes; const strings = snap.strings;
const agg = new Map<string, [number, number]>();
for (let i = 0; i < nodes.length; i += nf) {
  const type = types[nodes[i + f.indexOf('type')]]; const name = strings[nodes[i + f.indexOf('name')]]; const size = nodes[i + f.indexOf('self_size')];
  const k = type === 'object' || type === 'closure' ? `${type}:${name}` : type;
  const a = agg.get(k) ?? [0, 0]; a[0] += size; a[1]++; agg.set(k, a);
}
for (const [k, [size, count]] of [...agg].sort((a, b) => b[1][0] - a[1][0]).slice(0, 30)) console.log((size / 5000).toFixed(0).padStart(6), 'B/task', (count / 5000).toFixed(2).padStart(6), 'per task', k.slice(0, 80));
