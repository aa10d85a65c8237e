import type { RedisCommandClient } from '@realtime/presence';
import type { SessionRecord } from './session-record.js';

/**
 * Lost connections' sessions until they come back or the window passes.
 * A session is taken once: a second reconnection with the same session id
 * finds nothing (and starts empty).
 */
export interface SessionStore {
  save(pid: string, record: SessionRecord, ttlMs: number): Promise<void>;
  take(pid: string): Promise<SessionRecord | undefined>;
}

/** Socket.IO's session ids (base64id: 20-24 URL-safe characters). Anything else a client sends is not looked up. */
const SESSION_ID = /^[A-Za-z0-9_-]{8,64}$/;

export function isSessionId(pid: string): boolean {
  return SESSION_ID.test(pid);
}

function parse(text: string | null): SessionRecord | undefined {
  if (text === null) return undefined;
  try {
    const record = JSON.parse(text) as SessionRecord;
    return record.v === 1 ? record : undefined;
  } catch {
    return undefined;
  }
}

/** One key per session, `<prefix>{s:<pid>}`, expiring with the window; taken with GETDEL (one round trip, at most once). */
export function redisSessionStore(redis: RedisCommandClient, keyPrefix: string): SessionStore {
  const key = (pid: string): string => `${keyPrefix}{s:${pid}}`;
  return {
    async save(pid, record, ttlMs) {
      await redis.set(key(pid), JSON.stringify(record), 'PX', Math.max(1, Math.round(ttlMs)));
    },
    async take(pid) {
      if (!isSessionId(pid)) return undefined;
      return parse(await redis.getdel(key(pid)));
    },
  };
}

/** A single node's sessions, with the same expiry. */
export function memorySessionStore(now: () => number = Date.now): SessionStore {
  const sessions = new Map<string, { text: string; expiresAtMs: number }>();
  return {
    save(pid, record, ttlMs) {
      const at = now();
      for (const [id, s] of sessions) if (s.expiresAtMs <= at) sessions.delete(id);
      sessions.set(pid, { text: JSON.stringify(record), expiresAtMs: at + ttlMs });
      return Promise.resolve();
    },
    take(pid) {
      const s = sessions.get(pid);
      sessions.delete(pid);
      return Promise.resolve(s === undefined || s.expiresAtMs <= now() ? undefined : parse(s.text));
    },
  };
}
