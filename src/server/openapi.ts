/**
 * The OpenAPI 3 document, generated from the route table and its zod schemas (the same ones the
 * routes parse with), so the document cannot disagree with the server.
 */
import type { ZodTypeAny } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';
import type { RouteSpec } from './routes.js';
import { packageVersion } from './version.js';
import { ErrorResponse } from './wire.js';

type JsonObject = Record<string, unknown>;

function jsonSchema(schema: ZodTypeAny): JsonObject {
  const { $schema: _ignored, ...rest } = zodToJsonSchema(schema, { target: 'openApi3', $refStrategy: 'none' }) as JsonObject;
  return rest;
}

/** Query (or path) parameters, one per property of the object schema. */
function parameters(schema: ZodTypeAny, where: 'query' | 'path'): JsonObject[] {
  const object = jsonSchema(schema) as { properties?: Record<string, JsonObject>; required?: string[] };
  return Object.entries(object.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (object.required?.includes(name) ?? false),
    schema: property,
  }));
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Malformed request: bad JSON, a missing or wrong field (the message names it)',
  401: 'Missing or wrong bearer token',
  404: 'No such task (or secret)',
  409: 'The task has not finished yet',
  413: 'Request body over the configured limit',
  415: 'Content-Type is not application/json',
  429: 'Too many tasks queued',
  503: 'Shutting down',
};

export interface OpenApiOptions {
  /** Where the routes are mounted, e.g. `/flow` for the plugin; '' at the root. */
  prefix: string;
  bearerAuth: boolean;
}

export function buildOpenApiDocument(routes: readonly RouteSpec[], options: OpenApiOptions): JsonObject {
  const errorContent = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };
  const paths: Record<string, JsonObject> = {};
  for (const route of routes) {
    const operation: JsonObject = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      responses: {
        200: {
          description: 'OK',
          content: { [route.produces ?? 'application/json']: { schema: jsonSchema(route.response) } },
        },
        ...Object.fromEntries(route.errors.map((status) => [status, { description: STATUS_TEXT[status] ?? 'Error', content: errorContent }])),
        500: { description: 'Internal error', content: errorContent },
      },
    };
    const routeParameters = [...(route.params ? parameters(route.params, 'path') : []), ...(route.query ? parameters(route.query, 'query') : [])];
    if (routeParameters.length > 0) operation.parameters = routeParameters;
    if (route.body) operation.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(route.body) } } };
    if (options.bearerAuth && route.protected === false) operation.security = [];
    const path = `${options.prefix}${route.paths[0].replace(/:(\w+)/g, '{$1}')}`;
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation };
  }
  const document: JsonObject = {
    openapi: '3.0.3',
    info: {
      title: 'FlowGram Runtime',
      version: packageVersion,
      description:
        'Runs flowgram.ai workflows. The task routes are also served without the /api prefix; ' +
        'a tRPC endpoint with the same operations is at /trpc.',
    },
    paths,
    components: { schemas: { Error: jsonSchema(ErrorResponse) } },
  };
  if (options.bearerAuth) {
    (document.components as JsonObject).securitySchemes = { bearerAuth: { type: 'http', scheme: 'bearer' } };
    document.security = [{ bearerAuth: [] }];
  }
  return document;
}
