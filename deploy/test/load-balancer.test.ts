import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { RelayedEnvelope } from '@realtime/protocol';
import { startLocalCluster, type LocalCluster, type LocalNode } from '@realtime/local-cluster';
import { emitWithAck, guideEnvelope, nextEvent, record, registerTeardown, uniqueKeyPrefix, type Transport } from '@realtime/testing';
import { argsOf, parseHaproxyFile, section } from './support/haproxy-config.js';
import { readAccessLog } from './support/haproxy-log.js';
import { httpRequest, type HttpResponse } from './support/http.js';
import { appMember, expectLastCounts, nodeOfSocket, type AppMember } from './support/lb-members.js';

/**
 * The docker-compose topology without Docker: redis-server, three node
 * processes and a real HAProxy running deploy/haproxy/haproxy.cfg, started by
 * the code behind `npm run cluster`. Clients only ever talk to HAProxy, all
 * from one address: it spreads them in turn and keeps each on its node with
 * a cookie, which these clients keep as a browser does.
 */
async function topology(): Promise<LocalCluster> {
  const cluster = await startLocalCluster({
    nodes: 3,
    // debug: each node logs `connection opened` with the socket id, which tells where a client landed.
    env: { LOG_LEVEL: 'debug', REDIS_KEY_PREFIX: uniqueKeyPrefix('lb'), CORS_ORIGINS: 'https://app.example.com' },
  });
  registerTeardown(() => cluster.stop());
  return cluster;
}

interface Placed {
  member: AppMember;
  node: LocalNode;
}

/**
 * Connects polling-only members until every node has one (where a member
 * landed is read from the node logs, not assumed), then websocket-only
 * members likewise. Round robin makes that one round each; the bound only
 * turns a balancer that stopped spreading into a clear failure.
 */
async function membersOnEveryNode(cluster: LocalCluster, channel: string): Promise<{ polling: Placed[]; websocket: Placed[] }> {
  const place = async (transports: Transport[]): Promise<Placed[]> => {
    const placed: Placed[] = [];
    while (cluster.nodes.some((node) => !placed.some((p) => p.node === node))) {
      if (placed.length >= 3 * cluster.nodes.length) {
        throw new Error(
          `${placed.length} ${transports.join('/')} clients reached only ${new Set(placed.map((p) => p.node.nodeId)).size} nodes`,
        );
      }
      const member = await appMember(cluster.url, channel, { transports });
      placed.push({ member, node: await nodeOfSocket(cluster.nodes, member.ids[0] as string) });
    }
    return placed;
  };
  return { polling: await place(['polling']), websocket: await place(['websocket']) };
}

/** The `rt-affinity=…` pair of a response's Set-Cookie, as a client sends it back. */
function affinityCookie(response: HttpResponse): string {
  const header = ([] as string[]).concat(response.headers['set-cookie'] ?? []).find((c) => c.startsWith('rt-affinity='));
  if (header === undefined) throw new Error(`no rt-affinity cookie in ${JSON.stringify(response.headers)}`);
  return header.split(';')[0] as string;
}

