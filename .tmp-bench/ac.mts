import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
const child = spawn(process.execPath, [...process.execArgv, '/work/main/bench/server.bench.ts', '--serve'], { stdio: ['ignore', 'pipe', 'inherit'] });
const url: string = await new Promise((resolve) => child.stdout!.on('data', (c: Buffer) => resolve(JSON.parse(c.toString()).url)));
for (const path of ['/api/info', '/healthz']) {
  const r = await autocannon({ url: url + path, connections: 50, duration: 4 });
  console.log(path, r.requests.average, 'req/s', 'p50', r.latency.p50, 'p99', r.latency.p99);
}
child.kill('SIGTERM');
