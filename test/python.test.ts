/**
 * The Python runner on its own: the contract, the escape suite, isolation between runs, and limits.
 * One pool for the whole file, so the interpreter cold start (seconds) is paid once; tests that end
 * an interpreter (timeout, cancel, heap cap, fatal errors) run last and re-warm the pool.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CODE_LIMITS, type ScriptLimits } from '../src/sandbox/limits.js';
import { createPythonRunner, DEFAULT_PYTHON_MODULES, type PythonRunner } from '../src/sandbox/python/index.js';
import type { ScriptResult } from '../src/sandbox/types.js';

let runner: PythonRunner;

beforeAll(async () => {
  runner = createPythonRunner({ interpreters: 2 });
  runner.warm(2);
  // Both interpreters answered once (each reports its cold start on its first answer).
  while (runner.stats().coldStartsMs.length < 2) {
    await Promise.all([py('def main(p):\n    return sum(range(10**5))'), py('def main(p):\n    return sum(range(10**5))')]);
  }
}, 180_000);

afterAll(async () => {
  await runner.close();
});

function py(source: string, params: Record<string, unknown> = {}, limits: Partial<ScriptLimits> = {}, signal = new AbortController().signal): Promise<ScriptResult> {
  return runner.run({ language: 'python', source, params, limits: { ...DEFAULT_CODE_LIMITS, timeoutMs: 10_000, ...limits } }, signal);
}

async function value(source: string, params: Record<string, unknown> = {}): Promise<unknown> {
  const result = await py(source, params);
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

async function failure(source: string, limits: Partial<ScriptLimits> = {}): Promise<{ error: string; limit?: string }> {
  const result = await py(source, {}, limits);
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.value)}`);
  return { error: result.error, ...(result.limit ? { limit: result.limit } : {}) };
}

describe('python interpreter processes', () => {
  it('run below the host’s priority (nice 10), so a spinning script leaves the event loop its core', () => {
    const children = execFileSync('ps', ['-o', 'ni=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
    const interpreters = children.split('\n').filter((line) => line.includes('--experimental-permission'));
    expect(interpreters.length).toBeGreaterThan(0);
    for (const line of interpreters) expect(line.trim().split(/\s+/)[0]).toBe('10');
  });
});

describe('python contract', () => {
  it('hands the params in p["params"] and uses a dict return as the outputs', async () => {
    expect(await value('def main(p):\n    return {"doubled": p["params"]["x"] * 2, "keys": sorted(p["params"])}', { x: 21, y: null })).toEqual({
      doubled: 42,
      keys: ['x', 'y'],
    });
  });

  it.each([
    ['a str', '"text"', 'text'],
    ['an int', '42', 42],
    ['a float', '1.5', 1.5],
    ['a list', '[1, "a", None]', [1, 'a', null]],
    ['a tuple (as a list)', '(1, 2)', [1, 2]],
    ['None', 'None', null],
    ['a bool', 'False', false],
  ])('wraps %s in {"result": ...}', async (_name, literal, expected) => {
    expect(await value(`def main(p):\n    return ${literal}`)).toEqual({ result: expected });
  });

  it('converts nested JSON values both ways', async () => {
    const params = { list: [1, 2.5, 'x', true, null, { deep: ['y'] }], unicode: 'héllo ✓' };
    expect(await value('def main(p):\n    return dict(p["params"])', params)).toEqual(params);
  });

  it('fails with the exception type, text and script line', async () => {
    expect(await failure('def main(p):\n    x = 1\n    return x / 0')).toEqual({ error: 'ZeroDivisionError: division by zero (line 3)' });
    expect((await failure('def helper():\n    raise ValueError("bad input")\n\ndef main(p):\n    return helper()')).error).toBe('ValueError: bad input (line 2)');
  });

  it('fails on a syntax error with its line', async () => {
    expect((await failure('def main(p):\n    return 1\n\nx = (')).error).toMatch(/^SyntaxError: .+ \(line 4\)$/);
  });

  it('answers the same source again from its compiled code: the same errors, fresh params and state each time', async () => {
    const broken = 'def main(p):\n    return 1\n\nx = (';
    const refused = 'import os\ndef main(p):\n    return 1';
    for (let i = 0; i < 3; i++) {
      expect((await failure(broken)).error).toMatch(/^SyntaxError: .+ \(line 4\)$/);
      expect((await failure(refused)).error).toBe('sandbox: import of "os" is not allowed (line 1)');
    }
    const counting = 'seen = []\ndef main(p):\n    seen.append(p["params"]["x"])\n    return seen';
    for (const x of [1, 2, 3]) expect(await value(counting, { x })).toEqual({ result: [x] });
  });

  it('runs async def main to its end, and fails one that awaits what can never complete', async () => {
    const source = 'async def double(x):\n    return x * 2\n\nasync def main(p):\n    return {"value": await double(p["params"]["x"])}';
    expect(await value(source, { x: 21 })).toEqual({ value: 42 });
    expect(await value('async def main(p):\n    return 7')).toEqual({ result: 7 });
    expect((await failure('async def main(p):\n    raise ValueError("late")')).error).toBe('ValueError: late (line 2)');
    const suspends = 'class Forever:\n    def __await__(self):\n        yield 1\n\nasync def main(p):\n    await Forever()\n    return 1';
    expect((await failure(suspends)).error).toBe('RuntimeError: main awaited something that never completes (the sandbox has no event loop)');
  });

  it('fails when main is missing or not callable', async () => {
    expect((await failure('x = 1')).error).toMatch(/NameError: the script must define a function main\(p\)/);
    expect((await failure('main = 3')).error).toMatch(/must define a function main/);
  });

  it('captures print() output as log messages, in order', async () => {
    const result = await py('print("at import")\ndef main(p):\n    print("a", 1, sep="-")\n    print({"k": [1]})\n    print()\n    return 0');
    expect(result.logs).toEqual([
      { level: 'log', message: 'at import' },
      { level: 'log', message: 'a-1' },
      { level: 'log', message: "{'k': [1]}" },
      { level: 'log', message: '' },
    ]);
  });

  it('keeps the output of a failing script', async () => {
    const result = await py('def main(p):\n    print("before")\n    raise RuntimeError("after")');
    expect(result).toMatchObject({ ok: false, error: 'RuntimeError: after (line 3)', logs: [{ level: 'log', message: 'before' }] });
  });

  it('allows every module of the default allowlist', async () => {
    const source = [
      ...DEFAULT_PYTHON_MODULES.map((name) => `import ${name}`),
      'from collections import Counter, namedtuple',
      'from datetime import datetime, timedelta',
      'def main(p):',
      '    Point = namedtuple("Point", "x y")',
      '    return {',
      '        "json": json.dumps({"a": 1}), "sqrt": math.sqrt(16), "re": re.findall(r"\\d+", "a1b22"),',
      '        "date": (datetime(2024, 1, 31) + timedelta(days=1)).strftime("%Y-%m-%d"),',
      '        "parsed": datetime.strptime("2024-02-03", "%Y-%m-%d").day,',
      '        "chain": list(itertools.chain([1], [2])), "reduce": functools.reduce(operator.add, [1, 2, 3]),',
      '        "counter": Counter("aab")["a"], "point": Point(1, 2).y, "mean": statistics.mean([1, 2, 3]),',
      '        "random": 0 <= random.random() < 1, "upper": string.ascii_uppercase[:3],',
      '        "decimal": str(decimal.Decimal("0.1") + decimal.Decimal("0.2")), "fraction": str(fractions.Fraction(1, 3) * 3),',
      '        "wrap": textwrap.wrap("aaa bbb", 3), "name": unicodedata.name("é"), "b64": base64.b64encode(b"hi").decode(),',
      '        "sha": hashlib.sha256(b"x").hexdigest()[:8], "uuid": len(str(uuid.uuid4())),',
      '    }',
    ].join('\n');
    expect(await value(source)).toEqual({
      json: '{"a": 1}',
      sqrt: 4,
      re: ['1', '22'],
      date: '2024-02-01',
      parsed: 3,
      chain: [1, 2],
      reduce: 6,
      counter: 2,
      point: 2,
      mean: 2,
      random: true,
      upper: 'ABC',
      decimal: '0.3',
      fraction: '1',
      wrap: ['aaa', 'bbb'],
      name: 'LATIN SMALL LETTER E WITH ACUTE',
      b64: 'aGk=',
      sha: '2d711642',
      uuid: 36,
    });
  });

  it.each(['os', 'sys', 'subprocess', 'socket', 'pathlib', 'io', 'time', 'threading', 'importlib', 'typing'])('refuses import %s', async (name) => {
    expect((await failure(`import ${name}\ndef main(p):\n    return 1`)).error).toBe(`sandbox: import of "${name}" is not allowed (line 1)`);
  });

  it.each([
    ['a set', '{1, 2}', 'the value main returned["result"] is a set'],
    ['an object', 'object()', 'the value main returned["result"] is a object'],
    ['a nested function', '{"f": main}', `the value main returned['f'] is a function`],
    ['a non-str key', '{1: "a"}', 'has a key of type int'],
    ['NaN', 'float("nan")', 'which JSON cannot represent'],
  ])('fails clearly when main returns %s', async (_name, literal, message) => {
    const { error } = await failure(`def main(p):\n    return ${literal}`);
    expect(error).toContain('TypeError:');
    expect(error).toContain(message.replace('["result"]', "['result']"));
  });
});

describe('python escape suite', () => {
  it.each([
    ['a subclass walk', '().__class__.__bases__[0].__subclasses__()', /attribute "__\w+__" is not allowed/],
    ['function globals', 'main.__globals__["__builtins__"]', /attribute "__globals__" is not allowed/],
    ['__builtins__', '__builtins__["eval"]("1")', /name "__builtins__" is not allowed/],
    ['__import__', '__import__("os")', /name "__import__" is not allowed/],
    ['eval', 'eval("1 + 1")', /"eval" is not allowed/],
    ['exec', 'exec("x = 1")', /"exec" is not allowed/],
    ['compile', 'compile("1", "f", "eval")', /"compile" is not allowed/],
    ['open', 'open("/etc/passwd").read()', /"open" is not allowed/],
    ['getattr with a built string', 'getattr(main, "__glo" + "bals__")', /"getattr" is not allowed/],
    ['globals()', 'globals()', /"globals" is not allowed/],
    ['vars()', 'vars()', /"vars" is not allowed/],
    ['breakpoint()', 'breakpoint()', /"breakpoint" is not allowed/],
    ['a traceback frame', '(lambda e: e.__traceback__.tb_frame)(None)', /attribute "__traceback__" is not allowed/],
    ['a private module attribute', '__name__ and __import__', /name "__import__" is not allowed/],
    ['a dunder inside an f-string', 'f"{main.__globals__}"', /attribute "__globals__" is not allowed/],
    ['a full-width eval (NFKC)', 'ｅｖａｌ("1")', /"eval" is not allowed/],
    ['print.__self__ (the builtins module)', 'print.__self__', /attribute "__self__" is not allowed/],
  ])('refuses %s before running', async (_name, expression, message) => {
    const { error } = await failure(`def main(p):\n    return ${expression}`);
    expect(error).toMatch(/^sandbox: /);
    expect(error).toMatch(message);
  });

  it.each([
    ['import js', 'import js', 'import of "js" is not allowed'],
    ['import pyodide_js', 'import pyodide_js', 'import of "pyodide_js" is not allowed'],
    ['import pyodide', 'from pyodide.code import run_js', 'import from "pyodide.code" is not allowed'],
    ['import ctypes', 'import ctypes', 'import of "ctypes" is not allowed'],
    ['sys.modules surgery', 'import sys\nsys.modules["json"] = sys', 'import of "sys" is not allowed'],
    ['gc.get_objects()', 'import gc\ngc.get_objects()', 'import of "gc" is not allowed'],
    ['random._os', 'import random\nrandom._os.system("id")', 'attribute "_os" is not allowed'],
    ['from random import _os', 'from random import _os', 'import of "_os" is not allowed'],
    ['a relative import', 'from . import x', 'import from "." is not allowed'],
    ['a match on __class__', 'match 1:\n    case int(__class__=c):\n        pass', 'attribute "__class__" is not allowed'],
  ])('refuses %s', async (_name, statement, message) => {
    expect((await failure(`${statement}\ndef main(p):\n    return 1`)).error).toContain(message);
  });

  it('hides the string-based attribute getters of allowed modules', async () => {
    expect((await failure('import operator\ndef main(p):\n    return operator.attrgetter("__class__")(1)')).error).toContain(
      'module "operator" has no public attribute "attrgetter"',
    );
    expect((await failure('from operator import methodcaller\ndef main(p):\n    return 1')).error).toContain("cannot import name 'methodcaller'");
    expect((await failure('import string\ndef main(p):\n    return string.Formatter().get_field("0.__class__", [()], {})')).error).toContain(
      'no public attribute "Formatter"',
    );
  });

  it('refuses attribute names other than the defaults in functools.wraps and update_wrapper', async () => {
    const grab = [
      'import functools',
      'store = []',
      'class Grab:',
      '    def __setattr__(self, name, value):',
      '        store.append(value)',
      'def main(p):',
      '    functools.update_wrapper(Grab(), print, assigned=("__glo" + "bals__",), updated=())',
      '    return str(store)',
    ].join('\n');
    expect((await failure(grab)).error).toBe('sandbox: functools.update_wrapper: only the default attribute names are allowed');
    // The ordinary use stays possible.
    const decorated = 'import functools\ndef deco(f):\n    @functools.wraps(f)\n    def inner(*a):\n        return f(*a) + 1\n    return inner\n@deco\ndef two():\n    return 1\ndef main(p):\n    return two()';
    expect(await value(decorated)).toEqual({ result: 2 });
  });

  it('refuses the frame of a traceback handed to __exit__', async () => {
    const source = [
      'class Catch:',
      '    def __enter__(self):',
      '        return self',
      '    def __exit__(self, kind, error, tb):',
      '        self.tb = tb',
      '        return True',
      'def main(p):',
      '    catch = Catch()',
      '    with catch:',
      '        1 / 0',
      '    return str(catch.tb.tb_frame.f_globals)',
    ].join('\n');
    expect((await failure(source)).error).toBe('sandbox: object.__getattr__ is not allowed in scripts');
  });

  it('refuses modules reached through an allowed module', async () => {
    expect((await failure('import base64\ndef main(p):\n    return str(base64.binascii)')).error).toContain('module "binascii" is not allowed');
  });

  it('keeps allowed modules read-only', async () => {
    expect((await failure('import json\njson.dumps = None\ndef main(p):\n    return 1')).error).toBe('sandbox: modules are read-only in scripts');
    expect(await value('import json\ndef main(p):\n    return json.dumps([1])')).toEqual({ result: '[1]' });
  });

  it('refuses frame introspection through generators at run time', async () => {
    const { error } = await failure('def main(p):\n    g = (x for x in [1])\n    return str(g.gi_frame.f_globals)');
    expect(error).toBe('sandbox: object.__getattr__ is not allowed in scripts');
  });

  it('turns endless recursion into a stack failure naming the line', async () => {
    const { error, limit } = await failure('def f(n):\n    return f(n + 1)\n\ndef main(p):\n    return f(0)');
    expect(limit).toBe('stackBytes');
    expect(error).toMatch(/^code: stackBytes exceeded \(\d+ bytes\): RecursionError: .+ \(line 2\)$/);
  });
});

describe('python isolation between runs', () => {
  it('starts every run with a fresh namespace', async () => {
    await value('leaked = "secret"\ndef main(p):\n    global counter\n    counter = 1\n    return 1');
    expect(await value('def main(p):\n    try:\n        return [leaked, counter]\n    except NameError:\n        return "clean"')).toEqual({ result: 'clean' });
  });

  it('does not carry builtins shadowing over', async () => {
    await value('len = lambda x: 99\ndef main(p):\n    return len([1])');
    expect(await value('def main(p):\n    return len([1])')).toEqual({ result: 1 });
  });

  it('reseeds random and resets the decimal context', async () => {
    const seeded = await value('import random, decimal\nrandom.seed(7)\ndecimal.getcontext().prec = 3\ndef main(p):\n    return random.random()');
    const next = (await value('import random, decimal\ndef main(p):\n    return [random.random(), decimal.getcontext().prec]')) as { result: [number, number] };
    expect(next.result[0]).not.toBe((seeded as { result: number }).result);
    expect(next.result[1]).toBe(28);
  });
});

describe('python limits', () => {
  it('cuts console output at consoleBytes with one notice', async () => {
    const result = await py('def main(p):\n    for i in range(1000):\n        print("line", i)\n    return 1', {}, { consoleBytes: 200 });
    expect(result.ok).toBe(true);
    expect(result.logs.length).toBeLessThan(20);
    expect(result.logs.at(-1)).toEqual({ level: 'warning', message: 'console output truncated (consoleBytes limit reached)' });
  });

  it('fails outputs larger than outputBytes', async () => {
    expect(await failure('def main(p):\n    return "x" * 5000', { outputBytes: 1000 })).toEqual({
      error: 'code: outputBytes exceeded (1000 bytes)',
      limit: 'outputBytes',
    });
  });
});

// These end interpreters: each is replaced (a cold start) before the next needs it.
describe('python runaway scripts', () => {
  it('ends a spinning script at its timeout without delaying other scripts or the event loop', async () => {
    const started = performance.now();
    let spinningEnded = false;
    const spinning = py('def main(p):\n    while True:\n        pass', {}, { timeoutMs: 3_000 }).finally(() => {
      spinningEnded = true;
    });
    const quick = await py('def main(p):\n    return "quick"');
    const timerLag = await new Promise<number>((resolve) => {
      const at = performance.now();
      setTimeout(() => resolve(performance.now() - at - 20), 20);
    });
    // The other interpreter answered while the first still spins, and the main thread stayed free.
    expect(quick).toMatchObject({ ok: true, value: { result: 'quick' } });
    expect(spinningEnded).toBe(false);
    expect(timerLag).toBeLessThan(500);
    expect(await spinning).toEqual({ ok: false, error: 'code: timeoutMs exceeded (3000 ms)', limit: 'timeoutMs', logs: [] });
    expect(performance.now() - started).toBeLessThan(5_000);
    runner.warm(2);
  });

  it('ends a huge allocation and a generator that never ends at the heap cap', async () => {
    const forever = 'def forever():\n    while True:\n        yield "x" * 100\n\ndef main(p):\n    return list(forever())';
    const huge = 'def main(p):\n    return len(bytearray(2**31 - 1))';
    const [endless, allocation] = await Promise.all([failure(forever, { memoryBytes: 16 * 1024 * 1024 }), failure(huge)]);
    expect(endless).toEqual({ error: 'code: memoryBytes exceeded (16777216 bytes)', limit: 'memoryBytes' });
    expect(allocation).toEqual({ error: 'code: memoryBytes exceeded (33554432 bytes)', limit: 'memoryBytes' });
    runner.warm(2);
  });

  it('stops a script at once when cancelled', async () => {
    const controller = new AbortController();
    const started = performance.now();
    const running = py('def main(p):\n    while True:\n        pass', {}, {}, controller.signal);
    setTimeout(() => controller.abort(new Error('cancelled by test')), 200);
    await expect(running).rejects.toThrow('cancelled by test');
    expect(performance.now() - started).toBeLessThan(1_000);
    runner.warm(2);
  });

  it('retires an interpreter whose shared state a script changed', async () => {
    await value('import fractions\nfractions.Fraction.limit_denominator = None\ndef main(p):\n    return 1');
    expect(await value('import fractions\ndef main(p):\n    return str(fractions.Fraction(1, 3).limit_denominator(10))')).toEqual({ result: '1/3' });
    runner.warm(2);
  });

  it('survives deep recursion inside C code (the interpreter is replaced)', async () => {
    const source = 'def main(p):\n    x = []\n    for i in range(200000):\n        x = [x]\n    return len(repr(x))';
    expect(await failure(source)).toMatchObject({ limit: 'stackBytes' });
    expect(await value('def main(p):\n    return 2')).toEqual({ result: 2 });
  });
});
