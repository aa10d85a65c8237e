import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

/**
 * Loads the Lua scripts of `../lua` (each prefixed with `prelude.lua`) as
 * ioredis commands. ioredis runs them with EVALSHA and falls back to EVAL
 * after NOSCRIPT, so a Redis that restarted empty (or a master promoted
 * since) needs nothing from us.
 */
const SCRIPTS = {
  presenceTopicApply: { file: 'topic-apply', keys: 3 },
  presenceTopicRemove: { file: 'topic-remove', keys: 3 },
  presenceTopicCount: { file: 'topic-count', keys: 2 },
  presenceTopicUsers: { file: 'topic-users', keys: 3 },
  presenceIndexApply: { file: 'index-apply', keys: 1 },
  presenceIndexPrune: { file: 'index-prune', keys: 1 },
  presenceHeartbeat: { file: 'heartbeat', keys: 2 },
  presenceRegister: { file: 'register', keys: 2 },
  presenceNodeSilence: { file: 'node-silence', keys: 2 },
  presenceReapCandidates: { file: 'reap-candidates', keys: 3 },
  presenceReapFinish: { file: 'reap-finish', keys: 3 },
} as const;

function readScript(name: string): string {
  return readFileSync(new URL(`../lua/${name}.lua`, import.meta.url), 'utf8');
}

const prelude = readScript('prelude');

export type ScriptArg = string | number;

/** The presence commands: the keys first (as many as the script declares), then ARGV. See each script for both. */
export interface PresenceCommands {
  /** → [count, version, changed flags…] */
  presenceTopicApply(members: string, version: string, users: string, ...argv: ScriptArg[]): Promise<[number, string, ...number[]]>;
  /** → [count, version, removed (connectionId, meta) pairs…] */
  presenceTopicRemove(members: string, version: string, users: string, ...argv: ScriptArg[]): Promise<[number, string, ...string[]]>;
  presenceTopicCount(members: string, version: string): Promise<[number, string]>;
  /** → [count, version, distinct users] */
  presenceTopicUsers(members: string, version: string, users: string): Promise<[number, string, number]>;
  presenceIndexApply(index: string, ...argv: ScriptArg[]): Promise<number>;
  presenceIndexPrune(index: string, ...argv: ScriptArg[]): Promise<number>;
  presenceHeartbeat(nodes: string, clock: string, ...argv: ScriptArg[]): Promise<number>;
  presenceRegister(nodes: string, incarnations: string, nodeId: string, incarnation: string): Promise<number>;
  /** → [ms since the last heartbeat or -1, incarnation or ''] */
  presenceNodeSilence(nodes: string, incarnations: string, nodeId: string): Promise<[number, string]>;
  presenceReapCandidates(nodes: string, clock: string, reaping: string, ...argv: ScriptArg[]): Promise<string[]>;
  presenceReapFinish(nodes: string, reaping: string, incarnations: string, ...argv: ScriptArg[]): Promise<number>;
}

/** A standalone (or Sentinel-managed) connection, or a Redis Cluster client. */
export type RedisCommandClient = Redis | Cluster;

const defined = new WeakSet<RedisCommandClient>();

/** Defines the presence commands on `client` (once) and returns it typed. */
export function withPresenceCommands(client: RedisCommandClient): RedisCommandClient & PresenceCommands {
  if (!defined.has(client)) {
    for (const [command, { file, keys }] of Object.entries(SCRIPTS)) {
      client.defineCommand(command, { numberOfKeys: keys, lua: `${prelude}\n${readScript(file)}` });
    }
    defined.add(client);
  }
  return client as RedisCommandClient & PresenceCommands;
}
