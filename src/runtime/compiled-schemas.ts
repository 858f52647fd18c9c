import type { NodeExecutor } from '../engine/types.js';
import { measureJson } from '../json-bounds.js';
import { limitExceeded, type TaskLimits } from '../limits.js';
import { checkSchema } from '../schema/check-schema.js';
import { checkDeclaration } from '../schema/declaration.js';
import { buildDocument, type WorkflowDocument } from '../schema/document.js';
import { parseSchemaInput } from '../schema/parse.js';
import type { IJsonSchema, WorkflowSchema } from '../schema/types.js';
import type { SchemaIssue } from '../schema/validate-schema.js';
import { moveLiteralSecrets, type LiteralSecret } from '../secrets/literals.js';
import { secretReferences, type SecretReference } from '../secrets/references.js';
import type { SecretStore } from '../secrets/store.js';

/** A workflow schema as an object (the editor's shape; `meta` and `data` may be left out) or a JSON string. */
export type SchemaInput = WorkflowSchema | string | object;

/** A schema checked once against the known node types, ready to run (when it has no issues). */
export interface CompiledSchema {
  document: WorkflowDocument | undefined;
  issues: SchemaIssue[];
  /** What works but looks wrong (e.g. a ref to an output key its node does not declare). */
  warnings: string[];
  /** The start node's declared outputs (the task inputs' schema), found even when the graph is invalid. */
  inputsSchema: IJsonSchema | undefined;
  /** The schema as stored and run: literal keys replaced by secret references (the parsed input when it had none). */
  schema: WorkflowSchema;
  /** Literal keys to store when a task is accepted. */
  literals: LiteralSecret[];
  references: readonly SecretReference[];
}

export interface CompiledSchemasOptions {
  limits: Pick<TaskLimits, 'maxJsonDepth' | 'maxSchemaBytes' | 'maxDeclarationProperties'>;
  /** The runtime's node types (read live: call `clear` when they change). */
  executors: ReadonlyMap<string, NodeExecutor>;
  /** Names literal keys typed into forms, which compiling replaces by references. */
  secrets: Pick<SecretStore, 'literalName'>;
  /** Schema strings remembered (oldest forgotten first). Default 256. */
  maxStrings?: number;
}

const MAX_CACHED_SCHEMA_STRINGS = 256;

/**
 * Compiles schemas once: by identity for objects (a schema is treated as immutable once passed in),
 * by content for strings (the server's case), a bounded number of them. Refuses a schema too big or
 * too deep before anything recursive touches it.
 */
export class CompiledSchemas {
  private objects = new WeakMap<object, CompiledSchema>();
  private strings = new Map<string, CompiledSchema>();
  private readonly maxStrings: number;

  constructor(private readonly options: CompiledSchemasOptions) {
    this.maxStrings = options.maxStrings ?? MAX_CACHED_SCHEMA_STRINGS;
  }

  /** Forgets every compiled schema (known node types changed, so cached validation results may be stale). */
  clear(): void {
    this.objects = new WeakMap();
    this.strings = new Map();
  }

  /** The schema compiled (from the cache when seen before); throws when it is not JSON/an object, or too big or deep. */
  compile(input: SchemaInput): CompiledSchema {
    const { limits } = this.options;
    if (typeof input === 'string') {
      const cached = this.strings.get(input);
      if (cached) return cached;
      if (input.length > limits.maxSchemaBytes) throw limitExceeded('maxSchemaBytes', `schema: larger than ${limits.maxSchemaBytes} characters`);
      const compiled = this.compileSchema(this.bounded(parseSchemaInput(input), input.length));
      if (this.strings.size >= this.maxStrings) this.strings.delete(this.strings.keys().next().value as string);
      this.strings.set(input, compiled);
      return compiled;
    }
    const schema = parseSchemaInput(input);
    const cached = this.objects.get(schema);
    if (cached) return cached;
    const compiled = this.compileSchema(this.bounded(schema, undefined));
    this.objects.set(schema, compiled);
    return compiled;
  }

  /** Refuses a schema too big or too deep for anything recursive to touch, before anything does. */
  private bounded(schema: WorkflowSchema, textLength: number | undefined): WorkflowSchema {
    const { limits } = this.options;
    const measured = measureJson(schema, limits.maxJsonDepth, textLength === undefined ? limits.maxSchemaBytes : Number.POSITIVE_INFINITY);
    if (measured.exceeded === 'depth') throw limitExceeded('maxJsonDepth', `schema: nests deeper than ${limits.maxJsonDepth} levels`);
    if (measured.exceeded === 'bytes') throw limitExceeded('maxSchemaBytes', `schema: larger than ${limits.maxSchemaBytes} characters of JSON`);
    return schema;
  }

  private compileSchema(input: WorkflowSchema): CompiledSchema {
    const { executors, secrets, limits } = this.options;
    const moved = moveLiteralSecrets(input, (type) => executors.get(type)?.secretInputs, (value) => secrets.literalName(value));
    const schema = moved.schema as WorkflowSchema;
    const { issues, warnings } = checkSchema(schema, new Set(executors.keys()));
    const nodes: unknown[] = Array.isArray(schema.nodes) ? schema.nodes : [];
    const startIndex = nodes.findIndex((node) => (node as { type?: unknown } | null)?.type === 'start');
    const outputs = (nodes[startIndex] as { data?: { outputs?: unknown } } | undefined)?.data?.outputs;
    let inputsSchema: IJsonSchema | undefined;
    if (outputs !== null && typeof outputs === 'object' && !Array.isArray(outputs)) {
      const declarationIssues = checkDeclaration(outputs, `nodes[${startIndex}].data.outputs`, limits.maxDeclarationProperties);
      issues.push(...declarationIssues);
      // A declaration with odd shapes or unknown types is reported once, by path; ajv would add its own lines for it.
      if (declarationIssues.length === 0 && !issues.some((issue) => issue.code === 'declaration_type')) inputsSchema = outputs as IJsonSchema;
    }
    const document = issues.length === 0 ? buildDocument(schema) : undefined;
    return {
      document,
      issues,
      warnings: warnings.map((issue) => issue.message),
      inputsSchema,
      schema,
      literals: moved.literals,
      references: secretReferences(schema),
    };
  }
}
