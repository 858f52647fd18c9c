import { TaskRunAPI, TaskResultAPI } from '@flowgram.ai/runtime-js';
import { smallWorkflow } from './lib/workflows.js';
import { silenceConsole } from '../test/fixtures/upstream-engine.js';
const restore = silenceConsole();
const s = JSON.stringify(smallWorkflow());
const N = 10000;
let t0 = performance.now();
for (let i = 0; i < N; i++) { const { taskID } = await TaskRunAPI({ schema: s, inputs: { name: 'ada', count: 42 } }); await new Promise(r => setImmediate(r)); }
const a = N / ((performance.now() - t0) / 1000);
t0 = performance.now();
for (let i = 0; i < N; i++) { const { taskID } = await TaskRunAPI({ schema: s, inputs: { name: 'ada', count: 42 } }); while ((await TaskResultAPI({ taskID })) === undefined) await new Promise(r => setImmediate(r)); }
const b = N / ((performance.now() - t0) / 1000);
restore(); console.log({ singleImmediate: a, poll: b });
