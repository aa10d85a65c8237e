export { startLocalCluster, type LocalCluster, type LocalClusterOptions } from './cluster.js';
export {
  startLoadBalancer,
  serversConf,
  type LoadBalancerServer,
  type LocalLoadBalancer,
  type LocalLoadBalancerOptions,
} from './load-balancer.js';
export { startRedis, type LocalRedis, type LocalRedisOptions } from './redis.js';
export { startServerNode, type LocalNode, type LocalNodeOptions, type LogEntry } from './server-node.js';
export { findBinary, requireBinary } from './binaries.js';
export { freePort } from './net.js';
export { LB_CONFIG, REPO_ROOT, SERVER_MAIN } from './paths.js';
