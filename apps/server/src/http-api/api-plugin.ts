import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { ErrorCode, checkChannelId, checkId, type ValidationLimits } from '@realtime/protocol';
import type { ApiKey } from '../config.js';
import type { Metrics } from '../metrics.js';
import { channelTopic, roomTopic } from '../topics.js';
import { apiKeyAuthenticator } from './api-key-auth.js';
import { errorResponses, sendApiError } from './api-errors.js';
import type { PublishItem, PublishResult } from './api-publisher.js';
import {
  BatchBody,
  BatchResults,
  ChannelParams,
  ChannelsPage,
  ChannelsQuery,
  ConnectionParams,
  CountResponse,
  MembersPage,
  OkResponse,
  PageQuery,
  type ChannelsQuery as ChannelsQueryType,
  type PageQuery as PageQueryType,
  PublishBody,
  PublishOk,
  RoomParams,
  type BatchBody as BatchBodyType,
  type PublishBody as PublishBodyType,
  UserDisconnectBody,
  UserDisconnectOk,
  UserParams,
  type UserDisconnectBody as UserDisconnectBodyType,
} from './api-schemas.js';
import { MAX_IDENTITY_LENGTH } from '../auth/jwt-authorizer.js';
import type { UserRevocation } from '../connection-revoker.js';
import { parseBatchItem } from './batch-item.js';
import { InvalidCursorError, type MemberEntry, type Page, type TopicUsers } from '@realtime/presence';
import { decodeIdentity } from '../envelopes.js';
import { CHANNEL_TOPIC_PREFIX, parseTopic } from '../topics.js';
import type { ApiRateLimiter } from './api-rate-limit.js';

export interface ApiOptions {
  keys: readonly ApiKey[];
  maxBodyBytes: number;
  limits: ValidationLimits;
  publish(keyName: string, item: PublishItem): Promise<PublishResult>;
  /** A topic's cluster-wide connections and distinct users; undefined when the store could not answer. */
  users(topic: string): Promise<TopicUsers | undefined>;
  /** The store's listings (they throw when the store cannot answer, InvalidCursorError for a foreign cursor). */
  members(topic: string, limit: number, cursor?: string): Promise<Page<MemberEntry>>;
  topics(prefix: string, limit: number, cursor?: string): Promise<Page<{ topic: string; count: number }>>;
  /** Closes a connection wherever it is, with REVOKED; false when no node has it; throws when the cluster cannot be asked. */
  disconnect(clientId: string): Promise<boolean>;
  /** Closes every connection of a user on every node with REVOKED, first revoking its tokens issued before `issuedBeforeS` when given. */
  disconnectUser(userId: string, issuedBeforeS: number | undefined): Promise<UserRevocation>;
  rateLimit: ApiRateLimiter;
  metrics: Metrics;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The API key that authenticated this request (HTTP API routes only). */
    apiKey?: ApiKey;
  }
}

const OPENAPI_PATH = '/api/v1/openapi.json';
/** The user-disconnect route as the OpenAPI document names it. */
const USER_DISCONNECT_PATH = '/api/v1/users/{userId}/disconnect';
/** How far ahead of this server's clock revokeTokensIssuedBefore may be: backend clock skew, not a lock-out into the future. */
const MAX_REVOCATION_AHEAD_S = 300;
const security = [{ bearer: [] }];

/**
 * The HTTP API under /api/v1 for backends: publish to channels and rooms
 * (one at a time or in batches, idempotent), and read counts. Every route
 * declares its schemas; the OpenAPI document at /api/v1/openapi.json and the
 * page at /api/docs are generated from them and public. Everything else
 * needs `Authorization: Bearer <secret>` of one of API_KEYS (401 without);
 * with no keys configured it answers 403. Errors are `{ error: { code,
 * message } }` with the protocol registry's code and HTTP status, Fastify's
 * own (bad JSON, too large, unknown route) included.
 */
