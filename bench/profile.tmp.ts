import { createRuntime } from '../src/index.js';
import { filterLoop, smallWorkflow } from './lib/workflows.js';
const runtime = createRuntime({ retention: { maxTasks: Number(process.env.KEEP ?? 1000) } });
const which = process.argv[2];
if (which === 'small') {
  const s = smallWorkflow();
  const t0 = performance.now();
  for (let i = 0; i < 60000; i++) { const t = runtime.start(s as never, { name: 'ada', count: 42 }); await t.done; }
  console.log('small', 60000 / ((performance.now() - t0) / 1000));
} else {
  const s = filterLoop(); const inputs = { items: Array.from({ length: 8000 }, (_, i) => i) };
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) { const t = runtime.start(s as never, inputs); await t.done; }
  console.log('loop ms', (performance.now() - t0) / 20);
}
