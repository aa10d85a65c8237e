import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { registerTeardown } from '@realtime/testing';

/** How the JWKS server answers: the set, an HTTP error, or never. */
export type JwksBehaviour = 'serve' | 'fail' | 'hang';

/** A local JWKS endpoint that counts its requests. */
export interface JwksServer {
  readonly url: string;
  /** Requests received so far. */
  requests(): number;
  /** Adds (or replaces) a public key under `kid`. */
  publish(kid: string, key: KeyObject, alg?: string): void;
  behave(behaviour: JwksBehaviour): void;
}

export async function startJwksServer(behaviour: JwksBehaviour = 'serve'): Promise<JwksServer> {
  const keys: JsonWebKey[] = [];
  let count = 0;
  let mode = behaviour;
  const hanging: ServerResponse[] = [];
  const server = createServer((req, res) => {
    count++;
    if (mode === 'hang') return void hanging.push(res);
    if (mode === 'fail') return void res.writeHead(500).end('down');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  registerTeardown(async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    requests: () => count,
    publish: (kid, key, alg) => {
      const existing = keys.findIndex((k) => k.kid === kid);
      if (existing !== -1) keys.splice(existing, 1);
      keys.push({ ...key.export({ format: 'jwk' }), kid, use: 'sig', ...(alg === undefined ? {} : { alg }) });
    },
    behave: (next) => (mode = next),
  };
}