export async function registerApi(app: FastifyInstance, options: ApiOptions): Promise<void> {
  const authenticate = apiKeyAuthenticator(options.keys);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'realtime-cluster HTTP API',
        version: '1.0.0',
        description: 'Publish to channels and rooms and read presence from a backend. Keys: API_KEYS (README).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    // @fastify/swagger marks every declared body required; this route's may be left out.
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      const paths = document.openapiObject.paths as Record<string, { post?: { requestBody?: { required?: boolean } } } | undefined> | undefined;
      const body = paths?.[USER_DISCONNECT_PATH]?.post?.requestBody;
      if (body !== undefined) body.required = false;
      return document.openapiObject;
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });

  await app.register(
    (api, _opts, done) => {
      api.setErrorHandler((err: FastifyError, request, reply) => {
        if (err.validation !== undefined) return sendApiError(reply, ErrorCode.INVALID_PAYLOAD, `request ${err.message}`);
        if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
          return sendApiError(reply, ErrorCode.PAYLOAD_TOO_LARGE, `the body is larger than API_MAX_BODY_BYTES (${options.maxBodyBytes})`);
        }
        if ((err.statusCode ?? 500) < 500) return sendApiError(reply, ErrorCode.INVALID_PAYLOAD, err.message);
        request.log.error({ err, route: request.routeOptions.url }, 'HTTP API request failed');
        return sendApiError(reply, ErrorCode.INTERNAL, 'the server failed; the request may be retried');
      });
      api.setNotFoundHandler((request, reply) =>
        sendApiError(reply, ErrorCode.NOT_FOUND, `no route ${request.method} ${request.url.split('?')[0] ?? ''}`),
      );
      api.addHook('onRequest', async (request, reply) => {
        if (request.routeOptions.url === OPENAPI_PATH) return;
        if (options.keys.length === 0) {
          return sendApiError(reply, ErrorCode.FORBIDDEN, 'the HTTP API is disabled: set API_KEYS=name:secret (README, Configuration) to enable it');
        }
        const key = authenticate(request.headers.authorization);
        if (key === undefined) return sendApiError(reply, ErrorCode.UNAUTHORIZED, 'send Authorization: Bearer <secret> of one of API_KEYS');
        request.apiKey = key;
        const decision = await options.rateLimit.take(key.name);
        if (!decision.allowed) {
          return sendApiError(reply, ErrorCode.RATE_LIMITED, `API key "${key.name}" is over API_RATE_LIMIT_PER_SECOND`, {
            'retry-after': String(decision.retryAfterSeconds),
          });
        }
      });
      api.addHook('onResponse', async (request, reply) => {
        const route = request.routeOptions.url ?? 'unknown';
        options.metrics.apiRequests.inc({ key: request.apiKey?.name ?? 'none', route, status: String(reply.statusCode) });
        if (request.apiKey !== undefined) {
          request.log.debug({ apiKey: request.apiKey.name, route, status: reply.statusCode }, 'HTTP API request');
        }
      });

      api.get('/v1/openapi.json', { schema: { hide: true } }, () => app.swagger());

      const publishOne = async (request: FastifyRequest, reply: FastifyReply, item: PublishItem): Promise<unknown> => {
        const result = await options.publish(request.apiKey!.name, item);
        if (!result.ok) return sendApiError(reply, result.error.code, result.error.message);
        return result;
      };

      api.post<{ Params: { channel: string }; Body: PublishBodyType }>(
        '/v1/channels/:channel/messages',
        {
          bodyLimit: options.maxBodyBytes,
          schema: {
            summary: 'Publish to a channel',
            description: 'Every member of the channel, on every node, receives the channel event as if a member had sent it.',
            security,
            params: ChannelParams,
            body: PublishBody,
            response: { 200: PublishOk, ...errorResponses('INVALID_PAYLOAD', 'PAYLOAD_TOO_LARGE', 'NOT_FOUND', 'UNAVAILABLE') },
          },
        },
        (request, reply) => publishOne(request, reply, { channel: request.params.channel, ...request.body }),
      );

      api.post<{ Params: { channel: string; roomId: string }; Body: PublishBodyType }>(
        '/v1/channels/:channel/rooms/:roomId/messages',
        {
          bodyLimit: options.maxBodyBytes,
          schema: {
            summary: 'Publish to a room (notify-room)',
            security,
            params: RoomParams,
            body: PublishBody,
            response: { 200: PublishOk, ...errorResponses('INVALID_PAYLOAD', 'PAYLOAD_TOO_LARGE', 'NOT_FOUND', 'UNAVAILABLE') },
          },
        },
        (request, reply) => publishOne(request, reply, { channel: request.params.channel, roomId: request.params.roomId, ...request.body }),
      );

      api.post<{ Body: BatchBodyType }>(
        '/v1/publish',
        {
          bodyLimit: options.maxBodyBytes,
          schema: {
            summary: 'Publish up to 100 messages, in order',
            description: 'Each item is a BatchItem; each gets its own result, and an invalid item fails alone.',
            security,
            body: BatchBody,
            response: { 200: BatchResults, ...errorResponses('INVALID_PAYLOAD', 'PAYLOAD_TOO_LARGE', 'NOT_FOUND') },
          },
        },
        async (request) => {
          const results: PublishResult[] = [];
          for (const raw of request.body.items) {
            const item = parseBatchItem(raw);
            results.push(
              typeof item === 'string'
                ? { ok: false, error: { code: ErrorCode.INVALID_PAYLOAD, message: item } }
                : await options.publish(request.apiKey!.name, item),
            );
          }
          return { results };
        },
      );

      const count = async (reply: FastifyReply, topic: string): Promise<unknown> => {
        const counted = await options.users(topic);
        if (counted === undefined) return sendApiError(reply, ErrorCode.UNAVAILABLE, 'Redis is unreachable: retry later');
        return { onlineUsers: counted.count, users: counted.users };
      };
      const idProblem = (channel: string, roomId?: string): string | undefined =>
        checkChannelId('channel', channel, options.limits.maxIdLength) ??
        (roomId === undefined ? undefined : checkId('roomId', roomId, options.limits.maxIdLength));

      api.get<{ Params: { channel: string } }>(
        '/v1/channels/:channel',
        {
          schema: {
            summary: "A channel's online connections and distinct users",
            security,
            params: ChannelParams,
            response: { 200: CountResponse, ...errorResponses('INVALID_PAYLOAD', 'NOT_FOUND', 'UNAVAILABLE') },
          },
        },
        async (request, reply) => {
          const problem = idProblem(request.params.channel);
          if (problem !== undefined) return sendApiError(reply, ErrorCode.INVALID_PAYLOAD, problem);
          return count(reply, channelTopic(request.params.channel));
        },
      );

      api.get<{ Params: { channel: string; roomId: string } }>(
        '/v1/channels/:channel/rooms/:roomId',
        {
          schema: {
            summary: "A room's online connections and distinct users",
            security,
            params: RoomParams,
            response: { 200: CountResponse, ...errorResponses('INVALID_PAYLOAD', 'NOT_FOUND', 'UNAVAILABLE') },
          },
        },
        async (request, reply) => {
          const problem = idProblem(request.params.channel, request.params.roomId);
          if (problem !== undefined) return sendApiError(reply, ErrorCode.INVALID_PAYLOAD, problem);
          return count(reply, roomTopic(request.params.channel, request.params.roomId));
        },
      );
      /** `limit` of a listing (1-1000, default 100), or what is wrong with it. */
      const pageSize = (raw: string | undefined): number | string => {
        const limit = raw === undefined ? 100 : Number(raw);
        return limit >= 1 && limit <= 1000 ? limit : 'limit must be 1-1000';
      };
      const listMembers = async (reply: FastifyReply, topic: string, query: PageQueryType): Promise<unknown> => {
        const limit = pageSize(query.limit);
        if (typeof limit === 'string') return sendApiError(reply, ErrorCode.INVALID_PAYLOAD, limit);
        try {
          const page = await options.members(topic, limit, query.cursor);
          return {
            members: page.items.map((m) => {
              const meta = decodeIdentity(m.meta);
              return {
                clientId: m.connectionId,
                nodeId: m.nodeId,
                // Only the server writes source.userId (from a verified token): a client-sent one is stripped.
                userId: meta.source?.userId ?? null,
                source: { ...meta.source, clientId: m.connectionId },
                joinedAt: meta.joinedAt ?? null,
              };
            }),
            nextCursor: page.nextCursor,
          };
        } catch (err) {
          if (err instanceof InvalidCursorError) return sendApiError(reply, ErrorCode.INVALID_PAYLOAD, err.message);
          return sendApiError(reply, ErrorCode.UNAVAILABLE, 'Redis is unreachable: retry later');
        }
      };
      const membersSchema = (summary: string, params: typeof ChannelParams | typeof RoomParams) => ({
        summary,
        description: 'Paged: at most `limit` per page, each member once over a walk; `nextCursor` works on any node.',
        security,
        params,
        querystring: PageQuery,
        response: { 200: MembersPage, ...errorResponses('INVALID_PAYLOAD', 'NOT_FOUND', 'UNAVAILABLE') },
      });

      api.get<{ Params: { channel: string }; Querystring: PageQueryType }>(
        '/v1/channels/:channel/members',
        { schema: membersSchema("A channel's members", ChannelParams) },
        async (request, reply) => {
          const problem = idProblem(request.params.channel);
          if (problem !== undefined) return sendApiError(reply, ErrorCode.INVALID_PAYLOAD, problem);
          return listMembers(reply, channelTopic(request.params.channel), request.query);
        },
      );

      api.get<{ Params: { channel: string; roomId: string }; Querystring: PageQueryType }>(
        '/v1/channels/:channel/rooms/:roomId/members',
        { schema: membersSchema("A room's members", RoomParams) },
        async (request, reply) => {
          const problem = idProblem(request.params.channel, request.params.roomId);
          if (problem !== undefined) return sendApiError(reply, ErrorCode.INVALID_PAYLOAD, problem);
          return listMembers(reply, roomTopic(request.params.channel, request.params.roomId), request.query);
        },
      );

      api.get<{ Querystring: ChannelsQueryType }>(
        '/v1/channels',
        {
          schema: {
            summary: 'Channels with members',
            description:
              'Paged, the prefix matched literally. A page may hold fewer than `limit` (even none) with a `nextCursor`: each call does bounded work. A walk lists every channel that has members throughout it at least once; one may appear twice while Redis resizes its keyspace.',
            security,
            querystring: ChannelsQuery,
            response: { 200: ChannelsPage, ...errorResponses('INVALID_PAYLOAD', 'NOT_FOUND', 'UNAVAILABLE') },
          },
        },
        async (request, reply) => {
          const limit = pageSize(request.query.limit);
          if (typeof limit === 'string') return sendApiError(reply, ErrorCode.INVALID_PAYLOAD, limit);
          try {
            const page = await options.topics(CHANNEL_TOPIC_PREFIX + (request.query.prefix ?? ''), limit, request.query.cursor);
            const channels = [];
            for (const t of page.items) {
              const topic = parseTopic(t.topic);
              if (topic?.kind === 'channel') channels.push({ channel: topic.channel, onlineUsers: t.count });
            }
            return { channels, nextCursor: page.nextCursor };
          } catch (err) {
            if (err instanceof InvalidCursorError) return sendApiError(reply, ErrorCode.INVALID_PAYLOAD, err.message);
            return sendApiError(reply, ErrorCode.UNAVAILABLE, 'Redis is unreachable: retry later');
          }
        },
      );

      api.delete<{ Params: { clientId: string } }>(
        '/v1/connections/:clientId',
        {
          schema: {
            summary: 'Close a connection, on whichever node it is',
            description:
              'The client receives `server-close` `{ code: "REVOKED", retry: false }`, then a server-side disconnect ("io server disconnect"): socket.io-client and the SDK do not reconnect.',
            security,
            params: ConnectionParams,
            response: { 200: OkResponse, ...errorResponses('INVALID_PAYLOAD', 'NOT_FOUND', 'UNAVAILABLE') },
          },
        },
        async (request, reply) => {
          // A topic's name holds a control character: no id that passes can name a channel's or room's Socket.IO room.
          const problem = checkId('clientId', request.params.clientId, options.limits.maxIdLength);
          if (problem !== undefined) return sendApiError(reply, ErrorCode.INVALID_PAYLOAD, problem);
          let closed: boolean;
          try {
            closed = await options.disconnect(request.params.clientId);
          } catch {
            return sendApiError(reply, ErrorCode.UNAVAILABLE, 'the other nodes could not be asked (Redis unreachable): retry later');
          }
          if (!closed) return sendApiError(reply, ErrorCode.NOT_FOUND, `no node has a connection ${request.params.clientId}`);
          return { ok: true };
        },
      );

      api.post<{ Params: { userId: string }; Body: UserDisconnectBodyType | undefined }>(
        '/v1/users/:userId/disconnect',
        {
          schema: {
            summary: "Close every connection of a user, on every node; optionally revoke the user's older tokens",
            description:
              "Every connection whose token's sub is userId receives `server-close` `{ code: \"REVOKED\", retry: false }` and is closed (socket.io-client and the SDK do not reconnect). `disconnected` counts them on every node that answered (a node silent for 5 s is not counted). The body is optional. With `revokeTokensIssuedBefore`, the user's tokens issued before it (or without `iat`) are refused REVOKED at handshake and refresh on every node, also after restarts, for AUTH_MAX_TOKEN_LIFETIME_S past it; a later call with an earlier time does not un-revoke. 503 when Redis could not be reached: the connections this node could reach were closed; retry.",
            security,
            params: UserParams,
            body: UserDisconnectBody,
            response: { 200: UserDisconnectOk, ...errorResponses('INVALID_PAYLOAD', 'NOT_FOUND', 'UNAVAILABLE') },
          },
          // The body is optional: none is the empty object (a present one is validated as sent).
          preValidation: async (request) => {
            request.body ??= {};
          },
        },
        async (request, reply) => {
          const { userId } = request.params;
          if (userId.length > MAX_IDENTITY_LENGTH) {
            return sendApiError(reply, ErrorCode.INVALID_PAYLOAD, `userId must be 1-${MAX_IDENTITY_LENGTH} characters, as a token's sub is`);
          }
          const issuedBeforeS = request.body?.revokeTokensIssuedBefore;
          if (issuedBeforeS !== undefined && issuedBeforeS > Math.floor(Date.now() / 1000) + MAX_REVOCATION_AHEAD_S) {
            return sendApiError(
              reply,
              ErrorCode.INVALID_PAYLOAD,
              `revokeTokensIssuedBefore must be at most ${MAX_REVOCATION_AHEAD_S} s after the server's time (unix seconds, not ms)`,
            );
          }
          const outcome = await options.disconnectUser(userId, issuedBeforeS);
          if (!outcome.ok) return sendApiError(reply, ErrorCode.UNAVAILABLE, outcome.message);
          return { ok: true, disconnected: outcome.disconnected };
        },
      );
      done();
    },
    { prefix: '/api' },
  );
}
