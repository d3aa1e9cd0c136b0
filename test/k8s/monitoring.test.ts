// Alerts and dashboard: every PromQL expression parses (Prometheus' own lezer grammar) and only uses
// metrics that exist: the server's (server-contract.ts), prom-client defaults, kube-state-metrics, up.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { parser } from '@prometheus-io/lezer-promql';
import { repoRoot } from './kustomize.js';
import { exportedSeriesNames, serverContract } from './server-contract.js';

const monitoringDir = path.join(repoRoot, 'k8s/components/monitoring');
// The dashboard is cross-namespace (a ConfigMap in `monitoring`): the platform's (k8s/platform).
const platformDir = path.join(repoRoot, 'k8s/platform');
const externalMetrics = new Set([
  'up',
  'kube_deployment_status_replicas_available', // kube-state-metrics
  'kube_deployment_spec_replicas',
  'kube_horizontalpodautoscaler_status_current_replicas',
  'kube_horizontalpodautoscaler_spec_max_replicas',
]);
// Accelerator exporters scraped by k8s/platform/monitoring/servicemonitors-accelerators.yaml (dashboard only).
const acceleratorMetrics = new Set([
  'DCGM_FI_DEV_GPU_UTIL', // dcgm-exporter
  'DCGM_FI_DEV_FB_USED',
  'DCGM_FI_DEV_FB_FREE',
  'neuroncore_utilization_ratio', // neuron-monitor (Prometheus output)
  'neuron_runtime_memory_used_bytes',
]);
const known = new Set([...exportedSeriesNames(), ...externalMetrics]);

/** Parses PromQL; returns the metric names it selects, throws on a syntax error. */
function metricNames(expr: string): string[] {
  const tree = parser.parse(expr);
  const names: string[] = [];
  let error: number | undefined;
  tree.iterate({
    enter(node) {
      if (node.type.isError && error === undefined) error = node.from;
      if (node.name === 'VectorSelector') {
        const id = node.node.getChild('Identifier');
        if (id) names.push(expr.slice(id.from, id.to));
      }
    },
  });
  if (error !== undefined)
    throw new Error(`PromQL syntax error at ${error}: ${expr.slice(Math.max(0, error - 20), error + 20)}`);
  assert.ok(names.length > 0, `no metric selected in ${expr}`);
  return names;
}

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are YAML of any shape
type Any = any;

describe('PrometheusRule', () => {
  const rule = parseDocument(readFileSync(path.join(monitoringDir, 'prometheusrule.yaml'), 'utf8')).toJS() as Any;
  const rules: Any[] = rule.spec.groups.flatMap((g: Any) => g.rules);

  it('parses and uses only real metrics', () => {
    for (const r of rules) {
      for (const name of metricNames(r.expr)) assert.ok(known.has(name), `${r.alert}: unknown metric ${name}`);
    }
  });

  it('covers error rate, p99 latency, queue saturation and readiness', () => {
    const exprs = rules.map((r) => r.expr as string).join('\n');
    assert.match(exprs, /sentiment_http_request_duration_seconds_count\{[^}]*status_code=~"5\.\."/);
    assert.match(
      exprs,
      /histogram_quantile\(0\.99,\s*sum by \(namespace, le\) \(rate\(sentiment_http_request_duration_seconds_bucket/,
    );
    assert.match(exprs, /sentiment_queue_depth\{[^}]*\} \/ sentiment_queue_capacity/);
    assert.match(exprs, /kube_deployment_status_replicas_available/);
  });

  it('every alert is actionable: severity, summary, a for: duration', () => {
    const names = new Set<string>();
    for (const r of rules) {
      assert.ok(r.alert, 'only alerting rules here');
      assert.ok(!names.has(r.alert), `duplicate alert ${r.alert}`);
      names.add(r.alert);
      assert.ok(['critical', 'warning'].includes(r.labels?.severity), `${r.alert}: severity`);
      assert.ok(r.annotations?.summary, `${r.alert}: summary`);
      assert.match(r.for ?? '', /^\d+[smh]$/, `${r.alert}: for`);
    }
  });

  it('filters rejections on reasons the server emits', () => {
    for (const r of rules) {
      const m = /reason=~"([^"]+)"/.exec(r.expr);
      if (!m) continue;
      for (const reason of m[1]!.split('|')) {
        assert.ok(
          (serverContract.rejectionReasons as readonly string[]).includes(reason),
          `${r.alert}: reason ${reason}`,
        );
      }
    }
  });
});

