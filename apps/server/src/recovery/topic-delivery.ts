import type { Logger } from 'pino';
import { MemoryTopicHistory, RedisTopicHistory, historyKeys, type TopicHistory } from '@realtime/presence';
import type { RedisConnections } from '@realtime/redis';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { RoomSubscriptions } from '../room-subscriptions.js';
import type { RealtimeServer } from '../socket-types.js';
import { ThrottledWarning } from '../throttled-warning.js';
import { isTopic } from '../topics.js';
import { historyBroadcaster } from './history-broadcaster.js';
import type { TopicBroadcaster } from './topic-broadcaster.js';
import { TopicFeed } from './topic-feed.js';
import { DeliveryLog, retainMsFor } from './delivery-log.js';
import { RunJournal } from './run-journal.js';

interface Waiting {
  topic: string;
  except: string[];
}

/** How topic events travel with recovery on: the history, this node's feed of it, and the broadcaster that appends. */
export interface TopicDelivery {
  history: TopicHistory;
  /** The order this node delivered its topics' events in; every delivery carries its offset token. */
  log: DeliveryLog;
  feed: TopicFeed;
  broadcaster: TopicBroadcaster;
  /** A join waits for its topic's history subscription (what `rooms.ready` was for the sharded adapter). */
  rooms: RoomSubscriptions;
  /** This run's journal in Redis (none on a single node without Redis: nobody to recover its connections). */
  journal: RunJournal | undefined;
  /**
   * A recovered connection is about to join `topics`: deliveries to them
   * still waiting for their journal write must not reach it (they are in
   * its replay, or in what was held for it).
   */
  exclude(socketId: string, topics: ReadonlySet<string>): void;
}

/**
 * Builds the history path (RECOVERY_WINDOW_MS > 0): a Redis history in every
 * Redis mode, an in-process one on a single node. The feed follows the
 * node's Socket.IO topic rooms: subscribed while the node has members in a
 * topic, so a node receives only its own topics' events in every mode.
 */
export function createTopicDelivery(
  config: Config,
  io: RealtimeServer,
  redis: RedisConnections | undefined,
  metrics: Metrics,
  logger: Logger,
  runId: string,
): TopicDelivery {
  const keys = historyKeys(config.redisKeyPrefix);
  const limits = { maxMessagesPerTopic: config.recoveryMaxMessagesPerTopic, windowMs: config.recoveryWindowMs };
  const anomalies = {
    duplicate: metrics.historyDeliveryAnomalies.labels('duplicate'),
    gap: metrics.historyDeliveryAnomalies.labels('gap'),
    malformed: metrics.historyDeliveryAnomalies.labels('malformed'),
  };
  for (const counter of Object.values(anomalies)) counter.inc(0);
  const retainMs = retainMsFor(config.pingIntervalMs, config.pingTimeoutMs);
  const journaled: { journal?: RunJournal } = {};
  /** Deliveries waiting for their journal write, with the connections they must skip. */
  const queued = new Set<Waiting>();
  const log = new DeliveryLog({
    runId,
    maxEntriesPerTopic: config.recoveryMaxMessagesPerTopic + 1,
    retainMs,
    onRecord: (q, topic, position) => journaled.journal?.record(q, topic, position),
    onForget: (topic) => journaled.journal?.forget(topic),
  });
  const journalFailed = metrics.journalWriteFailures;
  journalFailed.inc(0);
  const journalWarning = new ThrottledWarning((occurrences, err) =>
    logger.warn(
      { err, occurrences, event: 'run-journal-write-failed' },
      'the run journal could not be written (Redis failed): if this node is killed now, connections placed in the gap start empty',
    ),
  );
  if (redis !== undefined) {
    journaled.journal = new RunJournal({
      redis: redis.commands,
      keyPrefix: config.redisKeyPrefix,
      runId: log.runId,
      retainMs,
      keepMs: config.recoveryWindowMs,
      onError: (err) => {
        journalFailed.inc();
        journalWarning.occurred(err);
      },
    });
  }
  // The history is made first (the feed fills gaps from it); a single node's hands its appends to the feed.
  const late: { feed?: TopicFeed } = {};
  const history: TopicHistory =
    redis === undefined
      ? new MemoryTopicHistory({
          ...limits,
          keyPrefix: config.redisKeyPrefix,
          onPublish: (channel, message) => late.feed?.receive(channel, message),
        })
      : new RedisTopicHistory({ ...limits, redis: redis.commands, keyPrefix: config.redisKeyPrefix });
  const feed = new TopicFeed({
    log,
    history,
    maxHeldPerTopic: config.recoveryMaxMessagesPerTopic,
    channelOf: (topic) => keys.topic(topic).channel,
    channelPrefix: keys.channelPrefix,
    subscriber: redis?.shardedSubscriber,
    // The token last: socket.io-client keeps a string last argument as its offset and sends it back on reconnect.
    // With a journal, a delivery reaches the members once its sequence number is written there (one write
    // per event-loop turn, a Redis round trip later): every offset a client holds can be placed after a kill.
    deliver: (topic, event, envelope, token) => {
      const journal = journaled.journal;
      if (journal === undefined) return void io.local.to(topic).emit(event, envelope, token);
      const waiting: Waiting = { topic, except: [] };
      queued.add(waiting);
      journal.afterWrite(log.current, () => {
        queued.delete(waiting);
        const to = io.local.to(topic);
        (waiting.except.length === 0 ? to : to.except(waiting.except)).emit(event, envelope, token);
      });
    },
    onDuplicate: () => anomalies.duplicate.inc(),
    onGap: (_topic, missed) => anomalies.gap.inc(missed),
    onMalformed: () => anomalies.malformed.inc(),
  });
  late.feed = feed;
  const adapter = io.of('/').adapter;
  adapter.on('create-room', (room: string) => {
    if (isTopic(room)) feed.watch(room);
  });
  adapter.on('delete-room', (room: string) => {
    if (isTopic(room)) feed.unwatch(room);
  });
  const stored = metrics.historyAppends.labels('stored');
  const failed = metrics.historyAppends.labels('failed');
  stored.inc(0);
  failed.inc(0);
  const warning = new ThrottledWarning((occurrences, err) =>
    logger.warn(
      { err, occurrences, event: 'history-append-failed' },
      'a topic event could not be stored in the recovery history (Redis failed): members of this node still got it, other nodes did not',
    ),
  );
  const broadcaster = historyBroadcaster({
    history,
    feed,
    channelOf: (topic) => keys.topic(topic).channel,
    onStored: () => stored.inc(),
    onFailed: (err) => {
      failed.inc();
      warning.occurred(err);
    },
  });
  return {
    history,
    log,
    feed,
    broadcaster,
    rooms: { ready: (topic) => feed.ready(topic), reconfirm: () => feed.resubscribe() },
    journal: journaled.journal,
    exclude: (socketId, topics) => {
      for (const waiting of queued) if (topics.has(waiting.topic)) waiting.except.push(socketId);
    },
  };
}