describe('through the HAProxy load balancer (deploy/haproxy/haproxy.cfg)', () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await topology();
  });

  it('polling-only and websocket clients, spread over all three nodes, see each other’s joins, messages and counts', async () => {
    const { polling, websocket } = await membersOnEveryNode(cluster, 'lb-mixed');
    expect(new Set(polling.map((p) => p.node.nodeId))).toEqual(new Set(cluster.nodes.map((n) => n.nodeId)));
    expect(new Set(websocket.map((p) => p.node.nodeId))).toEqual(new Set(cluster.nodes.map((n) => n.nodeId)));
    for (const { member } of polling) expect(member.socket.io.engine.transport.name).toBe('polling');
    for (const { member } of websocket) expect(member.socket.io.engine.transport.name).toBe('websocket');

    const everyone = [...polling, ...websocket].map((p) => p.member);
    await expectLastCounts(everyone, everyone.length);

    // A join on one node is seen on the others.
    const first = polling[0]!.member;
    const joinsSeen = everyone.map((m) => nextEvent<RelayedEnvelope>(m.socket, 'join-room', () => true));
    const joiner = websocket.find((p) => p.node !== polling[0]!.node)!.member;
    await emitWithAck(first.socket, 'join-room', guideEnvelope({ roomChannel: 'lb-mixed', roomId: 'r' }, first.socket));
    expect((await joinsSeen[0])!.clientId).toBe(first.socket.id);
    const roomJoin = nextEvent<RelayedEnvelope>(first.socket, 'join-room', (e) => e.clientId === joiner.socket.id);
    await emitWithAck(joiner.socket, 'join-room', guideEnvelope({ roomChannel: 'lb-mixed', roomId: 'r' }, joiner.socket));
    await roomJoin;

    // Messages from a polling client and from a websocket client reach everyone, on every node.
    for (const sender of [polling.at(-1)!.member, websocket[1]!.member]) {
      const text = `from ${sender.transports[0]} ${sender.socket.id}`;
      const received = everyone.map((m) => nextEvent<RelayedEnvelope>(m.socket, 'lb-mixed', (e) => e.data.message === text));
      expect(
        await emitWithAck(sender.socket, 'lb-mixed', guideEnvelope({ roomChannel: 'lb-mixed', message: text }, sender.socket)),
      ).toEqual({
        ok: true,
      });
      for (const envelope of await Promise.all(received)) expect(envelope.clientId).toBe(sender.socket.id);
    }

    // A leave over polling is seen by a websocket client on another node, and every count follows.
    const leaver = polling[0]!.member;
    const watcher = websocket.find((p) => p.node !== polling[0]!.node)!.member;
    const left = nextEvent<RelayedEnvelope>(watcher.socket, 'leave-channel', (e) => e.clientId === leaver.socket.id);
    await emitWithAck(leaver.socket, 'leave-channel', guideEnvelope({ roomChannel: 'lb-mixed' }, leaver.socket));
    await left;
    await expectLastCounts(
      everyone.filter((m) => m !== leaver),
      everyone.length - 1,
    );
  });

  it('sessions are node-local, so stickiness is needed: the cookie HAProxy sets keeps a polling sid on the one node that knows it', async () => {
    const handshake = await httpRequest(`${cluster.url}/socket.io/?EIO=4&transport=polling`);
    expect(handshake.status).toBe(200);
    expect(([] as string[]).concat(handshake.headers['set-cookie'] ?? [])).toContainEqual(
      expect.stringMatching(/^rt-affinity=[^;]+; path=\/; HttpOnly$/),
    );
    const cookie = affinityCookie(handshake);
    // The engine.io open packet: "0" + JSON.
    const { sid } = JSON.parse(handshake.body.slice(1)) as { sid: string };
    const path = `/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;

    // Asked directly, every node but one answers "Session ID unknown": what a balancer without stickiness hits.
    const direct = await Promise.all(cluster.nodes.map((node) => httpRequest(`${node.url}${path}`, { method: 'POST', body: '6' })));
    const owners = direct.filter((r) => r.status === 200);
    expect(owners).toHaveLength(1);
    for (const refused of direct.filter((r) => r.status !== 200)) {
      expect(refused.status).toBe(400);
      expect(JSON.parse(refused.body)).toEqual({ code: 1, message: 'Session ID unknown' });
    }
    // With the cookie, every request reaches the owner, and the cookie is not set again.
    for (let i = 0; i < 5; i++) {
      const viaLb = await httpRequest(`${cluster.url}${path}`, { method: 'POST', body: '6', headers: { cookie } });
      expect(viaLb).toMatchObject({ status: 200, body: 'ok' });
      expect(viaLb.headers['set-cookie']).toBeUndefined();
    }
    const connect = await httpRequest(`${cluster.url}${path}`, { method: 'POST', body: '40', headers: { cookie } });
    expect(connect).toMatchObject({ status: 200, body: 'ok' });
    const reply = await httpRequest(`${cluster.url}${path}`, { headers: { cookie } });
    expect(reply.status).toBe(200);
    // With connection state recovery (the default) the CONNECT reply also carries the private session id.
    expect(reply.body).toMatch(/^40\{"sid":"[^"]+","pid":"[^"]+"\}/);
    // A client that drops the cookie is a new client to HAProxy, sent to the next node in turn: "Session ID unknown".
    const cookieless = [];
    for (let i = 0; i < cluster.nodes.length; i++)
      cookieless.push(await httpRequest(`${cluster.url}${path}`, { method: 'POST', body: '6' }));
    expect(cookieless.map((r) => r.status)).toContain(400);
    await httpRequest(`${cluster.url}${path}`, { method: 'POST', body: '1', headers: { cookie } });
  });

  it('a listed cross-origin page may poll with credentials (cookies of a cookie-affinity balancer); others are refused', async () => {
    const handshake = `${cluster.url}/socket.io/?EIO=4&transport=polling`;
    const allowed = await httpRequest(handshake, { headers: { origin: 'https://app.example.com' } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(allowed.headers['access-control-allow-credentials']).toBe('true');
    const refused = await httpRequest(handshake, { headers: { origin: 'https://evil.example.net' } });
    expect(refused.status).toBe(403);
    // The refused page may read its refusal, but never with credentials.
    expect(refused.headers['access-control-allow-origin']).toBe('https://evil.example.net');
    expect(refused.headers['access-control-allow-credentials']).toBeUndefined();
    expect(refused.body).toContain('add it to CORS_ORIGINS');
  });

  it('HAProxy answers its own health route; the nodes’ routes answer through it', async () => {
    expect(await httpRequest(`${cluster.url}/lb-health`)).toMatchObject({ status: 200, body: 'ok' });
    expect((await httpRequest(`${cluster.url}/readyz`)).status).toBe(200);
    expect((await httpRequest(`${cluster.url}/healthz`)).status).toBe(200);
  });

  it('refuses /metrics in every spelling that reaches the route, without asking a node; the scraper still gets it from each node', async () => {
    const spellings = ['/metrics', '/metrics?format=text', '/%6Detrics', '/METRICS', '/metrics/', '//metrics'];
    for (const path of spellings) {
      expect(await httpRequest(`${cluster.url}${path}`), path).toMatchObject({ status: 404, body: 'not found' });
    }
    // The access log names who answered: HAProxy itself (<NOSRV>), never a node.
    await vi.waitFor(
      () => {
        const refused = readAccessLog(cluster.lb.accessLog).filter((line) => /metrics/i.test(decodeURIComponent(line.uri)));
        // HAProxy writes a line when a request ends: the order of nearly simultaneous ones is its own.
        const byUri = (x: (string | number)[], y: (string | number)[]): number => String(x[0]).localeCompare(String(y[0]));
        expect(refused.map((line) => [line.uri, line.server, line.status]).sort(byUri)).toEqual(
          spellings.map((path) => [path, '<NOSRV>', 404]).sort(byUri),
        );
      },
      { timeout: 5_000, interval: 20 },
    );
    // HAProxy's servers are the nodes' public ports, never a metrics port.
    const servers = argsOf(section(parseHaproxyFile(join(cluster.lb.runDir, 'servers.cfg')), 'backend', 'realtime'), 'server');
    expect(servers.map(([, address]) => address)).toEqual(cluster.nodes.map((node) => `127.0.0.1:${node.port}`));
    for (const node of cluster.nodes) {
      expect(node.metricsPort, node.nodeId).not.toBe(node.port);
      expect(servers.flat()).not.toContain(`127.0.0.1:${node.metricsPort}`);
      // Where Prometheus scrapes (the node's metrics port, from its listening line): served.
      const scrape = await fetch(node.metricsUrl);
      expect(scrape.status, node.metricsUrl).toBe(200);
      expect(await scrape.text()).toMatch(/^# HELP /m);
    }
  });
});

describe('a node drained with SIGTERM behind the load balancer', () => {
  it('its clients reconnect through HAProxy to the other nodes, are recovered there, and every count settles at the true figure', async () => {
    const cluster = await topology();
    const { polling, websocket } = await membersOnEveryNode(cluster, 'drain');
    const placed = [...polling, ...websocket];
    const everyone = placed.map((p) => p.member);
    await expectLastCounts(everyone, everyone.length);

    const victim = cluster.nodes[0]!;
    const moving = placed.filter((p) => p.node === victim).map((p) => p.member);
    const staying = placed.filter((p) => p.node !== victim).map((p) => p.member);
    expect(new Set(moving.map((m) => m.transports[0]))).toEqual(new Set(['polling', 'websocket']));

    victim.signal('SIGTERM');
    // The drained members come back through HAProxy with a new connection, rejoin, and the count is whole again everywhere.
    await vi.waitFor(() => expect(moving.map((m) => m.ids.length)).toEqual(moving.map(() => 2)), { timeout: 15_000, interval: 25 });
    await Promise.all(moving.map((m) => m.joined()));
    await expectLastCounts(everyone, everyone.length);
    expect((await victim.exited).code).toBe(0);

    for (const m of moving) {
      // A transport-level loss, the kind socket.io-client reconnects after ("io server disconnect" would not).
      expect(['transport close', 'transport error']).toContain(m.disconnects[0]);
      expect(m.disconnects).toHaveLength(1);
      // Recovered (RECOVERY_WINDOW_MS, on by default): the same socket id, now opened on another node.
      expect(m.socket.recovered).toBe(true);
      expect(m.ids[1]).toBe(m.ids[0]);
      await nodeOfSocket(
        cluster.nodes.filter((node) => node !== victim),
        m.ids.at(-1) as string,
      );
    }
    // Members of the other nodes never noticed.
    for (const m of staying) expect(m.disconnects).toEqual([]);

    // The cluster-wide count a newcomer is told is the true one.
    const newcomer = await appMember(cluster.url, 'drain', { transports: ['websocket'] });
    await expectLastCounts([newcomer, ...everyone], everyone.length + 1);
    // And messages still cross nodes: a moved member reaches a staying one.
    const inbox = record<RelayedEnvelope>(staying[0]!.socket, 'drain');
    const sender = moving[0]!;
    const arrived = nextEvent<RelayedEnvelope>(staying[0]!.socket, 'drain', (e) => e.data.message === 'after the drain');
    await emitWithAck(sender.socket, 'drain', guideEnvelope({ roomChannel: 'drain', message: 'after the drain' }, sender.socket));
    expect((await arrived).clientId).toBe(sender.socket.id);
    expect(inbox.filter((e) => e.data.message === 'after the drain')).toHaveLength(1);
  });
});
