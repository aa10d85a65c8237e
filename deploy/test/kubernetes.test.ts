import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../apps/server/src/index.js';
import { startTestNode } from '../../apps/server/test/support/start-test-node.js';
import { validateKubernetesObject, type KubernetesObject } from './support/kubernetes-schema.js';
import { render } from './support/kustomize.js';
import { ingressAllowed, policiesFor, selects, type NetworkPolicy, type Pod } from './support/network-policy.js';
import { serverEnvNames } from './support/server-settings.js';

/**
 * k8s/ rendered by kustomize (kubectl's, v5; no cluster needed), every object
 * validated against the Kubernetes schemas (kubernetes-models) with unknown
 * fields refused, and the objects checked against each other and against
 * the server: probes, ports, names, selectors, settings, shutdown timing.
 */

/** The `node` user of the official Node.js images, which the Dockerfile's runtime stage runs as. */
const IMAGE_USER_UID = 1000;

type Obj = KubernetesObject & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function one(objects: readonly KubernetesObject[], kind: string, name?: string): Obj {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
  return found[0] as Obj;
}

function matches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

let objects: KubernetesObject[];
let deployment: Obj;
let container: Obj;
let settings: Record<string, string>;

beforeAll(() => {
  objects = render('k8s');
  deployment = one(objects, 'Deployment', 'realtime-server');
  container = deployment.spec.template.spec.containers[0];
  const configMapName = container.envFrom[0].configMapRef.name as string;
  settings = one(objects, 'ConfigMap', configMapName).data as Record<string, string>;
});

