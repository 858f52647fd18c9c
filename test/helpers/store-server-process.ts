/** Starts test/helpers/store-server.ts as a child process (to be killed with real signals) and finds its port. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const helper = join(root, 'test/helpers/store-server.ts');

export interface StoreServerProcess {
  child: ChildProcess;
  /** e.g. http://127.0.0.1:34567 */
  base: string;
}

/** Every child started and still running, for the test file's afterAll to kill. */
export const storeServerChildren = new Set<ChildProcess>();

/** `db` is a SQLite path or a postgres:// URL; `flags` go to the helper (e.g. `--die-after-claim`). */
export function startStoreServer(db: string, ...flags: string[]): Promise<StoreServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', helper, db, ...flags], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  storeServerChildren.add(child);
  child.on('exit', () => storeServerChildren.delete(child));
  return new Promise((resolve, reject) => {
    let output = '';
    let errors = '';
    child.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening (\d+)/.exec(output);
      if (match) resolve({ child, base: `http://127.0.0.1:${match[1]}` });
    });
    child.on('exit', (code) => reject(new Error(`store server exited (${code}) before listening: ${errors}`)));
  });
}

/** SIGKILL, and wait until the process is gone. */
export async function killStoreServer(server: StoreServerProcess): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGKILL');
  await exited;
}
