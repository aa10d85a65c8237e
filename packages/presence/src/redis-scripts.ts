import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/**
 * Loads the Lua scripts of `../lua` (each prefixed with `prelude.lua`) as
 * ioredis commands. ioredis runs them with EVALSHA and falls back to EVAL
 * after NOSCRIPT, so a Redis that restarted empty needs nothing from us.
 */
const SCRIPT_NAMES = ['apply', 'count', 'heartbeat', 'restore', 'restore-finish', 'remove-nodes'] as const;
type ScriptName = (typeof SCRIPT_NAMES)[number];

const COMMAND_NAMES: Record<ScriptName, string> = {
  apply: 'presenceApply',
  count: 'presenceCount',
  heartbeat: 'presenceHeartbeat',
  restore: 'presenceRestore',
  'restore-finish': 'presenceRestoreFinish',
  'remove-nodes': 'presenceRemoveNodes',
};

function readScript(name: string): string {
  return readFileSync(new URL(`../lua/${name}.lua`, import.meta.url), 'utf8');
}

const prelude = readScript('prelude');
const sources = new Map<ScriptName, string>(SCRIPT_NAMES.map((name) => [name, `${prelude}\n${readScript(name)}`]));

export type ScriptArg = string | number;

/** The presence commands; every one takes KEYS[1] = the version counter, then ARGV (ARGV[1] = key base). */
export interface PresenceCommands {
  presenceApply(seqKey: string, ...argv: ScriptArg[]): Promise<number[]>;
  presenceCount(seqKey: string, ...argv: ScriptArg[]): Promise<[number, number]>;
  presenceHeartbeat(seqKey: string, ...argv: ScriptArg[]): Promise<number>;
  presenceRestore(seqKey: string, ...argv: ScriptArg[]): Promise<number>;
  presenceRestoreFinish(seqKey: string, ...argv: ScriptArg[]): Promise<string[]>;
  presenceRemoveNodes(seqKey: string, ...argv: ScriptArg[]): Promise<[string[], (string | number)[]]>;
}

const defined = new WeakSet<Redis>();

/** Defines the presence commands on `client` (once) and returns it typed. */
export function withPresenceCommands(client: Redis): Redis & PresenceCommands {
  if (!defined.has(client)) {
    for (const [name, lua] of sources) {
      client.defineCommand(COMMAND_NAMES[name], { numberOfKeys: 1, lua });
    }
    defined.add(client);
  }
  return client as Redis & PresenceCommands;
}
