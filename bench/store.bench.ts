/**
 * What the SQLite store costs: 100,000 small workflows through the runtime without a store and with
 * one, for two workflow sizes: tasks/s and CPU per task for each, how long the store blocks the main
 * thread per batch, and RSS/heap after 10k, 50k and 100k tasks with the store.
 * Goal: the store costs ≤ 25 % of throughput; heap stays flat (±20 MB) from 10k to 100k tasks.
 *
 *   npm run bench:store                     (node --expose-gc --import tsx bench/store.bench.ts)
 *   TASKS=20000 WAVE=500 ROUNDS=3 npm run bench:store
 *
 * Tasks start in waves of WAVE (default 500) and each wave is awaited, like an SDK caller running a
 * batch with `Promise.all`. Rounds alternate (without, with, without, with) on this shared machine;
 * the best round of each kind is compared.
 *
 * Then checkpoints (issue #15): the same store with loop-iteration checkpoints off (`checkpoints: false`,
 * today's journal) and on, for the two workflows and a loop over 1,000 items whose body node is
 * asynchronous (CHECKPOINT_TASKS, default 20,000, and LOOP_TASKS, default 200; goal ≤ 15 % overhead),
 * and how long continuing a 1,000-node task from its checkpoints takes.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeExecutor, TaskEvent } from '../src/engine/types.js';
import { createRuntime, type Runtime } from '../src/runtime.js';
import { createSqliteStore } from '../src/store/sqlite.js';
import type { TaskStore } from '../src/store/types.js';
import type { WorkflowInputs } from '../src/schema/types.js';
import {
  blockEnd,
  blockStart,
  chain,
  conditionNode,
  constant,
  edge,
  endNode,
  input,
  loopNode,
  ref,
  startNode,
  workflow,
  type Schema,
} from '../test/fixtures/workflow-builders.js';

const TOTAL = Number(process.env.TASKS ?? 100_000);
const WAVE = Number(process.env.WAVE ?? 500);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const CHECKPOINTS = [10_000, 50_000, 100_000].filter((n) => n <= TOTAL);

interface BenchWorkflow {
  name: string;
  schema: Schema;
  inputs: (i: number) => WorkflowInputs;
}

const textAndCount = { text: 'string', n: 'integer' };

const WORKFLOWS: BenchWorkflow[] = [
  {
    // start → end: the end node outputs the start node's `text` and `n`.
    name: '2 nodes (start → end)',
    schema: workflow(
      [startNode('start_0', textAndCount), endNode('end_0', { text: input('string', ref('start_0', 'text')), n: input('integer', ref('start_0', 'n')) })],
      [edge('start_0', 'end_0')],
    ),
    inputs: (i) => ({ text: `task ${i}`, n: i }),
  },
  {
    // start → parity → (even | odd) → end: four of the five nodes run, one branch is skipped.
    name: '5 nodes (start → condition → 2 branches → end)',
    schema: workflow(
      [
        startNode('start_0', { ...textAndCount, even: 'boolean' }),
        conditionNode('parity', [{ key: 'if_even', left: ref('start_0', 'even'), operator: 'is_true' }]),
        conditionNode('even', [{ key: 'if_big', left: ref('start_0', 'n'), operator: 'gte', right: constant(0) }]),
        conditionNode('odd', [{ key: 'if_big', left: ref('start_0', 'n'), operator: 'gte', right: constant(0) }]),
        endNode('end_0', { text: input('string', ref('start_0', 'text')), n: input('integer', ref('start_0', 'n')) }),
      ],
      [
        edge('start_0', 'parity'),
        edge('parity', 'even', 'if_even'),
        edge('parity', 'odd', 'else'),
        edge('even', 'end_0', 'if_big'),
        edge('odd', 'end_0', 'if_big'),
      ],
    ),
    inputs: (i) => ({ text: `task ${i}`, n: i, even: i % 2 === 0 }),
  },
];

interface Sample {
  tasks: number;
  rssMB: number;
  heapMB: number;
}

function memory(tasks: number): Sample {
  globalThis.gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { tasks, rssMB: Math.round(rss / 2 ** 20), heapMB: Math.round((heapUsed / 2 ** 20) * 10) / 10 };
}

/** CPU time of the main thread alone (µs), from Linux's per-thread accounting; undefined elsewhere. */
function mainThreadCpuMicros(): number | undefined {
  try {
    // Fields after the command name: state is 3rd, utime 14th and stime 15th (in clock ticks, 100 per second).
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

interface Rate {
  /** Wall clock. */
  tasksPerSecond: number;
  /** CPU time of this process (all threads, the store's writer too) per task: steadier than wall time on a shared machine. */
  cpuMicrosPerTask: number;
  /** CPU time of the main thread per task, when the platform reports it. */
  mainCpuMicrosPerTask: number | undefined;
}

async function drive(runtime: Runtime, flow: BenchWorkflow, total: number, samples?: Sample[]): Promise<Rate> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const mainCpu = mainThreadCpuMicros();
  let gcMicros = 0;
  for (let done = 0; done < total; ) {
    const wave: Array<Promise<void>> = [];
    for (let i = 0; i < WAVE && done + i < total; i++) wave.push(runtime.start(flow.schema, flow.inputs(done + i)).done);
    await Promise.all(wave);
    done += wave.length;
    if (samples && CHECKPOINTS.includes(done)) {
      // Pending writes count as part of the run: flush them (listTasks does) before sampling.
      await runtime.listTasks({ limit: 1 });
      const before = performance.now();
      samples.push(memory(done));
      gcMicros += (performance.now() - before) * 1000; // the forced GC is the bench's, not the store's
    }
  }
  await runtime.listTasks({ limit: 1 });
  const used = process.cpuUsage(cpu);
  const mainUsed = mainCpu === undefined ? undefined : mainThreadCpuMicros();
  const wallMs = performance.now() - started - gcMicros / 1000;
  return {
    tasksPerSecond: (total / wallMs) * 1000,
    cpuMicrosPerTask: (used.user + used.system - gcMicros) / total,
    mainCpuMicrosPerTask: mainCpu === undefined || mainUsed === undefined ? undefined : (mainUsed - mainCpu - gcMicros) / total,
  };
}

/** How long `write` held the main thread, per batch (ms): SQL for a synchronous store, handing the batch over for the writer thread. */
interface WriteTimes {
  ms: number[];
  rows: number;
}

function timedWrites(store: TaskStore, times: WriteTimes): TaskStore {
  return {
    ...store,
    write(batch) {
      const started = performance.now();
      const result = store.write(batch);
      times.ms.push(performance.now() - started);
      times.rows += batch.tasks.length + batch.updates.length;
      return result;
    },
  };
}

async function roundWithout(flow: BenchWorkflow): Promise<Rate> {
  const runtime = createRuntime();
  const rate = await drive(runtime, flow, TOTAL);
  await runtime.close();
  return rate;
}

interface StoreRound {
  rate: Rate;
  dbMB: number;
  writes: WriteTimes;
  /** The first write, which starts the store's writer thread (if it has one): a one-time cost, kept out of the rates. */
  firstWriteMs: number;
}

async function roundWith(flow: BenchWorkflow, path: string, samples: Sample[]): Promise<StoreRound> {
  const writes: WriteTimes = { ms: [], rows: 0 };
  const store = createSqliteStore({ path, retention: { maxTasks: TOTAL } });
  const started = performance.now();
  await store.write({ tasks: [], updates: [], events: [], reports: [] });
  const firstWriteMs = performance.now() - started;
  const runtime = createRuntime({ store: timedWrites(store, writes) });
  const rate = await drive(runtime, flow, TOTAL, samples);
  await runtime.close();
  const dbMB = Math.round(statSync(path).size / 2 ** 20);
  return { rate, dbMB, writes, firstWriteMs };
}

function format(rate: Rate): string {
  const main = rate.mainCpuMicrosPerTask === undefined ? '' : `, main thread ${rate.mainCpuMicrosPerTask.toFixed(1)}`;
  return `${Math.round(rate.tasksPerSecond)} tasks/s (${rate.cpuMicrosPerTask.toFixed(1)} µs CPU/task${main})`;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

function formatWrites(writes: WriteTimes): string {
  const sorted = [...writes.ms].sort((a, b) => a - b);
  const total = sorted.reduce((sum, ms) => sum + ms, 0);
  const perBatch = (ms: number): string => `${ms.toFixed(2)} ms`;
  return (
    `${sorted.length} batches of ~${Math.round(writes.rows / Math.max(1, sorted.length))} tasks: ` +
    `median ${perBatch(percentile(sorted, 50))}, p99 ${perBatch(percentile(sorted, 99))}, max ${perBatch(sorted[sorted.length - 1] ?? 0)}; ` +
    `${((total * 1000) / TOTAL).toFixed(1)} µs per task`
  );
}

async function benchWorkflow(flow: BenchWorkflow, dir: string): Promise<void> {
  await drive(createRuntime(), flow, Math.min(TOTAL, 10_000)); // warm up the JIT
  const without: Rate[] = [];
  const withStore: StoreRound[] = [];
  let lastSamples: Sample[] = [];
  console.log(`\n${flow.name}: ${TOTAL} tasks, waves of ${WAVE}`);
  for (let round = 0; round < ROUNDS; round++) {
    without.push(await roundWithout(flow));
    const samples: Sample[] = [];
    const result = await roundWith(flow, join(dir, `bench-${WORKFLOWS.indexOf(flow)}-${round}.db`), samples);
    withStore.push(result);
    lastSamples = samples;
    console.log(`  round ${round + 1}: without store ${format(without[round])}; with SQLite store ${format(result.rate)}`);
  }
  const best = (rates: Rate[], key: 'cpuMicrosPerTask' | 'mainCpuMicrosPerTask'): number | undefined => {
    const values = rates.map((rate) => rate[key]).filter((value): value is number => value !== undefined);
    return values.length > 0 ? Math.min(...values) : undefined;
  };
  const rates = withStore.map((result) => result.rate);
  const tps = Math.max(...without.map((rate) => rate.tasksPerSecond));
  const tpsWith = Math.max(...rates.map((rate) => rate.tasksPerSecond));
  const cpu = best(without, 'cpuMicrosPerTask')!;
  const cpuWith = best(rates, 'cpuMicrosPerTask')!;
  const mainWith = best(rates, 'mainCpuMicrosPerTask');
  const main = best(without, 'mainCpuMicrosPerTask');
  const fastest = withStore.reduce((a, b) => (a.rate.tasksPerSecond >= b.rate.tasksPerSecond ? a : b));
  console.log(`  best of ${ROUNDS} rounds:`);
  console.log(`    without store: ${Math.round(tps)} tasks/s, ${cpu.toFixed(1)} µs CPU/task`);
  console.log(`    with SQLite:   ${Math.round(tpsWith)} tasks/s, ${cpuWith.toFixed(1)} µs CPU/task (all threads)`);
  console.log(
    `    store cost: ${((1 - tpsWith / tps) * 100).toFixed(1)} % of wall-clock throughput; +${(cpuWith - cpu).toFixed(1)} µs CPU/task` +
      (mainWith !== undefined && main !== undefined ? `, of which +${(mainWith - main).toFixed(1)} µs on the main thread` : ''),
  );
  console.log(`    main thread held by store.write (fastest round): ${formatWrites(fastest.writes)}`);
  console.log(`    first write (starts a writer thread, if any; not in the rates): ${fastest.firstWriteMs.toFixed(0)} ms`);
  console.log(`    database file: ${fastest.dbMB} MB`);
  console.log('    memory with the store (last round, after GC):');
  for (const sample of lastSamples) console.log(`      ${String(sample.tasks).padStart(7)} tasks: RSS ${sample.rssMB} MB, heap ${sample.heapMB} MB`);
  if (lastSamples.length >= 2) {
    const drift = lastSamples[lastSamples.length - 1].heapMB - lastSamples[0].heapMB;
    console.log(`    heap from ${lastSamples[0].tasks} to ${lastSamples[lastSamples.length - 1].tasks} tasks: ${drift >= 0 ? '+' : ''}${drift.toFixed(1)} MB (goal ±20 MB)`);
  }
}

const CHECKPOINT_TASKS = Number(process.env.CHECKPOINT_TASKS ?? 20_000);
const LOOP_TASKS = Number(process.env.LOOP_TASKS ?? 200);

/** An asynchronous node (a promise per run, like any I/O node): tasks run across turns, so the journal follows them. */
const tick: NodeExecutor = { type: 'tick', execute: (context) => Promise.resolve({ outputs: { ...context.inputs } }) };
const tickNode = (id: string, value: ReturnType<typeof ref>): Schema['nodes'][number] => ({
  id,
  type: 'tick',
  data: { title: id, inputs: { type: 'object', properties: { v: { type: 'integer' } } }, inputsValues: { v: value }, outputs: { type: 'object', properties: { v: { type: 'integer' } } } },
});

const LOOP_FLOW: BenchWorkflow = {
  name: 'loop over 1,000 items (asynchronous body node)',
  schema: workflow(
    [
      startNode('start_0', { items: { type: 'array', items: { type: 'integer' } } }),
      loopNode('loop_0', {
        loopFor: ref('start_0', 'items'),
        blocks: [blockStart('bs'), tickNode('t', ref('loop_0_locals', 'item')), blockEnd('be')],
        edges: chain('bs', 't', 'be'),
        loopOutputs: { v: ref('t', 'v') },
      }),
      endNode('end_0', { v: input({ type: 'array', items: { type: 'integer' } }, ref('loop_0', 'v')) }),
    ],
    chain('start_0', 'loop_0', 'end_0'),
  ),
  inputs: () => ({ items: Array.from({ length: 1_000 }, (_, i) => i) }),
};

async function roundCheckpoints(flow: BenchWorkflow, path: string, checkpoints: boolean, total: number): Promise<Rate> {
  const store = createSqliteStore({ path, retention: { maxTasks: total } });
  await store.write({ tasks: [], updates: [], events: [], reports: [] });
  const runtime = createRuntime({ store, checkpoints, executors: [tick] });
  const rate = await drive(runtime, flow, total);
  await runtime.close();
  return rate;
}

async function benchCheckpoints(flow: BenchWorkflow, dir: string, total: number): Promise<void> {
  const off: Rate[] = [];
  const on: Rate[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    off.push(await roundCheckpoints(flow, join(dir, `cp-off-${WORKFLOWS.indexOf(flow)}-${round}.db`), false, total));
    on.push(await roundCheckpoints(flow, join(dir, `cp-on-${WORKFLOWS.indexOf(flow)}-${round}.db`), true, total));
  }
  const best = (rates: Rate[]): Rate => rates.reduce((a, b) => (a.tasksPerSecond >= b.tasksPerSecond ? a : b));
  const [a, b] = [best(off), best(on)];
  const mainOff = Math.min(...off.map((rate) => rate.mainCpuMicrosPerTask ?? Number.NaN));
  const mainOn = Math.min(...on.map((rate) => rate.mainCpuMicrosPerTask ?? Number.NaN));
  console.log(`  ${flow.name}, ${total} tasks:`);
  console.log(`    checkpoints off: ${format(a)}`);
  console.log(`    checkpoints on:  ${format(b)}`);
  console.log(
    `    checkpoint cost: ${((1 - b.tasksPerSecond / a.tasksPerSecond) * 100).toFixed(1)} % of throughput; ` +
      `main thread ${mainOff.toFixed(1)} → ${mainOn.toFixed(1)} µs/task (${(((mainOn - mainOff) / mainOff) * 100).toFixed(1)} %; goal ≤ 15 %)`,
  );
}

/**
 * A chain of 1,000 asynchronous nodes run once; then the task is continued from its checkpoints with
 * only the last node left: from events in memory (the engine alone), from the journal in a SQLite
 * store (crash recovery: read the events, rebuild, run), and from its report in the store (resume).
 */
async function benchResume(dir: string): Promise<void> {
  const count = 1_000;
  const nodes: Schema['nodes'] = [startNode('start_0', { v: 'integer' })];
  for (let i = 0; i < count; i++) nodes.push(tickNode(`n${i}`, ref(i === 0 ? 'start_0' : `n${i - 1}`, 'v')));
  nodes.push(endNode('end_0', { v: input('integer', ref(`n${count - 1}`, 'v')) }));
  const schema = workflow(nodes, chain(...nodes.map((node) => node.id)));
  const schemaText = JSON.stringify(schema);
  const store = createSqliteStore({ path: join(dir, 'resume.db'), retention: { intervalMs: 0 } });
  const runtime = createRuntime({ store, executors: [tick] });
  const median = (times: number[]): number => [...times].sort((x, y) => x - y)[Math.floor(times.length / 2)];
  try {
    const events: TaskEvent[] = [];
    const started = performance.now();
    const task = runtime.start(schema, { v: 7 });
    task.subscribe((event) => events.push(event));
    await task.wait();
    const fullMs = performance.now() - started;
    // The journal as a crash right before the last node finished would have left it.
    const lastFinished = events.findLastIndex((event) => event.type === 'node_finished' && event.nodeID === `n${count - 2}`);
    const journal = events.slice(0, lastFinished + 1).filter((event) => event.type !== 'workflow_started' && event.type !== 'message');
    // The same, failed at the last node: its final report (what resume reads).
    const failedReport = structuredClone(task.report()) as unknown as { reports: Record<string, { status: string; snapshots: Array<Record<string, unknown>> }> };
    for (const id of [`n${count - 1}`, 'end_0']) delete failedReport.reports[id];
    const inMemory: number[] = [];
    const fromJournal: number[] = [];
    const fromReport: number[] = [];
    for (let round = 0; round < 5; round++) {
      let begin = performance.now();
      const record = { id: `mem-${round}`, schema: schemaText, inputs: { v: 7 }, startTime: 0, createdAt: 0 };
      await runtime.continueTask(record, { events: journal }).wait();
      inMemory.push(performance.now() - begin);

      // A crashed task's journal in the store.
      const id = `crashed-${round}`;
      const row = { ...record, id, schemaHash: `h${round}`, status: 'processing' as const, startTime: Date.now() };
      await store.write({ tasks: [row], updates: [], events: journal.map((event) => ({ ...event, taskID: id })), reports: [] });
      begin = performance.now();
      const stored = await store.getTask(id);
      const storedEvents = await store.getEvents(id);
      await runtime.continueTask(stored ?? row, { events: storedEvents }).wait();
      fromJournal.push(performance.now() - begin);

      // A failed task's report in the store.
      const failedID = `failed-${round}`;
      await store.write({ tasks: [{ ...row, id: failedID, status: 'failed', endTime: Date.now() }], updates: [], events: [], reports: [{ taskID: failedID, reportJSON: JSON.stringify({ ...failedReport, id: failedID }) }] });
      begin = performance.now();
      const failed = await store.getTask(failedID);
      const report = await store.getReport(failedID);
      if (!failed || !report) throw new Error('bench: the failed task was not stored');
      const outputs = await runtime.continueTask(failed, { report }).wait();
      fromReport.push(performance.now() - begin);
      if (outputs.v !== 7) throw new Error(`bench: the resumed task output ${JSON.stringify(outputs)}`);
    }
    console.log(`\ncontinuing a ${count}-node task from its checkpoints (${journal.length} journal events, 1 node left to run), best / median of 5:`);
    console.log(`  from events in memory (engine only):        ${Math.min(...inMemory).toFixed(1)} / ${median(inMemory).toFixed(1)} ms`);
    console.log(`  from the SQLite journal (crash recovery):   ${Math.min(...fromJournal).toFixed(1)} / ${median(fromJournal).toFixed(1)} ms`);
    console.log(`  from the stored report (resume of a failed task): ${Math.min(...fromReport).toFixed(1)} / ${median(fromReport).toFixed(1)} ms`);
    console.log(`  running the whole task takes ${fullMs.toFixed(1)} ms`);
  } finally {
    await runtime.close();
  }
}

async function main(): Promise<void> {
  if (!globalThis.gc) console.warn('run with --expose-gc for stable heap numbers');
  const dir = mkdtempSync(join(tmpdir(), 'flowgram-store-bench-'));
  try {
    if (process.env.ONLY_CHECKPOINTS !== '1') for (const flow of WORKFLOWS) await benchWorkflow(flow, dir);
    console.log(`\ncheckpoints (SQLite store, best of ${ROUNDS} rounds each):`);
    for (const flow of WORKFLOWS) await benchCheckpoints(flow, dir, CHECKPOINT_TASKS);
    await benchCheckpoints(LOOP_FLOW, dir, LOOP_TASKS);
    await benchResume(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