describe('Grafana dashboard', () => {
  const dash = JSON.parse(readFileSync(path.join(platformDir, 'monitoring/grafana-dashboard.json'), 'utf8')) as Any;
  const dashboardKnown = new Set([...known, ...acceleratorMetrics]);
  const panels: Any[] = dash.panels.filter((p: Any) => p.type !== 'row');
  const variables = new Set<string>(dash.templating.list.map((v: Any) => v.name));
  const grafanaBuiltins = new Set(['__rate_interval', '__interval', '__range']);

  /** Substitute Grafana variables the way Grafana would, so the result is plain PromQL. */
  function expand(expr: string): string {
    return expr.replace(/\$(\w+)/g, (_, name: string) => {
      assert.ok(variables.has(name) || grafanaBuiltins.has(name), `undefined dashboard variable $${name}`);
      return name.startsWith('__') ? '5m' : 'x';
    });
  }

  it('is a loadable dashboard: uid, title, schemaVersion, unique panel ids, a Prometheus datasource variable', () => {
    assert.equal(typeof dash.uid, 'string');
    assert.ok(dash.title);
    assert.ok(dash.schemaVersion >= 36);
    const ids = dash.panels.map((p: Any) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    const ds = dash.templating.list.find((v: Any) => v.type === 'datasource');
    assert.equal(ds?.query, 'prometheus');
    for (const p of panels) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's dashboard variable, literally
      assert.equal(p.datasource?.uid, '${datasource}', `${p.title}: uses the datasource variable`);
      assert.ok(p.gridPos && p.gridPos.w > 0 && p.gridPos.h > 0, `${p.title}: gridPos`);
      assert.ok(p.targets?.length > 0, `${p.title}: has queries`);
    }
  });

  it('every query parses and uses only real metrics', () => {
    for (const p of panels) {
      for (const t of p.targets) {
        for (const name of metricNames(expand(t.expr)))
          assert.ok(dashboardKnown.has(name), `${p.title}: unknown metric ${name}`);
      }
    }
    for (const v of dash.templating.list.filter((x: Any) => x.type === 'query')) {
      const m = /label_values\((\w+)/.exec(v.definition);
      assert.ok(m && known.has(m[1]!), `variable ${v.name} queries a real metric`);
    }
  });

  it('shows every one of our metrics', () => {
    const used = new Set(panels.flatMap((p) => p.targets.flatMap((t: Any) => metricNames(expand(t.expr)))));
    for (const h of serverContract.metrics.histogram) {
      assert.ok(
        ['_bucket', '_sum', '_count'].some((s) => used.has(h + s)),
        `dashboard does not show ${h}`,
      );
    }
    for (const m of [...serverContract.metrics.counter, ...serverContract.metrics.gauge]) {
      assert.ok(used.has(m), `dashboard does not show ${m}`);
    }
  });

  it('the ConfigMap generator ships this file', () => {
    const k = readFileSync(path.join(platformDir, 'kustomization.yaml'), 'utf8');
    assert.match(k, /=monitoring\/grafana-dashboard\.json/);
  });

  it('shows accelerator utilisation from both exporters (GPU and NeuronCore panels)', () => {
    const used = new Set(panels.flatMap((p) => p.targets.flatMap((t: Any) => metricNames(expand(t.expr)))));
    for (const m of ['DCGM_FI_DEV_GPU_UTIL', 'DCGM_FI_DEV_FB_USED', 'neuroncore_utilization_ratio']) {
      assert.ok(used.has(m), `dashboard does not show ${m}`);
    }
  });
});

describe('KEDA ScaledObject (k8s/components/keda-queue-depth)', () => {
  it('its Prometheus query parses and uses only real metrics', () => {
    const so = parseDocument(
      readFileSync(path.join(repoRoot, 'k8s/components/keda-queue-depth/scaledobject.yaml'), 'utf8'),
    ).toJS() as Any;
    const queries = so.spec.triggers
      .filter((t: Any) => t.type === 'prometheus')
      .map((t: Any) => t.metadata.query as string);
    assert.ok(queries.length > 0);
    for (const q of queries) for (const name of metricNames(q)) assert.ok(known.has(name), `unknown metric ${name}`);
  });
});
