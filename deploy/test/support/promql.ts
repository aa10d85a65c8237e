import { parser } from '@prometheus-io/lezer-promql';

/** One label matcher of a selector: `job="realtime-server"` → { label: 'job', op: '=', value: 'realtime-server' }. */
export interface Matcher {
  label: string;
  op: string;
  value: string;
}

/** A vector selector: `realtime_joins_total{kind="room"}`. */
export interface Selector {
  metric: string | undefined;
  matchers: Matcher[];
}

/**
 * Grafana replaces its built-in interval variables before a query reaches
 * Prometheus; these stand in for them so the expression parses as PromQL.
 * Template variables inside label values (`instance=~"$instance"`) are
 * plain strings to PromQL and stay.
 */
export function withGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}/g, '5m');
}

function text(expr: string, node: { from: number; to: number }): string {
  return expr.slice(node.from, node.to);
}

/** A PromQL string literal's value ("…", '…' or `…`). */
function stringValue(literal: string): string {
  if (literal.startsWith('`')) return literal.slice(1, -1);
  return JSON.parse(literal.startsWith("'") ? `"${literal.slice(1, -1).replace(/"/g, '\\"')}"` : literal) as string;
}

/**
 * Parses an expression with Prometheus's own grammar (the one its web UI
 * uses) and returns every vector selector in it. Throws on a syntax error,
 * naming where.
 */
export function selectorsOf(expr: string): Selector[] {
  const tree = parser.parse(expr);
  const selectors: Selector[] = [];
  let error: number | undefined;
  tree.iterate({
    enter(ref) {
      if (ref.type.isError && error === undefined) error = ref.from;
      if (ref.name !== 'VectorSelector') return;
      const node = ref.node;
      const identifier = node.getChild('Identifier');
      const matchers: Matcher[] = [];
      for (const matcher of node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
        const label = matcher.getChild('LabelName');
        const op = matcher.getChild('MatchOp');
        const value = matcher.getChild('StringLiteral');
        if (label === null || op === null || value === null) continue; // an error node says why
        matchers.push({ label: text(expr, label), op: text(expr, op), value: stringValue(text(expr, value)) });
      }
      selectors.push({ metric: identifier === null ? undefined : text(expr, identifier), matchers });
    },
  });
  if (error !== undefined) throw new Error(`not PromQL at column ${error + 1}: ${expr.slice(0, error)}⟨here⟩${expr.slice(error)}`);
  return selectors;
}
