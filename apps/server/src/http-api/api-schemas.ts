import { Type, type Static } from 'typebox';

/** Generous: the protocol's own id rules (1-256 code points) are checked after, with its messages. */
const Id = (description: string) => Type.String({ minLength: 1, maxLength: 4096, description });

export const ChannelParams = Type.Object({ channel: Id('channel id (URL-encoded)') });
export const RoomParams = Type.Object({ channel: Id('channel id (URL-encoded)'), roomId: Id('room id (URL-encoded)') });

const Source = Type.Record(Type.String(), Type.String(), {
  description: 'as a member sends it; clientId and platform are set by the server',
});
const IdempotencyKey = Type.String({
  description: 'a retry with the same key (from the same API key) within 5 minutes is not delivered again',
});

export const PublishBody = Type.Object(
  { message: Type.String(), source: Type.Optional(Source), idempotencyKey: Type.Optional(IdempotencyKey) },
  { additionalProperties: false },
);
export type PublishBody = Static<typeof PublishBody>;

export const PublishOk = Type.Object({
  ok: Type.Literal(true),
  duplicate: Type.Boolean({ description: 'true: an earlier call with this idempotencyKey delivered it; nothing was sent now' }),
});

export const BatchItem = Type.Object(
  {
    channel: Type.String(),
    roomId: Type.Optional(Type.String({ description: 'with a roomId the message goes to that room, without to the channel' })),
    message: Type.String(),
    source: Type.Optional(Source),
    idempotencyKey: Type.Optional(IdempotencyKey),
  },
  { additionalProperties: false },
);

export const BatchBody = Type.Object(
  {
    items: Type.Array(Type.Unknown({ description: 'a BatchItem: { channel, roomId?, message, source?, idempotencyKey? }' }), {
      minItems: 1,
      maxItems: 100,
      description: 'applied in order; an invalid item fails alone',
    }),
  },
  { additionalProperties: false },
);
export type BatchBody = Static<typeof BatchBody>;

export const BatchResults = Type.Object({
  results: Type.Array(
    Type.Union([
      PublishOk,
      Type.Object({ ok: Type.Literal(false), error: Type.Object({ code: Type.String(), message: Type.String() }) }),
    ]),
  ),
});

export const CountResponse = Type.Object({
  onlineUsers: Type.Integer({ minimum: 0, description: 'connections, cluster-wide: what members are told once it settles' }),
  users: Type.Integer({
    minimum: 0,
    description: 'distinct users, cluster-wide: a user (token sub) with several connections counts once, each anonymous connection once',
  }),
});

export const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: 'page size, 1-1000 (default 100)' })),
    cursor: Type.Optional(Type.String({ maxLength: 1024, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);
export type PageQuery = Static<typeof PageQuery>;

export const ChannelsQuery = Type.Object(
  {
    prefix: Type.Optional(Type.String({ maxLength: 1024, description: 'only channels whose id starts with this (literally)' })),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: 'page size, 1-1000 (default 100)' })),
    cursor: Type.Optional(Type.String({ maxLength: 1024, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);
export type ChannelsQuery = Static<typeof ChannelsQuery>;

const NextCursor = Type.Union([Type.String(), Type.Null()], { description: 'null on the last page; opaque, valid on any node' });

export const MembersPage = Type.Object({
  members: Type.Array(
    Type.Object({
      clientId: Type.String(),
      nodeId: Type.String(),
      userId: Type.Union([Type.String(), Type.Null()], { description: "the token's sub; null for an anonymous connection" }),
      source: Type.Record(Type.String(), Type.String()),
      joinedAt: Type.Union([Type.String(), Type.Null()], { description: 'server time of the join' }),
    }),
  ),
  nextCursor: NextCursor,
});

export const ChannelsPage = Type.Object({
  channels: Type.Array(Type.Object({ channel: Type.String(), onlineUsers: Type.Integer({ minimum: 1 }) })),
  nextCursor: NextCursor,
});

export const ConnectionParams = Type.Object({ clientId: Type.String({ minLength: 1, maxLength: 1024, description: 'the socket id (clientId)' }) });

export const OkResponse = Type.Object({ ok: Type.Literal(true) });

export const UserParams = Type.Object({ userId: Type.String({ minLength: 1, maxLength: 1024, description: "the user id: the tokens' sub (URL-encoded)" }) });

export const UserDisconnectBody = Type.Object(
  {
    revokeTokensIssuedBefore: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 2 ** 40,
        description:
          "unix seconds: this user's tokens issued before it (or without iat) are refused REVOKED from now on, at handshake and refresh, on every node; at most 300 s ahead of the server's clock; kept AUTH_MAX_TOKEN_LIFETIME_S past it",
      }),
    ),
  },
  { additionalProperties: false },
);
export type UserDisconnectBody = Static<typeof UserDisconnectBody>;

export const UserDisconnectOk = Type.Object({
  ok: Type.Literal(true),
  disconnected: Type.Integer({ minimum: 0, description: "how many of the user's connections were closed, on every node that answered" }),
});
