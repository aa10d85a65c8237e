import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { ERROR_REGISTRY, ERROR_CODES, type ErrorCode } from '@realtime/protocol';

/** The body of every HTTP API error: the protocol's registry, its HTTP status per code. */
export const ApiErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.Union(ERROR_CODES.map((code) => Type.Literal(code))),
      message: Type.String(),
    }),
  },
  { description: 'An error: `code` from the protocol registry, `message` for humans' },
);

/** Sends `{ error: { code, message } }` with the code's HTTP status. */
export function sendApiError(reply: FastifyReply, code: ErrorCode, message: string, headers: Record<string, string> = {}): FastifyReply {
  return reply
    .code(ERROR_REGISTRY[code].httpStatus)
    .headers(headers)
    .send({ error: { code, message } });
}

/** The responses every authenticated route can give besides its own: for the OpenAPI document. */
export function errorResponses(...codes: ErrorCode[]): Record<number, unknown> {
  const responses: Record<number, unknown> = {};
  for (const code of ['UNAUTHORIZED', 'FORBIDDEN', 'RATE_LIMITED', 'INTERNAL', ...codes] as ErrorCode[]) {
    responses[ERROR_REGISTRY[code].httpStatus] = ApiErrorBody;
  }
  return responses;
}
