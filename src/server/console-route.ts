/**
 * The web console: `/` answers with a small HTML shell that loads the console's scripts (built from
 * src/console into dist/console by `npm run build`) from `/console/`. The page and its scripts carry no
 * data, so they answer without the bearer token; everything they show comes from the API, which asks
 * for it. `/api/task/view?taskID=` (the former run viewer) redirects to the console's viewer.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ErrorCodes, FlowgramError } from '../errors.js';
import { TaskIDQuery, parseRequest } from './wire.js';

/** Where the build puts the console: `<package>/dist/console`, from src/server (tests) and dist/server alike. */
const ASSETS_DIR = new URL('../../dist/console/', import.meta.url);

/** Nothing but the console's own files and the API: an injected value could load or send nothing elsewhere. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "style-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The console's scripts by file name, read once (a few small files). */
function readAssets(): Map<string, string> | undefined {
  try {
    const files = readdirSync(ASSETS_DIR).filter((name) => name.endsWith('.js'));
    return new Map(files.map((name) => [name, readFileSync(new URL(name, ASSETS_DIR), 'utf8')]));
  } catch {
    return undefined;
  }
}

function shell(prefix: string, version: string): string {
  const base = JSON.stringify(`${prefix}/api`).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>FlowGram runtime console</title>
<link rel="icon" href="data:,">
<script type="application/json" id="console-config">{"apiBase":${base}}</script>
<script type="module" src="${prefix}/console/main.js?v=${encodeURIComponent(version)}"></script>
</head>
<body><noscript>The console needs JavaScript.</noscript></body>
</html>
`;
}

function notBuilt(): FlowgramError {
  return new FlowgramError(ErrorCodes.INTERNAL, 'console: the page is not built (run npm run build)');
}

/** Whether a request path is one the console answers without a token. */
export function isConsolePath(path: string, prefix: string): boolean {
  if (path === `${prefix}/` || path === prefix || path === `${prefix}/api/task/view` || path === `${prefix}/task/view`) return true;
  return path.startsWith(`${prefix}/console/`);
}

export function registerConsole(app: FastifyInstance, version: string): void {
  const prefix = app.prefix;
  const assets = readAssets();
  const page = shell(prefix, version);
  const secure = (reply: FastifyReply): FastifyReply =>
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer');

  app.get('/', (_request, reply) => {
    if (!assets) throw notBuilt();
    return secure(reply).type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(page);
  });
  app.get<{ Params: { file: string } }>('/console/:file', (request, reply) => {
    const body = assets?.get(request.params.file);
    if (body === undefined) return reply.callNotFound();
    return secure(reply).type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(body);
  });
  for (const url of ['/api/task/view', '/task/view']) {
    app.get(url, (request, reply) => {
      const { taskID } = parseRequest(TaskIDQuery, request.query, 'query');
      return reply.redirect(`${prefix}/#/task/${encodeURIComponent(taskID)}`, 302);
    });
  }
}