describe('k8s/ (kubectl kustomize)', () => {
  it('renders the objects an operator needs, all in one namespace', () => {
    expect(objects.map((o) => o.kind).sort()).toEqual(
      [
        'ConfigMap',
        'Deployment',
        'HorizontalPodAutoscaler',
        'Ingress',
        'Namespace',
        'NetworkPolicy',
        'NetworkPolicy',
        'NetworkPolicy',
        'PodDisruptionBudget',
        'Service',
        'Service',
        'StatefulSet',
      ].sort(),
    );
    const namespace = one(objects, 'Namespace').metadata.name;
    for (const o of objects.filter((x) => x.kind !== 'Namespace'))
      expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(namespace);
  });

  it('every object validates against the Kubernetes schema, without unknown fields', async () => {
    for (const object of objects) await validateKubernetesObject(object);
  });

  it('the schema check itself catches a misspelt field and a wrong type', async () => {
    const typo = structuredClone(deployment);
    typo.spec.template.spec.containers[0].readinesProbe = typo.spec.template.spec.containers[0].readinessProbe;
    await expect(validateKubernetesObject(typo)).rejects.toThrow(/readinesProbe/);
    const wrongType = structuredClone(deployment);
    wrongType.spec.replicas = 'three';
    await expect(validateKubernetesObject(wrongType)).rejects.toThrow(/replicas/);
  });

  it('Deployment: no replica count (the HPA owns it), requests and limits, non-root as the image user, the pod name as NODE_ID', () => {
    // With `replicas` set, every `kubectl apply -k` would scale back to it, undoing the HPA.
    expect(deployment.spec).not.toHaveProperty('replicas');
    expect(matches(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
    for (const kind of ['requests', 'limits']) {
      expect(container.resources[kind].cpu, kind).toBeTruthy();
      expect(container.resources[kind].memory, kind).toBeTruthy();
    }
    const security = deployment.spec.template.spec.securityContext;
    expect(security).toMatchObject({ runAsNonRoot: true, runAsUser: IMAGE_USER_UID });
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
    expect(container.env).toContainEqual({ name: 'NODE_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    expect(container.image).toMatch(/^realtime-server:/);
  });

  it('the ConfigMap holds only settings the server reads, and they load', () => {
    const known = serverEnvNames();
    for (const name of Object.keys(settings)) expect(known, `${name} is not read by apps/server/src/config.ts`).toContain(name);
    const config = loadConfig(settings);
    expect(config.redis).toBeDefined();
    expect(config.logPretty).toBe(false);
    // The pod name, not a ConfigMap value shared by every pod.
    expect(settings.NODE_ID).toBeUndefined();
  });

  it('ports agree: PORT, the container port, the probes, the Service and the Ingress; the metrics port is scraped, never served publicly', () => {
    const config = loadConfig(settings);
    const port = container.ports.find((p: Obj) => p.containerPort === config.port);
    expect(port, `a container port ${config.port} (PORT)`).toBeDefined();
    const resolve = (ref: string | number): number =>
      typeof ref === 'number' ? ref : container.ports.find((p: Obj) => p.name === ref)?.containerPort;
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      expect(resolve(container[probe].httpGet.port), probe).toBe(config.port);
    }
    const service = one(objects, 'Service', 'realtime-server');
    expect(matches(service.spec.selector, deployment.spec.template.metadata.labels)).toBe(true);
    const servicePort = service.spec.ports[0];
    expect(resolve(servicePort.targetPort)).toBe(config.port);
    const ingress = one(objects, 'Ingress');
    const backends = ingress.spec.rules.flatMap((r: Obj) => r.http.paths.map((p: Obj) => p.backend.service));
    expect(backends.length).toBeGreaterThan(0);
    for (const backend of backends) {
      expect(backend.name).toBe(service.metadata.name);
      expect(backend.port.name ?? backend.port.number).toBe(backend.port.name === undefined ? servicePort.port : servicePort.name);
    }

    // METRICS_PORT: /metrics on a port of its own, which the Service and the Ingress don't lead to.
    expect(config.metricsPort, 'METRICS_PORT').toBeDefined();
    expect(config.metricsPort).not.toBe(config.port);
    const metrics = container.ports.find((p: Obj) => p.name === 'metrics');
    expect(metrics?.containerPort).toBe(config.metricsPort);
    const annotations = deployment.spec.template.metadata.annotations as Record<string, string>;
    expect(annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(config.metricsPort),
      'prometheus.io/path': '/metrics',
    });
    // Neither the Service (so neither the Ingress behind it) leads to the metrics port.
    for (const p of service.spec.ports) expect(resolve(p.targetPort), p.name).not.toBe(config.metricsPort);
  });

  it('pods spread over zones (best effort) and over nodes (a hard rule that ignores tainted nodes and old ReplicaSets)', () => {
    const constraints = deployment.spec.template.spec.topologySpreadConstraints as Obj[];
    const byKey = Object.fromEntries(constraints.map((c) => [c.topologyKey, c]));
    expect(Object.keys(byKey).sort()).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    expect(byKey['topology.kubernetes.io/zone']).toMatchObject({ maxSkew: 1, whenUnsatisfiable: 'ScheduleAnyway' });
    expect(byKey['kubernetes.io/hostname']).toMatchObject({ maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule', nodeTaintsPolicy: 'Honor' });
    for (const c of constraints) {
      // The constraint counts this Deployment's pods, and only the current revision's.
      expect(selects(c.labelSelector, deployment.spec.template.metadata.labels), c.topologyKey).toBe(true);
      expect(c.matchLabelKeys, c.topologyKey).toEqual(['pod-template-hash']);
    }
  });

  it('NetworkPolicies: clients only through the ingress controller, metrics only from monitoring, Redis only from the server', () => {
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy') as unknown as NetworkPolicy[];
    const namespace = one(objects, 'Namespace').metadata.name;
    const namedPorts = (c: Obj): Record<string, number> =>
      Object.fromEntries((c.ports as Obj[]).filter((p) => p.name !== undefined).map((p) => [p.name, p.containerPort]));
    const redisSet = one(objects, 'StatefulSet', 'realtime-redis');
    const server: Pod = { namespace, labels: deployment.spec.template.metadata.labels, ports: namedPorts(container) };
    const redis: Pod = {
      namespace,
      labels: redisSet.spec.template.metadata.labels,
      ports: namedPorts(redisSet.spec.template.spec.containers[0]),
    };

    // Every port a policy opens is a port of every pod it selects, by name or by number (a misspelt name opens nothing).
    for (const policy of policies) {
      const targets = [server, redis].filter((pod) => policiesFor([policy], pod).length > 0);
      expect(targets, policy.metadata.name).toHaveLength(1);
      for (const rule of policy.spec.ingress ?? []) {
        for (const { port } of rule.ports ?? []) {
          const numbers = Object.values(targets[0]!.ports ?? {});
          expect(
            typeof port === 'number' ? numbers : Object.keys(targets[0]!.ports ?? {}),
            `${policy.metadata.name} port ${port}`,
          ).toContain(port);
        }
      }
    }

    const config = loadConfig(settings);
    const metricsPort = config.metricsPort as number;
    const redisPort = Number(new URL(settings.REDIS_URL as string).port || 6379);
    const controller: Pod = { namespace: 'ingress-nginx', labels: { 'app.kubernetes.io/name': 'ingress-nginx' } };
    const prometheus: Pod = { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' } };
    const neighbour: Pod = { namespace, labels: { 'app.kubernetes.io/name': 'something-else' } };
    // The server's labels, in another namespace: a podSelector alone means this namespace.
    const impostor: Pod = { namespace: 'default', labels: server.labels };
    const may = (from: Pod, to: Pod, port: number): boolean => ingressAllowed(policies, from, to, port);
    expect({
      'controller → server:http': may(controller, server, config.port),
      'controller → server:metrics': may(controller, server, metricsPort),
      'controller → redis': may(controller, redis, redisPort),
      'prometheus → server:metrics': may(prometheus, server, metricsPort),
      'prometheus → server:http': may(prometheus, server, config.port),
      'neighbour → server:http': may(neighbour, server, config.port),
      'neighbour → server:metrics': may(neighbour, server, metricsPort),
      'neighbour → redis': may(neighbour, redis, redisPort),
      'server → redis': may(server, redis, redisPort),
      'server → server:http': may(server, server, config.port),
      'impostor → redis': may(impostor, redis, redisPort),
    }).toEqual({
      'controller → server:http': true,
      'controller → server:metrics': false,
      'controller → redis': false,
      'prometheus → server:metrics': true,
      'prometheus → server:http': false,
      'neighbour → server:http': false,
      'neighbour → server:metrics': false,
      'neighbour → redis': false,
      'server → redis': true,
      'server → server:http': false,
      'impostor → redis': false,
    });
  });

  it('probes: startup and liveness on /healthz, readiness on /readyz, and a real node answers each with 200', async () => {
    expect(container.startupProbe.httpGet.path).toBe('/healthz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    // One slow answer does not take a pod out of rotation.
    expect(container.readinessProbe.failureThreshold).toBeGreaterThanOrEqual(2);
    const { url } = await startTestNode();
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      expect((await fetch(`${url}${container[probe].httpGet.path}`)).status, probe).toBe(200);
    }
  });

  it('shutdown: preStop, then the drain capped by SHUTDOWN_GRACE_MS, fit in terminationGracePeriodSeconds', () => {
    const config = loadConfig(settings);
    const preStop = container.lifecycle.preStop.exec.command as string[];
    expect(preStop[0]).toBe('sleep');
    const preStopSeconds = Number(preStop[1]);
    expect(preStopSeconds).toBeGreaterThan(0);
    const grace = deployment.spec.template.spec.terminationGracePeriodSeconds as number;
    expect(grace).toBeGreaterThanOrEqual(preStopSeconds + config.shutdownGraceMs / 1000 + 5);
  });

  it('Ingress: ingress-nginx cookie affinity for long-polling and timeouts longer than Socket.IO’s heartbeat', async () => {
    const annotations = one(objects, 'Ingress').metadata.annotations as Record<string, string>;
    expect(annotations['nginx.ingress.kubernetes.io/affinity']).toBe('cookie');
    expect(annotations['nginx.ingress.kubernetes.io/session-cookie-name']).toBeTruthy();
    const { node } = await startTestNode();
    const { pingInterval, pingTimeout } = node.io.engine.opts as { pingInterval: number; pingTimeout: number };
    for (const name of ['proxy-read-timeout', 'proxy-send-timeout']) {
      expect(Number(annotations[`nginx.ingress.kubernetes.io/${name}`]) * 1000, name).toBeGreaterThan(pingInterval + pingTimeout);
    }
    const body = /^(\d+)m$/.exec(annotations['nginx.ingress.kubernetes.io/proxy-body-size'] ?? '');
    expect(Number(body?.[1]) * 1024 * 1024).toBeGreaterThan(loadConfig(settings).maxHttpBufferSizeBytes);
  });

  it('HPA and PDB target the server: at least 3 replicas, one pod disrupted at a time', () => {
    const hpa = one(objects, 'HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(3);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    const pdb = one(objects, 'PodDisruptionBudget');
    expect(matches(pdb.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
    expect(pdb.spec.maxUnavailable).toBe(1);
  });

  it('the development Redis is marked as such, and REDIS_URL points at its Service and port', () => {
    const statefulSet = one(objects, 'StatefulSet', 'realtime-redis');
    const service = one(objects, 'Service', 'realtime-redis');
    for (const o of [statefulSet, service]) expect(o.metadata.annotations?.['realtime/purpose']).toMatch(/development only/);
    expect(statefulSet.spec.serviceName).toBe(service.metadata.name);
    expect(matches(service.spec.selector, statefulSet.spec.template.metadata.labels)).toBe(true);
    const url = new URL(settings.REDIS_URL as string);
    expect(url.hostname).toBe(service.metadata.name);
    const port = service.spec.ports.find((p: Obj) => p.port === Number(url.port || 6379));
    expect(port).toBeDefined();
    const redisContainer = statefulSet.spec.template.spec.containers[0];
    expect(redisContainer.ports.find((p: Obj) => p.name === port.targetPort || p.containerPort === port.targetPort)?.containerPort).toBe(
      6379,
    );
  });
});

describe('k8s/overlays/managed-redis', () => {
  it('is the same server without the development Redis, REDIS_URL from a Secret, and validates', async () => {
    const overlay = render('k8s/overlays/managed-redis');
    for (const object of overlay) await validateKubernetesObject(object);
    expect(overlay.filter((o) => o.kind === 'StatefulSet' || o.metadata.name === 'realtime-redis')).toEqual([]);
    const server = one(overlay, 'Deployment', 'realtime-server').spec.template.spec.containers[0];
    expect(server.env).toContainEqual({ name: 'REDIS_URL', valueFrom: { secretKeyRef: { name: 'realtime-redis', key: 'url' } } });
    // Everything else is the base's.
    const kinds = (list: KubernetesObject[]) => list.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(kinds(overlay)).toEqual(kinds(objects.filter((o) => o.kind !== 'StatefulSet' && o.metadata.name !== 'realtime-redis')));
  });
});

/**
 * The environment a pod of this container would get: the `envFrom` ConfigMaps, then `env` over them
 * (Kubernetes' precedence), ConfigMap keys read from the rendered objects, Secret keys from `secrets`
 * (what the operator creates), an optional key that is missing left out, a field reference as its path.
 */
function podEnvironment(
  rendered: readonly KubernetesObject[],
  server: Obj,
  secrets: Record<string, Record<string, string>>,
): Record<string, string> {
  const configMap = (name: string): Record<string, string> => one(rendered, 'ConfigMap', name).data as Record<string, string>;
  const environment: Record<string, string> = {};
  for (const source of server.envFrom as Obj[]) Object.assign(environment, configMap(source.configMapRef.name as string));
  for (const entry of server.env as Obj[]) {
    const from = entry.valueFrom as Obj | undefined;
    const ref = (from?.configMapKeyRef ?? from?.secretKeyRef) as Obj | undefined;
    let value: string | undefined;
    if (from === undefined) value = entry.value as string;
    else if (from.fieldRef !== undefined) value = `<${from.fieldRef.fieldPath}>`;
    else if (from.configMapKeyRef !== undefined) value = configMap(ref!.name as string)[ref!.key as string];
    else value = secrets[ref!.name as string]?.[ref!.key as string];
    if (value === undefined && ref?.optional !== true) throw new Error(`${entry.name}: ${ref?.name}/${ref?.key} is missing`);
    if (value !== undefined) environment[entry.name as string] = value;
  }
  return environment;
}

describe('k8s/overlays/managed-redis-cluster', () => {
  let overlay: KubernetesObject[];
  let server: Obj;
  beforeAll(() => {
    overlay = render('k8s/overlays/managed-redis-cluster');
    server = one(overlay, 'Deployment', 'realtime-server').spec.template.spec.containers[0];
  });

  it('is the same server without the development Redis, plus the ConfigMap naming the cluster, all in one namespace, and validates', async () => {
    for (const object of overlay) await validateKubernetesObject(object);
    expect(overlay.filter((o) => o.kind === 'StatefulSet' || o.metadata.name === 'realtime-redis')).toEqual([]);
    const kinds = (list: KubernetesObject[]) => list.map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`).sort();
    expect(kinds(overlay)).toEqual(
      [
        ...kinds(objects.filter((o) => o.kind !== 'StatefulSet' && o.metadata.name !== 'realtime-redis')),
        'ConfigMap/realtime-redis-cluster',
      ].sort(),
    );
    const namespace = one(overlay, 'Namespace').metadata.name;
    for (const o of overlay.filter((x) => x.kind !== 'Namespace'))
      expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(namespace);
  });

  it('the Deployment’s env: REDIS_CLUSTER_NODES and REDIS_TLS from that ConfigMap, REDIS_PASSWORD from a Secret, no REDIS_URL anywhere', () => {
    const env = Object.fromEntries((server.env as Obj[]).map((entry) => [entry.name as string, entry]));
    const cluster = one(overlay, 'ConfigMap', env.REDIS_CLUSTER_NODES?.valueFrom?.configMapKeyRef?.name);
    expect(cluster.metadata.name).toMatch(/^realtime-redis-cluster-/);
    expect(env.REDIS_TLS?.valueFrom?.configMapKeyRef).toEqual({ name: cluster.metadata.name, key: 'REDIS_TLS' });
    // What the operator edits (redis-cluster.env): where the cluster is, and TLS on.
    expect(Object.keys(cluster.data as object).sort()).toEqual(['REDIS_CLUSTER_NODES', 'REDIS_TLS']);
    expect(cluster.data.REDIS_TLS).toBe('true');
    // Never inline: the password comes from the Secret the operator creates, and must be there (not optional).
    expect(env.REDIS_PASSWORD).toEqual({
      name: 'REDIS_PASSWORD',
      valueFrom: { secretKeyRef: { name: 'realtime-redis', key: 'password' } },
    });
    expect(env.REDIS_USERNAME?.valueFrom?.secretKeyRef).toEqual({ name: 'realtime-redis', key: 'username', optional: true });
    expect(env.REDIS_URL).toBeUndefined();
    for (const configMap of overlay.filter((o) => o.kind === 'ConfigMap') as Obj[]) {
      expect(Object.keys(configMap.data ?? {}), configMap.metadata.name).not.toContain('REDIS_URL');
      expect(Object.keys(configMap.data ?? {}), configMap.metadata.name).not.toContain('REDIS_PASSWORD');
    }
  });

  it('a pod loads as a TLS Cluster client of the configuration endpoint, with the Secret’s credentials and the sharded adapter', () => {
    const known = serverEnvNames();
    const withPassword = podEnvironment(overlay, server, { 'realtime-redis': { password: 's3cret ' } });
    for (const name of Object.keys(withPassword)) expect(known, `${name} is not read by apps/server/src/config.ts`).toContain(name);
    const config = loadConfig(withPassword);
    expect(config.redis).toEqual({ kind: 'cluster', nodes: expect.any(Array), username: undefined, password: 's3cret ', tls: true });
    expect(config.redis?.kind === 'cluster' ? config.redis.nodes.length : 0, 'seed nodes').toBeGreaterThan(0);
    expect(config.adapterMode).toBe('sharded');
    expect(config.nodeId).toBe('<metadata.name>');
    // An ACL user: the Secret's `username` key, when the operator adds one.
    const withUser = loadConfig(podEnvironment(overlay, server, { 'realtime-redis': { username: 'realtime', password: 'pw' } }));
    expect(withUser.redis).toMatchObject({ kind: 'cluster', username: 'realtime', password: 'pw' });
    // Everything else is the base's.
    const { REDIS_URL: _url, ...baseRest } = settings;
    const rest = Object.fromEntries(
      Object.entries(withPassword).filter(([name]) => !/^(REDIS_(CLUSTER_NODES|TLS|USERNAME|PASSWORD)|NODE_ID)$/.test(name)),
    );
    expect(rest).toEqual(baseRest);
  });
});
