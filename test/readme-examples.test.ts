/**
 * Every TypeScript example in README.md and examples/README.md compiles under the project's `strict`
 * options, as a user would write it (`import … from 'flowgram-runtime'`), and the SDK example does what
 * its comments say when it runs. The blocks are written into a temporary directory inside the repository
 * whose tsconfig maps `flowgram-runtime` to src/index.ts, so no build is needed; one TypeScript program
 * checks them all, and an error names the README line it is on.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const READMES = ['README.md', 'examples/README.md'];

interface CodeBlock {
  /** The README it comes from, relative to the repository. */
  readme: string;
  /** 1-based line of the block's first code line in that README. */
  line: number;
  code: string;
  /** The file it is checked as, in the temporary directory. */
  file: string;
}

/** The ```ts / ```typescript blocks of a Markdown file, with the line each starts on. */
function typeScriptBlocks(markdown: string, readme: string): Omit<CodeBlock, 'file'>[] {
  const lines = markdown.split('\n');
  const blocks: Omit<CodeBlock, 'file'>[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^\s*```\s*(ts|typescript)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end])) end++;
    blocks.push({ readme, line: start + 1, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return blocks;
}

/** A workflow with the README's custom `sentiment` node: start (text) → sentiment → end (score). */
const SENTIMENT_FLOW = {
  nodes: [
    { id: 'start_0', type: 'start', data: { outputs: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } } },
    {
      id: 'sentiment_0',
      type: 'sentiment',
      data: {
        inputs: { type: 'object', properties: { text: { type: 'string' } } },
        inputsValues: { text: { type: 'ref', content: ['start_0', 'text'] } },
        outputs: { type: 'object', properties: { score: { type: 'number' } } },
      },
    },
    {
      id: 'end_0',
      type: 'end',
      data: { inputs: { type: 'object', properties: { score: { type: 'number' } } }, inputsValues: { score: { type: 'ref', content: ['sentiment_0', 'score'] } } },
    },
  ],
  edges: [
    { sourceNodeID: 'start_0', targetNodeID: 'sentiment_0' },
    { sourceNodeID: 'sentiment_0', targetNodeID: 'end_0' },
  ],
};

let dir: string;
let blocks: CodeBlock[];

beforeAll(() => {
  // Inside the repository (not the OS temp dir) so that node_modules, @types and package "type": "module" apply.
  dir = mkdtempSync(join(root, '.readme-examples-'));
  blocks = READMES.flatMap((readme) => typeScriptBlocks(readFileSync(join(root, readme), 'utf8'), readme)).map((block) => ({
    ...block,
    file: join(dir, `${block.readme.replace(/\W+/g, '_')}_${block.line}.ts`),
  }));
  for (const block of blocks) writeFileSync(block.file, `${block.code}\nexport {};\n`);
  // What the SDK example imports: `workflow.json` is the README's own example workflow (examples/hello.json).
  copyFileSync(join(root, 'examples/hello.json'), join(dir, 'workflow.json'));
  writeFileSync(join(dir, 'sentiment.json'), JSON.stringify(SENTIMENT_FLOW));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: relative(dir, join(root, 'tsconfig.json')),
      compilerOptions: { noEmit: true, paths: { 'flowgram-runtime': [join(root, 'src/index.ts')] } },
      include: ['*.ts'],
    }),
  );
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('README TypeScript examples', () => {
  it('finds the examples (the SDK example among them)', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    expect(blocks.some((block) => block.readme === 'README.md' && block.code.includes("from 'flowgram-runtime'"))).toBe(true);
    expect(typeScriptBlocks('a\n```ts\nconst x = 1;\n```\n```typescript\nlet y;\n```\n```sh\nls\n```', 'X.md')).toEqual([
      { readme: 'X.md', line: 3, code: 'const x = 1;' },
      { readme: 'X.md', line: 6, code: 'let y;' },
    ]);
  });

  it('every block compiles under strict, importing flowgram-runtime as a user would', () => {
    const config = ts.getParsedCommandLineOfConfigFile(join(dir, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
    expect(config?.errors ?? ['no config']).toEqual([]);
    expect(config?.options.strict).toBe(true);
    const program = ts.createProgram({ rootNames: blocks.map((block) => block.file), options: config?.options ?? {} });
    const problems: string[] = [];
    for (const diagnostic of program.getOptionsDiagnostics()) problems.push(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    for (const block of blocks) {
      const source = program.getSourceFile(block.file);
      if (!source) {
        problems.push(`${block.readme}:${block.line}: not part of the program`);
        continue;
      }
      // Only the examples' own diagnostics: the package's sources have their own type check.
      for (const diagnostic of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
        const { line } = source.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
        problems.push(`${block.readme}:${block.line + line}: TS${diagnostic.code} ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`);
      }
    }
    expect(problems).toEqual([]);
  }, 120_000);

  it('the SDK example runs and does what its comments say', () => {
    const sdk = blocks.find((block) => block.readme === 'README.md' && block.code.includes("import schema from './workflow.json'"));
    expect(sdk, 'the README SDK example').toBeDefined();
    const run = spawnSync(process.execPath, ['--import', 'tsx', sdk?.file ?? ''], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, TSX_TSCONFIG_PATH: join(dir, 'tsconfig.json'), NO_COLOR: '1' },
      // It must end by itself: a runtime left holding the event loop would make a user's script hang.
      timeout: 60_000,
    });
    expect(run.error).toBeUndefined();
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    // 1. run: the outputs of examples/hello.json.
    expect(lines[0]).toBe("{ greeting: 'Hello, Ada!', name: 'Ada' }");
    // 2. subscribe right after start: every event from workflow_started on, then the status, time and result.
    const events = lines.slice(1, lines.findIndex((line) => line.startsWith('succeeded ')));
    expect(events).toEqual(['workflow_started ', 'node_started start_0', 'node_finished start_0', 'node_started end_0', 'node_finished end_0', 'workflow_finished ']);
    expect(lines[events.length + 1]).toMatch(/^succeeded \d+ \{ greeting: 'Hello, Ada!', name: 'Ada' \}$/);
    // 3. validate: the comment's answer.
    expect(lines[events.length + 2]).toBe("false [ 'inputs.name: must be string' ] undefined");
    // 4. a custom node type on its own runtime.
    expect(lines[events.length + 3]).toBe('{ score: 1 }');
    expect(lines).toHaveLength(events.length + 4);
    // 5. the failure's code, message and the report's error messages, and nothing else on stderr.
    expect(run.stderr).toMatch(/^FLOWGRAM_ERR_INPUTS_INVALID inputs\.name: must be string \[\n  \{\n.*\n    type: 'error',\n    message: 'inputs\.name: must be string',\n.*\n  \}\n\]\n$/);
  }, 90_000);
});
