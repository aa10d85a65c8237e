import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from '@realtime/local-cluster';
import {
  connectClient,
  emitWithAck,
  guideEnvelope,
  registerTeardown,
  startRedisProcess,
  startServerProcess,
  uniqueKeyPrefix,
} from '@realtime/testing';
import { validateKubernetesObject, type KubernetesObject } from './support/kubernetes-schema.js';
import { render } from './support/kustomize.js';
import { metricsUrl } from './support/metrics-endpoint.js';
import { familyOf, parsePrometheusText, type MetricFamily } from './support/prometheus-text.js';
import { selectorsOf, withGrafanaVariables, type Selector } from './support/promql.js';

/**
 * The Grafana dashboard and the alert rules, against what a real node
 * exposes: every metric a panel or an alert names must be in the scrape of a
 * node process (a name nobody exports makes a panel that stays empty and an
 * alert that never fires, silently), and every expression must parse with
 * Prometheus's own PromQL grammar.
 */

/** The scrape job the rules and the dashboard select (prometheus.yml; the PodMonitor's jobLabel). */
const JOB = 'realtime-server';

/** Series that come from elsewhere than the node's /metrics, with where from. */
const NOT_FROM_THE_NODE: Record<string, string> = {
  up: 'Prometheus itself, for every target it scrapes',
  kube_pod_status_ready: 'kube-state-metrics (readiness of the pod, i.e. of /readyz)',
};

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId: string }[];
  panels?: Panel[];
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface RuleGroup {
  name: string;
  rules: Rule[];
}

const read = (path: string): string => readFileSync(join(REPO_ROOT, path), 'utf8');
const dashboard = JSON.parse(read('deploy/observability/grafana-dashboard.json')) as {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown; definition?: string }[] };
};
const ruleGroups = (parseYaml(read('deploy/observability/alerts.yml')) as { groups: RuleGroup[] }).groups;
const rules = ruleGroups.flatMap((g) => g.rules);

function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}
const graphs = allPanels(dashboard.panels).filter((p) => p.type !== 'row');

/** The selector of a Grafana `label_values(selector, label)` variable query. */
function variableSelector(definition: string): string {
  const m = /^label_values\((.+),\s*[a-zA-Z_]\w*\)$/.exec(definition);
  if (m === null) throw new Error(`not a label_values() query: ${definition}`);
  return m[1] as string;
}

/** Every PromQL expression, named by where it is. */
const expressions: { where: string; expr: string }[] = [
  ...graphs.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}" ${t.refId}`, expr: withGrafanaVariables(t.expr) }))),
  ...dashboard.templating.list
    .filter((v) => v.type === 'query')
    .map((v) => ({ where: `variable $${v.name}`, expr: variableSelector(v.definition as string) })),
  ...rules.map((r) => ({ where: `rule ${r.alert ?? r.record}`, expr: r.expr })),
];

function metricsOf(expr: string): string[] {
  return selectorsOf(expr).flatMap((s) => (s.metric === undefined ? [] : [s.metric]));
}

let families: Map<string, MetricFamily>;

beforeAll(async () => {
  const redis = await startRedisProcess();
  registerTeardown(() => redis.stop());
  // METRICS_PORT=0: a metrics port of its own, as deployed, and a free one (9464 may be taken on this machine).
  const node = await startServerProcess({
    nodeId: 'observability-1',
    redisUrl: redis.url,
    keyPrefix: uniqueKeyPrefix('observability'),
    env: { METRICS_PORT: '0' },
  });
  // Some of each kind of traffic, so labelled series have samples too.
  const client = await connectClient(node.url);
  expect((await emitWithAck(client, 'join-channel', guideEnvelope({ roomChannel: 'o' }, client))).ok).toBe(true);
  expect((await emitWithAck(client, 'o', guideEnvelope({ roomChannel: 'o', message: 'hi' }, client))).ok).toBe(true);
  expect((await emitWithAck(client, 'leave-channel', guideEnvelope({ roomChannel: 'not-joined' }, client))).ok).toBe(false);
  const response = await fetch(metricsUrl(node));
  expect(response.status).toBe(200);
  families = parsePrometheusText(await response.text());
});

