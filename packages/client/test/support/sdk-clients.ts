import { registerTeardown } from '@realtime/testing';
import { createRealtimeClient, type RealtimeClient, type RealtimeClientOptions, type TopicEvents } from '../../src/index.js';

/** The guide's sample source, as an app would configure it. */
export const SAMPLE_SOURCE = { platform: 'web', appName: 'Sample App Name', appVersion: '1.0.0', userName: 'John Doe' };

/** An SDK client that reconnects quickly, closed when the test (or suite) ends. */
export function sdkClient(url: string, options: RealtimeClientOptions = {}): RealtimeClient {
  const rt = createRealtimeClient(url, {
    source: SAMPLE_SOURCE,
    reconnectionDelayMs: 100,
    reconnectionDelayMaxMs: 500,
    ...options,
  });
  registerTeardown(() => rt.close());
  return rt;
}

/** Resolves once the client is connected. */
export function connected(rt: RealtimeClient): Promise<void> {
  if (rt.connected) return Promise.resolve();
  return new Promise((resolve) => rt.once('connect', resolve));
}

interface Listenable {
  on<E extends keyof TopicEvents>(event: E, listener: TopicEvents[E]): unknown;
}

/** Records the first argument of every `event` a handle emits, from now on. */
export function recordTopic<E extends keyof TopicEvents>(handle: Listenable, event: E): Parameters<TopicEvents[E]>[0][] {
  const seen: Parameters<TopicEvents[E]>[0][] = [];
  handle.on(event, (first: Parameters<TopicEvents[E]>[0]) => seen.push(first));
  return seen;
}
