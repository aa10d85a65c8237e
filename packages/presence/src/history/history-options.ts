import { DEFAULT_HISTORY_WINDOW_MS, DEFAULT_MAX_MESSAGES_PER_TOPIC, type Position, type TopicHistoryLimits } from './topic-history.js';

/** The limits with their defaults, checked once (a bad limit is a programming error, not a runtime condition). */
export function resolveHistoryLimits(limits: TopicHistoryLimits): Required<TopicHistoryLimits> {
  const maxMessagesPerTopic = limits.maxMessagesPerTopic ?? DEFAULT_MAX_MESSAGES_PER_TOPIC;
  const windowMs = limits.windowMs ?? DEFAULT_HISTORY_WINDOW_MS;
  if (!Number.isSafeInteger(maxMessagesPerTopic) || maxMessagesPerTopic < 1) {
    throw new RangeError(`maxMessagesPerTopic must be a positive integer, got ${maxMessagesPerTopic}`);
  }
  if (!Number.isSafeInteger(windowMs) || windowMs < 1) throw new RangeError(`windowMs must be a positive integer, got ${windowMs}`);
  return { maxMessagesPerTopic, windowMs };
}

/** Throws on a position or limit no caller may pass (a negative or fractional offset, a limit below 1). */
export function checkSinceArguments(from: Position, limit: number): void {
  if (!Number.isSafeInteger(from.offset) || from.offset < 0)
    throw new RangeError(`offset must be a non-negative integer, got ${from.offset}`);
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
}
