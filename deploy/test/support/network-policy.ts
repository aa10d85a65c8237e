/**
 * Kubernetes NetworkPolicy ingress semantics, enough to ask "may this pod
 * reach that pod on that port?" of rendered manifests: a pod no policy
 * selects takes everything; a selected pod takes only what the union of
 * the selecting policies' rules allows. A peer with only a podSelector is in
 * the policy's own namespace; namespaceSelector and podSelector in one peer
 * must both match. Traffic from the pod's own node (kubelet probes) is not
 * modelled: Kubernetes always allows it.
 */

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

interface PolicyPort {
  port?: number | string;
  endPort?: number;
  protocol?: string;
}

interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: unknown;
}

export interface NetworkPolicy {
  metadata: { name: string; namespace?: string };
  spec: {
    podSelector: LabelSelector;
    policyTypes?: string[];
    ingress?: { from?: PolicyPeer[]; ports?: PolicyPort[] }[];
  };
}

/** A pod as policies see it: its namespace (and that namespace's labels), its labels and its named container ports. */
export interface Pod {
  namespace: string;
  namespaceLabels?: Record<string, string>;
  labels: Record<string, string>;
  /** Named container ports, `name → number`: a policy may name a port. */
  ports?: Record<string, number>;
}

export function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  const matchLabels = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const matchExpressions = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    switch (operator) {
      case 'In':
        return key in labels && values.includes(labels[key] as string);
      case 'NotIn':
        return !(key in labels) || !values.includes(labels[key] as string);
      case 'Exists':
        return key in labels;
      case 'DoesNotExist':
        return !(key in labels);
    }
  });
  return matchLabels && matchExpressions;
}

/** What Kubernetes puts on every namespace. */
function labelsOf(pod: Pod): Record<string, string> {
  return { 'kubernetes.io/metadata.name': pod.namespace, ...pod.namespaceLabels };
}

function peerMatches(peer: PolicyPeer, policyNamespace: string, source: Pod): boolean {
  if (peer.ipBlock !== undefined) return false; // pod IPs are not modelled; none of ours uses ipBlock
  const namespaceOk =
    peer.namespaceSelector === undefined ? source.namespace === policyNamespace : selects(peer.namespaceSelector, labelsOf(source));
  const podOk = peer.podSelector === undefined || selects(peer.podSelector, source.labels);
  return namespaceOk && podOk;
}

function portMatches(rule: PolicyPort, target: Pod, port: number): boolean {
  if ((rule.protocol ?? 'TCP') !== 'TCP') return false;
  if (rule.port === undefined) return true;
  const number = typeof rule.port === 'number' ? rule.port : target.ports?.[rule.port];
  if (number === undefined) return false; // a name the pod does not have matches nothing
  return rule.endPort === undefined ? port === number : port >= number && port <= rule.endPort;
}

/** The policies that select `target` for ingress. */
export function policiesFor(policies: readonly NetworkPolicy[], target: Pod): NetworkPolicy[] {
  return policies.filter(
    (p) =>
      (p.metadata.namespace ?? 'default') === target.namespace &&
      (p.spec.policyTypes ?? ['Ingress']).includes('Ingress') &&
      selects(p.spec.podSelector, target.labels),
  );
}

/** May `source` open a TCP connection to `target` on `port`? */
export function ingressAllowed(policies: readonly NetworkPolicy[], source: Pod, target: Pod, port: number): boolean {
  const selecting = policiesFor(policies, target);
  if (selecting.length === 0) return true;
  return selecting.some((policy) =>
    (policy.spec.ingress ?? []).some(
      (rule) =>
        (rule.from === undefined || rule.from.length === 0 || rule.from.some((peer) => peerMatches(peer, target.namespace, source))) &&
        (rule.ports === undefined || rule.ports.length === 0 || rule.ports.some((p) => portMatches(p, target, port))),
    ),
  );
}
