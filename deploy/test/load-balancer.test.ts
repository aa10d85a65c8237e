import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { RelayedEnvelope } from '@realtime/protocol';
import { startLocalCluster, type LocalCluster, type LocalNode } from '@realtime/local-cluster';
import { emitWithAck, guideEnvelope, nextEvent, record, registerTeardown, uniqueKeyPrefix } from '@realtime/testing';
import { httpRequest } from './support/http.js';
import { appMember, expectLastCounts, loopbackAddresses, nodeOfSocket, type AppMember } from './support/lb-members.js';

/**
 * The docker-compose topology without Docker: redis-server, three node
 * processes and a real nginx running deploy/nginx/nginx.conf, started by the
 * code behind `npm run cluster`. Clients only ever talk to nginx. nginx
 * routes by a hash of the client address, so clients bound to different
 * loopback source addresses are different clients to it.
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
 * Connects polling-only members from successive loopback addresses until
 * every node has one (where a member landed is read from the node logs, not
 * assumed), then a websocket member from each node's address: the same
 * client address reaches the same node whatever the transport.
 */
async function membersOnEveryNode(cluster: LocalCluster, channel: string): Promise<{ polling: Placed[]; websocket: Placed[] }> {
  const polling: Placed[] = [];
  const addresses = loopbackAddresses();
  while (cluster.nodes.some((node) => !polling.some((p) => p.node === node))) {
    const next = addresses.next();
    if (next.done === true) throw new Error('ran out of loopback addresses before every node had a member');
    const member = await appMember(cluster.url, channel, { localAddress: next.value, transports: ['polling'] });
    polling.push({ member, node: await nodeOfSocket(cluster.nodes, member.ids[0] as string) });
  }
  const websocket: Placed[] = [];
  for (const node of cluster.nodes) {
    const { localAddress } = polling.find((p) => p.node === node)!.member;
    const member = await appMember(cluster.url, channel, { localAddress, transports: ['websocket'] });
    websocket.push({ member, node: await nodeOfSocket(cluster.nodes, member.ids[0] as string) });
  }
  return { polling, websocket };
}

describe('through the nginx load balancer (deploy/nginx/nginx.conf)', () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await topology();
  });

  it('polling-only and websocket clients, spread over all three nodes, see each other’s joins, messages and counts', async () => {
    const { polling, websocket } = await membersOnEveryNode(cluster, 'lb-mixed');
    expect(new Set(polling.map((p) => p.node.nodeId))).toEqual(new Set(cluster.nodes.map((n) => n.nodeId)));
    expect(websocket.map((p) => p.node.nodeId)).toEqual(cluster.nodes.map((n) => n.nodeId));
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
      const text = `from ${sender.transports[0]} ${sender.localAddress}`;
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

  it('sessions are node-local, so stickiness is needed: only the node nginx picks knows a polling sid, and nginx keeps picking it', async () => {
    const address = '127.0.0.250';
    const handshake = await httpRequest(`${cluster.url}/socket.io/?EIO=4&transport=polling`, { localAddress: address });
    expect(handshake.status).toBe(200);
    // The engine.io open packet: "0" + JSON.
    const { sid } = JSON.parse(handshake.body.slice(1)) as { sid: string };
    const path = `/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;

    // Asked directly, every node but one answers "Session ID unknown": what a round-robin balancer would hit.
    const direct = await Promise.all(cluster.nodes.map((node) => httpRequest(`${node.url}${path}`, { method: 'POST', body: '6' })));
    const owners = direct.filter((r) => r.status === 200);
    expect(owners).toHaveLength(1);
    for (const refused of direct.filter((r) => r.status !== 200)) {
      expect(refused.status).toBe(400);
      expect(JSON.parse(refused.body)).toEqual({ code: 1, message: 'Session ID unknown' });
    }
    // Through nginx, the same client's requests all reach the owner.
    for (let i = 0; i < 5; i++) {
      const viaLb = await httpRequest(`${cluster.url}${path}`, { method: 'POST', body: '6', localAddress: address });
      expect(viaLb).toMatchObject({ status: 200, body: 'ok' });
    }
    const connect = await httpRequest(`${cluster.url}${path}`, { method: 'POST', body: '40', localAddress: address });
    expect(connect).toMatchObject({ status: 200, body: 'ok' });
    const reply = await httpRequest(`${cluster.url}${path}`, { localAddress: address });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatch(/^40\{"sid":"[^"]+"\}/);
    await httpRequest(`${cluster.url}${path}`, { method: 'POST', body: '1', localAddress: address });
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

  it('nginx answers its own health route; the nodes’ routes answer through it', async () => {
    expect(await httpRequest(`${cluster.url}/nginx-health`)).toMatchObject({ status: 200, body: 'ok\n' });
    expect((await httpRequest(`${cluster.url}/readyz`)).status).toBe(200);
    expect((await httpRequest(`${cluster.url}/healthz`)).status).toBe(200);
  });
});

describe('a node drained with SIGTERM behind the load balancer', () => {
  it('its clients reconnect through nginx to the other nodes, rejoin, and every count settles at the true figure', async () => {
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
    // The drained members come back through nginx with a new connection, rejoin, and the count is whole again everywhere.
    await vi.waitFor(() => expect(moving.map((m) => m.ids.length)).toEqual(moving.map(() => 2)), { timeout: 15_000, interval: 25 });
    await Promise.all(moving.map((m) => m.joined()));
    await expectLastCounts(everyone, everyone.length);
    expect((await victim.exited).code).toBe(0);

    for (const m of moving) {
      // A transport-level loss, the kind socket.io-client reconnects after ("io server disconnect" would not).
      expect(['transport close', 'transport error']).toContain(m.disconnects[0]);
      expect(m.disconnects).toHaveLength(1);
      const now = await nodeOfSocket(cluster.nodes, m.ids.at(-1) as string);
      expect(now).not.toBe(victim);
    }
    // Members of the other nodes never noticed.
    for (const m of staying) expect(m.disconnects).toEqual([]);

    // The cluster-wide count a newcomer is told is the true one.
    const newcomer = await appMember(cluster.url, 'drain', { localAddress: '127.0.0.253', transports: ['websocket'] });
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
