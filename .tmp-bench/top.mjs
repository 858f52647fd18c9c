import { readFileSync, readdirSync } from 'node:fs';
const dir = '/tmp/smoke/prof';
for (const f of readdirSync(dir)) {
  const p = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'));
  const self = new Map(); const byId = new Map(p.nodes.map(n => [n.id, n]));
  const dt = p.timeDeltas; const total = dt.reduce((a,b)=>a+b,0);
  const counts = new Map();
  p.samples.forEach((id, i) => counts.set(id, (counts.get(id) ?? 0) + (dt[i] ?? 0)));
  for (const [id, t] of counts) { const n = byId.get(id); const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-3).join('/')}:${n.callFrame.lineNumber}`; self.set(k, (self.get(k) ?? 0) + t); }
  console.log(f, 'total ms', (total/1000).toFixed(0));
  [...self.entries()].sort((a,b)=>b[1]-a[1]).slice(0, 30).forEach(([k,t]) => console.log((t/total*100).toFixed(1).padStart(5), k));
}
