import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { RelayedEnvelope } from '@realtime/protocol';
import { startRedis, startServerNode, type LocalNode, type LocalRedis } from '@realtime/local-cluster';
import { connectClient, emitWithAck, guideEnvelope, nextEvent, registerTeardown, uniqueKeyPrefix } from '@realtime/testing';
import { parsePrometheusText, sampleValue, type MetricFamily } from './support/prometheus-text.js';

/**
 * GET /metrics of node processes, parsed as a Prometheus server would parse
 * it, and its counters checked against traffic whose effect is known exactly.
 */
let redis: LocalRedis;
let nodes: LocalNode[];

beforeAll(async () => {
  redis = await startRedis();
  registerTeardown(() => redis.stop());
  const prefix = uniqueKeyPrefix('metrics');
  nodes = await Promise.all(
    ['metrics-1', 'metrics-2'].map((nodeId) => startServerNode({ nodeId, redisUrl: redis.url, env: { REDIS_KEY_PREFIX: prefix } })),
  );
  registerTeardown(() => Promise.all(nodes.map((n) => n.stop())));
});

async function scrape(node: LocalNode): Promise<Map<string, MetricFamily>> {
  // Where Prometheus scrapes it: the node's own metrics port (apps/cluster starts nodes with METRICS_PORT=0).
  const response = await fetch(node.metricsUrl);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await response.text());
}