describe('deploy/observability: the Grafana dashboard and the alert rules', () => {
  it('the PromQL check itself refuses a syntax error and a Grafana variable left in place, and reads selectors', () => {
    expect(() => selectorsOf('sum(rate(realtime_joins_total[5m])')).toThrow(/not PromQL/);
    expect(() => selectorsOf('rate(realtime_joins_total[$__rate_interval])')).toThrow(/not PromQL/);
    expect(selectorsOf(withGrafanaVariables('rate(a{job="j", instance=~"$instance"}[$__rate_interval]) / on (instance) b'))).toEqual([
      {
        metric: 'a',
        matchers: [
          { label: 'job', op: '=', value: 'j' },
          { label: 'instance', op: '=~', value: '$instance' },
        ],
      },
      { metric: 'b', matchers: [] },
    ]);
  });

  it('every expression is PromQL, and names only metrics a real node exposes (or Prometheus and kube-state-metrics do)', () => {
    const used = new Map<string, string[]>();
    for (const { where, expr } of expressions) {
      let names: string[];
      try {
        names = metricsOf(expr);
      } catch (err) {
        throw new Error(`${where}: ${(err as Error).message}`, { cause: err });
      }
      expect(names.length, `${where} names no metric: ${expr}`).toBeGreaterThan(0);
      for (const name of names) used.set(name, [...(used.get(name) ?? []), where]);
    }
    // A histogram's _bucket / _sum / _count belong to the declared histogram.
    const missing = [...used.keys()].filter((name) => familyOf(name, families) === undefined && !(name in NOT_FROM_THE_NODE));
    expect(
      Object.fromEntries(missing.map((name) => [name, used.get(name)])),
      `not in the node's /metrics (it has: ${[...families.keys()].join(', ')})`,
    ).toEqual({});
  });

  it('every selector picks the realtime-server job; every panel follows the node picker', () => {
    const selectors = (expr: string): Selector[] => selectorsOf(expr).filter((s) => !(s.metric ?? '').startsWith('kube_'));
    for (const { where, expr } of expressions) {
      for (const s of selectors(expr)) expect(s.matchers, `${where}: ${s.metric}`).toContainEqual({ label: 'job', op: '=', value: JOB });
    }
    for (const panel of graphs) {
      for (const target of panel.targets ?? []) {
        for (const s of selectors(withGrafanaVariables(target.expr))) {
          expect(s.matchers, `panel "${panel.title}": ${s.metric}`).toContainEqual({ label: 'instance', op: '=~', value: '$instance' });
        }
      }
    }
  });

  it('the dashboard shows connections, opens and closes, latency per event, messages, refusals, presence, Redis, drops, origins, CPU, memory and lag', () => {
    const shown = new Set(graphs.flatMap((p) => (p.targets ?? []).flatMap((t) => metricsOf(withGrafanaVariables(t.expr)))));
    expect([...shown]).toEqual(
      expect.arrayContaining([
        'realtime_connected_sockets',
        'realtime_connections_opened_total',
        'realtime_connections_closed_total',
        'realtime_event_handling_seconds_bucket',
        'realtime_messages_in_total',
        'realtime_messages_out_total',
        'realtime_refused_events_total',
        'realtime_presence_errors_total',
        'realtime_presence_resyncs_total',
        'realtime_redis_errors_total',
        'realtime_redis_reconnects_total',
        'realtime_publish_errors_total',
        'realtime_origin_refusals_total',
        'process_cpu_seconds_total',
        'process_resident_memory_bytes',
        'nodejs_eventloop_lag_p99_seconds',
      ]),
    );
    // Grafana keys panels by id; every panel queries the chosen data source.
    const ids = allPanels(dashboard.panels).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of graphs) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    }
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'instance']);
  });

  it('alerts: node down or not ready, Redis errors, dropped publishes, presence errors, slow events, event-loop lag, refusals; each with a severity and a text', () => {
    const names = rules.map((r) => r.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const rule of rules) {
      expect(rule.alert, rule.expr).toMatch(/^Realtime[A-Z]\w+$/);
      expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
      expect(['warning', 'critical'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
    }
    const alertOn = (metric: string): string[] => rules.filter((r) => metricsOf(r.expr).includes(metric)).map((r) => r.alert as string);
    for (const metric of [
      'up',
      'kube_pod_status_ready',
      'realtime_redis_errors_total',
      'realtime_publish_errors_total',
      'realtime_presence_errors_total',
      'realtime_event_handling_seconds_bucket',
      'nodejs_eventloop_lag_p99_seconds',
      'realtime_refused_events_total',
    ]) {
      expect(alertOn(metric), `no alert on ${metric}`).not.toEqual([]);
    }
  });

  it('prometheus.yml (compose example) scrapes the job on the metrics port and loads alerts.yml', () => {
    const config = parseYaml(read('deploy/observability/prometheus.yml')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; dns_sd_configs: { names: string[]; port: number }[] }[];
    };
    expect(config.rule_files).toEqual(['alerts.yml']);
    expect(config.scrape_configs.map((c) => c.job_name)).toEqual([JOB]);
    expect(config.scrape_configs[0]!.dns_sd_configs).toEqual([expect.objectContaining({ names: ['server'], port: 9464 })]);
  });
});

type Obj = KubernetesObject & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('k8s/monitoring (Prometheus Operator)', () => {
  const monitoring = render('k8s/monitoring');
  const one = (kind: string): Obj => {
    const found = monitoring.filter((o) => o.kind === kind);
    expect(found, kind).toHaveLength(1);
    return found[0] as Obj;
  };

  it('the PrometheusRule carries exactly the rules of alerts.yml, and both objects validate against the Operator’s schemas', async () => {
    expect(monitoring.map((o) => o.kind).sort()).toEqual(['PodMonitor', 'PrometheusRule']);
    for (const object of monitoring) await validateKubernetesObject(object);
    expect(one('PrometheusRule').spec.groups).toEqual(ruleGroups);
  });

  it('the PodMonitor scrapes the server pods on their metrics port, as job realtime-server; k8s/ itself has no custom resources', () => {
    const base = render('k8s');
    const deployment = base.find((o) => o.kind === 'Deployment') as Obj;
    const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
    const podMonitor = one('PodMonitor');
    expect(podMonitor.metadata.namespace).toBe(deployment.metadata.namespace);
    for (const [key, value] of Object.entries(podMonitor.spec.selector.matchLabels as Record<string, string>)) {
      expect(podLabels[key], key).toBe(value);
    }
    expect(podLabels[podMonitor.spec.jobLabel as string]).toBe(JOB);
    const ports = deployment.spec.template.spec.containers[0].ports as { name: string; containerPort: number }[];
    const endpoints = podMonitor.spec.podMetricsEndpoints as { port: string; path: string }[];
    expect(endpoints.map((e) => [ports.find((p) => p.name === e.port)?.containerPort, e.path])).toEqual([[9464, '/metrics']]);
    // Applying k8s/ must work where the Operator's CRDs are not installed.
    expect(base.filter((o) => o.apiVersion.startsWith('monitoring.coreos.com/'))).toEqual([]);
  });
});
