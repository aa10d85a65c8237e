import { DEFAULT_VALIDATION_LIMITS, type ValidationLimits } from '@realtime/protocol';

export type Transport = 'websocket' | 'polling';

/**
 * Who is sending, as the guide's `source` describes it. The SDK adds
 * `clientId` (the socket id) and `channel` (the channel addressed) to every
 * envelope itself. Values must be strings; undefined ones are left out.
 */
export interface SourceInfo {
  platform?: string;
  appName?: string;
  appVersion?: string;
  userName?: string;
  [key: string]: string | undefined;
}

/** Socket.IO's `auth`: sent with every (re)connection; a function is asked again each time. */
export type AuthOption = Record<string, unknown> | ((callback: (data: Record<string, unknown>) => void) => void);

export interface RealtimeClientOptions {
  /** The `source` of every envelope the client sends. */
  source?: SourceInfo;
  /** Default `['websocket', 'polling']`, as the guide connects. */
  transports?: Transport[];
  auth?: AuthOption;
  /**
   * Supplies the connection's token, asked again for every (re)connection
   * (socket.io-client's `auth` callback form: `{ token }`, merged into an
   * `auth` object when both are given; `auth` may not be a function then).
   * On the server's `auth-expiring` the SDK calls it again and sends
   * `auth-refresh` with the result, with no reconnect: retried with backoff
   * (a throw, a timeout, a refused token) a few times before the token
   * expires. Outcomes are the client's `token_refresh` and `token_error`
   * events. If it throws at a (re)connection, the handshake goes without a
   * token (`connect_error` with the server's refusal) and `token_error` says why.
   */
  getToken?: () => Promise<string>;
  /** How long a call waits for its acknowledgement (and for a connection first, if there is none). Default 10 000. */
  ackTimeoutMs?: number;
  /**
   * Reconnect after a lost connection, and rejoin every channel and room.
   * Default true. With false, a lost connection loses every membership
   * (each reported with a `lost` event).
   */
  reconnection?: boolean;
  /** First delay before reconnecting, doubled per attempt up to `reconnectionDelayMaxMs` (with jitter). Defaults 1 000 and 5 000. */
  reconnectionDelayMs?: number;
  reconnectionDelayMaxMs?: number;
  /** How long one connection attempt may take. Default 20 000. */
  connectTimeoutMs?: number;
  /** Send cookies cross-origin (and keep them, in Node.js): load balancers with cookie stickiness need it for polling. Default false. */
  withCredentials?: boolean;
  /** The Socket.IO path. Default `/socket.io/`. */
  path?: string;
  /**
   * Limits the SDK checks before sending, so an envelope it sends is never
   * refused as malformed. Defaults are the server's; raise `maxMessageBytes`
   * when the server's `MAX_MESSAGE_BYTES` is higher.
   */
  limits?: Partial<ValidationLimits>;
}

/** Options after defaults. */
export interface ResolvedOptions {
  source: SourceInfo;
  transports: Transport[];
  auth: AuthOption | undefined;
  getToken: (() => Promise<string>) | undefined;
  ackTimeoutMs: number;
  reconnection: boolean;
  reconnectionDelayMs: number;
  reconnectionDelayMaxMs: number;
  connectTimeoutMs: number;
  withCredentials: boolean;
  path: string | undefined;
  limits: ValidationLimits;
}

export function resolveOptions(options: RealtimeClientOptions): ResolvedOptions {
  if (options.getToken !== undefined && typeof options.auth === 'function') {
    throw new TypeError('pass getToken or an auth function, not both: getToken already supplies the token of every connection');
  }
  return {
    source: { ...options.source },
    transports: options.transports ?? ['websocket', 'polling'],
    auth: options.auth,
    getToken: options.getToken,
    ackTimeoutMs: options.ackTimeoutMs ?? 10_000,
    reconnection: options.reconnection ?? true,
    reconnectionDelayMs: options.reconnectionDelayMs ?? 1_000,
    reconnectionDelayMaxMs: options.reconnectionDelayMaxMs ?? 5_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 20_000,
    withCredentials: options.withCredentials ?? false,
    path: options.path,
    limits: { ...DEFAULT_VALIDATION_LIMITS, ...options.limits },
  };
}

/** Per call: how long to wait for the connection and the acknowledgement together. */
export interface CallOptions {
  timeoutMs?: number;
}