function value(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number {
  const found = sampleValue(families, name, labels);
  if (found === undefined) throw new Error(`no sample ${name}${JSON.stringify(labels)}`);
  return found;
}

describe('the Prometheus text parser used here', () => {
  it('accepts a well-formed exposition and rejects what Prometheus rejects', () => {
    const good = parsePrometheusText(
      '# HELP a_total Things.\n# TYPE a_total counter\na_total{k="x\\"y\\\\z\\n"} 3\n# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 0.5\nh_count 1\n',
    );
    expect(sampleValue(good, 'a_total', { k: 'x"y\\z\n' })).toBe(3);
    expect(sampleValue(good, 'h_bucket', { le: '+Inf' })).toBe(1);
    for (const bad of [
      'a 1', // no final line feed
      'a{b="c} 1\n', // unterminated label value
      'a{b="\\x"} 1\n', // invalid escape
      'a 1\na 2\n', // duplicate series
      'a 1\nb 1\na{x="1"} 1\n', // family not contiguous
      '# TYPE c counter\nc -1\n', // negative counter
      '# TYPE h histogram\nh_bucket 1\n', // bucket without le
      '1a 1\n', // bad name
      'a one\n', // bad value
      'a NaNa\n', // bad value
    ]) {
      expect(() => parsePrometheusText(bad), bad).toThrow();
    }
  });
});

describe('GET /metrics', () => {
  it('is valid Prometheus text: prefixed names, counters end in _total, units in the names, the default process metrics under their standard names', async () => {
    const families = await scrape(nodes[0]!);
    for (const family of families.values()) {
      // Ours are realtime_*; prom-client's defaults keep the names stock Node.js dashboards query.
      expect(family.name).toMatch(/^(realtime|process|nodejs)_[a-z0-9_]+$/);
      expect(family.help, family.name).toBeTruthy();
      expect(family.type, family.name).not.toBe('untyped');
      if (family.type === 'counter') expect(family.name).toMatch(/_total$/);
      // prom-client's own gauges of active handles are named *_total; ours are not.
      else if (!family.name.startsWith('nodejs_active_')) expect(family.name).not.toMatch(/_total$/);
    }
    const types = Object.fromEntries([...families.values()].map((f) => [f.name, f.type]));
    expect(types).toMatchObject({
      realtime_connected_sockets: 'gauge',
      realtime_channels: 'gauge',
      realtime_rooms: 'gauge',
      realtime_memberships: 'gauge',
      realtime_joins_total: 'counter',
      realtime_leaves_total: 'counter',
      realtime_messages_in_total: 'counter',
      realtime_messages_out_total: 'counter',
      realtime_refused_events_total: 'counter',
      realtime_presence_announcements_total: 'counter',
      realtime_redis_reconnects_total: 'counter',
      realtime_redis_errors_total: 'counter',
      realtime_event_handling_seconds: 'histogram',
      realtime_connections_opened_total: 'counter',
      realtime_connections_closed_total: 'counter',
      realtime_origin_refusals_total: 'counter',
      realtime_server_closes_total: 'counter',
      // prom-client's defaults: event-loop lag, CPU, memory, handles, GC.
      nodejs_eventloop_lag_seconds: 'gauge',
      nodejs_eventloop_lag_p99_seconds: 'gauge',
      process_cpu_seconds_total: 'counter',
      process_resident_memory_bytes: 'gauge',
      nodejs_gc_duration_seconds: 'histogram',
      nodejs_heap_size_used_bytes: 'gauge',
    });
    const lag = value(families, 'nodejs_eventloop_lag_seconds');
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThan(5);
    // Every error code has a series from the start (rate() works from the first scrape).
    for (const code of ['INVALID_PAYLOAD', 'NOT_A_MEMBER', 'PAYLOAD_TOO_LARGE', 'LIMIT_EXCEEDED', 'RATE_LIMITED', 'INTERNAL']) {
      expect(value(families, 'realtime_refused_events_total', { code })).toBeGreaterThanOrEqual(0);
    }
  });

  it('every realtime_* metric a node exports is in the operator docs (docs/deploying.md), so no series is undocumented', async () => {
    const families = await scrape(nodes[0]!);
    const docs = readFileSync(fileURLToPath(new URL('../../docs/deploying.md', import.meta.url)), 'utf8');
    const ours = [...families.keys()].filter((name) => name.startsWith('realtime_'));
    // A node exports every series it declares from its first scrape (labelled ones with no sample still have their HELP line).
    expect(ours.length).toBeGreaterThan(30);
    expect(ours.filter((name) => !docs.includes(`\`${name}`))).toEqual([]);
  });

  it('counters and gauges follow the traffic exactly, on the sending node and on the receiving one', async () => {
    const [n1, n2] = nodes as [LocalNode, LocalNode];
    const before = await Promise.all([scrape(n1), scrape(n2)]);
    const a = await connectClient(n1.url, { transports: ['websocket'] });
    const b = await connectClient(n1.url, { transports: ['polling'] });
    const c = await connectClient(n2.url, { transports: ['websocket'] });
    for (const s of [a, b, c]) {
      expect((await emitWithAck(s, 'join-channel', guideEnvelope({ roomChannel: 'm' }, s))).ok).toBe(true);
    }
    expect((await emitWithAck(a, 'join-room', guideEnvelope({ roomChannel: 'm', roomId: 'r' }, a))).ok).toBe(true);
    expect((await emitWithAck(c, 'join-room', guideEnvelope({ roomChannel: 'm', roomId: 'r' }, c))).ok).toBe(true);

    const sends = 4;
    for (let i = 0; i < sends; i++) {
      const everywhere = [a, b, c].map((s) => nextEvent<RelayedEnvelope>(s, 'm', (e) => e.data.message === `#${i}`));
      await emitWithAck(a, 'm', guideEnvelope({ roomChannel: 'm', message: `#${i}` }, a));
      await Promise.all(everywhere);
    }
    const inRoom = [a, c].map((s) => nextEvent<RelayedEnvelope>(s, 'notify-room', () => true));
    await emitWithAck(c, 'notify-room', guideEnvelope({ roomChannel: 'm', roomId: 'r', message: 'room' }, c));
    await Promise.all(inRoom);
    // Refusals, by code.
    expect(await emitWithAck(b, 'leave-channel', guideEnvelope({ roomChannel: 'not-joined' }, b))).toMatchObject({
      ok: false,
      error: { code: 'NOT_A_MEMBER' },
    });
    expect(await emitWithAck(b, 'join-channel', { data: {} })).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });

    const [after1, after2] = await Promise.all([scrape(n1), scrape(n2)]);
    const delta = (i: 0 | 1, name: string, labels: Record<string, string> = {}): number =>
      value(i === 0 ? after1 : after2, name, labels) - value(before[i], name, labels);

    expect(delta(0, 'realtime_joins_total', { kind: 'channel' })).toBe(2);
    expect(delta(1, 'realtime_joins_total', { kind: 'channel' })).toBe(1);
    expect(delta(0, 'realtime_joins_total', { kind: 'room' })).toBe(1);
    expect(delta(0, 'realtime_messages_in_total', { kind: 'channel' })).toBe(sends);
    expect(delta(1, 'realtime_messages_in_total', { kind: 'channel' })).toBe(0);
    expect(delta(1, 'realtime_messages_in_total', { kind: 'room' })).toBe(1);
    // Out = deliveries to this node's clients: a and b on node 1, c on node 2 (received from Redis).
    expect(delta(0, 'realtime_messages_out_total', { kind: 'channel' })).toBe(2 * sends);
    expect(delta(1, 'realtime_messages_out_total', { kind: 'channel' })).toBe(sends);
    expect(delta(0, 'realtime_messages_out_total', { kind: 'room' })).toBe(1);
    expect(delta(1, 'realtime_messages_out_total', { kind: 'room' })).toBe(1);
    expect(delta(0, 'realtime_messages_out_total', { kind: 'presence' })).toBeGreaterThan(0);
    expect(delta(0, 'realtime_refused_events_total', { code: 'NOT_A_MEMBER' })).toBe(1);
    expect(delta(0, 'realtime_refused_events_total', { code: 'INVALID_PAYLOAD' })).toBe(1);
    expect(delta(0, 'realtime_presence_announcements_total')).toBeGreaterThan(0);
    expect(delta(1, 'realtime_presence_announcements_total')).toBeGreaterThan(0);
    expect(delta(0, 'realtime_connections_opened_total')).toBe(2);
    expect(delta(1, 'realtime_connections_opened_total')).toBe(1);
    // Handling time: one observation per accepted event, by kind (refusals are not observed).
    expect(delta(0, 'realtime_event_handling_seconds_count', { event: 'join' })).toBe(3);
    expect(delta(1, 'realtime_event_handling_seconds_count', { event: 'join' })).toBe(2);
    expect(delta(0, 'realtime_event_handling_seconds_count', { event: 'message' })).toBe(sends);
    expect(delta(1, 'realtime_event_handling_seconds_count', { event: 'message' })).toBe(1);
    expect(delta(0, 'realtime_event_handling_seconds_bucket', { event: 'join', le: '+Inf' })).toBe(3);
    expect(delta(0, 'realtime_event_handling_seconds_sum', { event: 'join' })).toBeGreaterThan(0);

    // Gauges are read at scrape time: what is on each node now.
    expect(value(after1, 'realtime_connected_sockets')).toBe(2);
    expect(value(after2, 'realtime_connected_sockets')).toBe(1);
    expect(value(after1, 'realtime_channels')).toBe(1);
    expect(value(after1, 'realtime_rooms')).toBe(1);
    expect(value(after1, 'realtime_memberships', { kind: 'channel' })).toBe(2);
    expect(value(after1, 'realtime_memberships', { kind: 'room' })).toBe(1);

    // A disconnect is a leave of everything, and the gauges drop with it.
    a.disconnect();
    await vi.waitFor(async () => {
      const now = await scrape(n1);
      expect(value(now, 'realtime_connected_sockets')).toBe(1);
      expect(value(now, 'realtime_rooms')).toBe(0);
      expect(value(now, 'realtime_memberships', { kind: 'channel' })).toBe(1);
      expect(value(now, 'realtime_leaves_total', { kind: 'channel' }) - value(after1, 'realtime_leaves_total', { kind: 'channel' })).toBe(
        1,
      );
      expect(value(now, 'realtime_leaves_total', { kind: 'room' }) - value(after1, 'realtime_leaves_total', { kind: 'room' })).toBe(1);
      expect(
        value(now, 'realtime_connections_closed_total', { reason: 'client namespace disconnect' }) -
          (sampleValue(after1, 'realtime_connections_closed_total', { reason: 'client namespace disconnect' }) ?? 0),
      ).toBe(1);
    });
  });

  it('Redis errors and reconnects are counted through an outage', async () => {
    const before = await scrape(nodes[0]!);
    const sum = (families: Map<string, MetricFamily>, name: string): number =>
      families.get(name)!.samples.reduce((total, sample) => total + sample.value, 0);
    await redis.kill();
    // While it stays down, every reconnection attempt fails (ECONNREFUSED) and is counted.
    await vi.waitFor(
      async () => {
        const during = await scrape(nodes[0]!);
        expect(sum(during, 'realtime_redis_errors_total')).toBeGreaterThan(sum(before, 'realtime_redis_errors_total'));
      },
      { timeout: 10_000, interval: 50 },
    );
    await redis.start();
    await vi.waitFor(async () => expect((await fetch(`${nodes[0]!.url}/readyz`)).status).toBe(200), { timeout: 10_000, interval: 20 });
    const after = await scrape(nodes[0]!);
    for (const connection of ['commands', 'publisher', 'subscriber']) {
      expect(value(after, 'realtime_redis_reconnects_total', { connection })).toBeGreaterThan(
        value(before, 'realtime_redis_reconnects_total', { connection }),
      );
    }
  });
});
