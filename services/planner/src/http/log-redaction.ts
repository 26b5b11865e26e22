import type { FastifyRequest } from 'fastify';
import { QUERY_TOKEN_PARAM } from './request-auth.js';

const REDACTED = '[REDACTED]';

function decodedName(part: string): string {
  const name = part.split('=', 1)[0]!.replaceAll('+', ' ');
  try {
    return decodeURIComponent(name).toLowerCase();
  } catch {
    return name.toLowerCase();
  }
}

/**
 * `url` with the value of every `access_token` query parameter replaced, however its name is spelled or
 * encoded (`Access_Token`, `access%5Ftoken`), on any route: a client may send one where it is refused, and that
 * URL must not reach a log either.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const [query, fragment] = splitOnce(url.slice(q + 1), '#');
  const parts = query
    .split('&')
    .map((part) => (decodedName(part) === QUERY_TOKEN_PARAM ? `${part.split('=', 1)[0]}=${REDACTED}` : part));
  return `${url.slice(0, q)}?${parts.join('&')}${fragment === undefined ? '' : `#${fragment}`}`;
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const i = text.indexOf(separator);
  return i < 0 ? [text, undefined] : [text.slice(0, i), text.slice(i + 1)];
}

/**
 * The `req` fields of the planner's request log lines: fastify's own, with the URL redacted. Given to the
 * logger as its `req` serializer, it is the one place a request's URL reaches a log.
 */
export function requestLogFields(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}
