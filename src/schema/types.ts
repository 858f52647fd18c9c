/**
 * Wire types of a workflow schema, as the flowgram.ai editor produces them. They come from the
 * upstream's published interface package so that our schema is the editor's schema.
 */
import type {
  IFlowValue,
  IJsonSchema,
  WorkflowEdgeSchema,
  WorkflowNodeSchema,
  WorkflowSchema,
} from '@flowgram.ai/runtime-interface';

export type { IFlowValue, IJsonSchema, WorkflowEdgeSchema, WorkflowNodeSchema, WorkflowSchema };

/** The value types the runtime tracks for variables (the upstream `WorkflowVariableType` values). */
export type VariableType =
  | 'string'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'object'
  | 'array'
  | 'map'
  | 'date-time'
  | 'null';

export type WorkflowInputs = Record<string, unknown>;
export type WorkflowOutputs = Record<string, unknown>;

/** Port used by edges that name no `sourcePortID`. */
export const DEFAULT_OUTPUT_PORT = 'defaultOutput';

/** Node types the engine itself gives meaning to. */
export const NodeTypes = {
  Start: 'start',
  End: 'end',
  Condition: 'condition',
  Loop: 'loop',
  BlockStart: 'block-start',
  BlockEnd: 'block-end',
  Break: 'break',
  Continue: 'continue',
  Code: 'code',
  LLM: 'llm',
  HTTP: 'http',
  Comment: 'comment',
  Group: 'group',
} as const;

/** Node types that are drawn in the editor but never executed. */
export const PASSIVE_NODE_TYPES: ReadonlySet<string> = new Set([NodeTypes.Comment, NodeTypes.Group]);
