import type { NodeExecutor } from '../engine/types.js';
import { blockEndExecutor } from './block-end.js';
import { blockStartExecutor } from './block-start.js';
import { breakExecutor } from './break.js';
import { createCodeExecutor } from './code.js';
import { conditionExecutor } from './condition.js';
import { continueExecutor } from './continue.js';
import { endExecutor } from './end.js';
import { httpExecutor } from './http.js';
import { llmExecutor } from './llm.js';
import { loopExecutor } from './loop.js';
import { startExecutor } from './start.js';
import { waitExecutor } from './wait.js';

/** The executors every runtime starts with; `createRuntime({ executors })` adds to or replaces them. */
export function defaultExecutors(): NodeExecutor[] {
  return [
    startExecutor,
    endExecutor,
    conditionExecutor,
    loopExecutor,
    blockStartExecutor,
    blockEndExecutor,
    breakExecutor,
    continueExecutor,
    llmExecutor,
    httpExecutor,
    waitExecutor,
    createCodeExecutor(),
  ];
}
