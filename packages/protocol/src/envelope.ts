/**
 * Envelope shapes. Every payload on the wire, in both directions, is an
 * envelope, so a client typed `(data: Message) => …` keeps working for
 * server-made events too.
 */

/** `source` as the guide describes it; any extra keys must hold strings too. */
export interface EnvelopeSource {
  platform?: string;
  appName?: string;
  appVersion?: string;
  clientId?: string;
  userName?: string;
  channel?: string;
  [key: string]: string | undefined;
}

export interface EnvelopeData {
  message: string;
  /** `null` for channel traffic. */
  roomId: string | null;
  roomChannel: string;
}

/** What a client sends (after validation: optional fields may be absent). */
export interface ClientEnvelope {
  data: EnvelopeData;
  time?: string;
  clientId?: string;
  source?: EnvelopeSource;
}

/** What the server relays: identity stamped by the server. */
export interface RelayedEnvelope {
  data: EnvelopeData;
  /** The client's own timestamp when it sent one, else the server's. */
  time: string;
  /** Always the sender's socket id, whatever the client wrote. */
  clientId: string;
  source: EnvelopeSource & { clientId: string };
  /** When the server relayed it, ISO 8601. */
  serverTime: string;
}

/** `online-users` and `room-online-users`. */
export interface OnlineUsersEnvelope {
  data: EnvelopeData & { onlineUsers: number };
  time: string;
  clientId: 'server';
  source: { platform: 'server'; clientId: 'server'; channel: string };
  serverTime: string;
}

export const SERVER_CLIENT_ID = 'server';
