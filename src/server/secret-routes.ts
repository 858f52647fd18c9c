/**
 * `/api/secrets`: manage the secrets workflows reference. Names and dates go out, values only come
 * in (`PUT`); behind the API token like every task route.
 */
import { ErrorCodes, FlowgramError } from '../errors.js';
import type { SecretInfo } from '../secrets/store.js';
import type { RouteSpec } from './routes.js';
import { SecretInfoSchema, SecretListResponse, SecretNameParams, SecretPutRequest, SuccessResponse, parseRequest } from './wire.js';

function unknownSecret(name: string): FlowgramError {
  return new FlowgramError(ErrorCodes.SECRET_UNKNOWN, `name: no such secret "${name}"`);
}

function shown(info: SecretInfo): SecretInfo {
  return { name: info.name, source: info.source, ...(info.createdAt === undefined ? {} : { createdAt: info.createdAt, updatedAt: info.updatedAt }) };
}

export const secretRoutes: RouteSpec[] = [
  {
    method: 'GET',
    paths: ['/api/secrets'],
    operationId: 'SecretList',
    summary: 'Every secret name with where it comes from and when it changed; never a value',
    tag: 'Secrets',
    response: SecretListResponse,
    errors: [401],
    async handle(service) {
      return { secrets: (await service.runtime.secrets.list()).map(shown) };
    },
  },
  {
    method: 'GET',
    paths: ['/api/secrets/:name'],
    operationId: 'SecretInfo',
    summary: 'One secret\'s name, source and dates; never its value',
    tag: 'Secrets',
    params: SecretNameParams,
    response: SecretInfoSchema,
    errors: [400, 401, 404],
    async handle(service, request) {
      const { name } = parseRequest(SecretNameParams, request.params, 'name');
      const info = await service.runtime.secrets.info(name);
      if (!info) throw unknownSecret(name);
      return shown(info);
    },
  },
  {
    method: 'PUT',
    paths: ['/api/secrets/:name'],
    operationId: 'SecretPut',
    summary: 'Store a secret (encrypted at rest in the database), replacing one of the same name',
    tag: 'Secrets',
    params: SecretNameParams,
    body: SecretPutRequest,
    response: SecretInfoSchema,
    errors: [400, 401, 413, 415],
    async handle(service, request) {
      const { name } = parseRequest(SecretNameParams, request.params, 'name');
      const { value } = parseRequest(SecretPutRequest, request.body);
      const secrets = service.runtime.secrets;
      const existing = await secrets.info(name);
      if (existing && existing.source !== 'store') {
        throw new FlowgramError(ErrorCodes.BAD_REQUEST, `name: "${name}" comes from the ${existing.source === 'env' ? 'environment' : existing.source === 'file' ? 'secrets file' : 'runtime options'}; change it there`);
      }
      await secrets.set(name, value);
      return shown((await secrets.info(name)) as SecretInfo);
    },
  },
  {
    method: 'DELETE',
    paths: ['/api/secrets/:name'],
    operationId: 'SecretDelete',
    summary: 'Remove a stored secret; tasks that reference it fail before they run',
    tag: 'Secrets',
    params: SecretNameParams,
    response: SuccessResponse,
    errors: [400, 401, 404],
    async handle(service, request) {
      const { name } = parseRequest(SecretNameParams, request.params, 'name');
      if (!(await service.runtime.secrets.delete(name))) throw unknownSecret(name);
      return { success: true };
    },
  },
];
