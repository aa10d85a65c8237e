import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from apps/cluster/dist/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The load-balancer configuration docker-compose.yml runs (with deploy/haproxy/compose/servers.cfg). */
export const LB_CONFIG = fileURLToPath(new URL('../../../deploy/haproxy/haproxy.cfg', import.meta.url));

/** A server node, exactly as `npm start` and the Docker image run it. */
export const SERVER_MAIN = fileURLToPath(new URL('../../../apps/server/dist/main.js', import.meta.url));
