import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from apps/cluster/dist/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The load-balancer configuration docker-compose.yml mounts as /etc/nginx/nginx.conf. */
export const NGINX_CONFIG = fileURLToPath(new URL('../../../deploy/nginx/nginx.conf', import.meta.url));

/** A server node, exactly as `npm start` and the Docker image run it. */
export const SERVER_MAIN = fileURLToPath(new URL('../../../apps/server/dist/main.js', import.meta.url));
