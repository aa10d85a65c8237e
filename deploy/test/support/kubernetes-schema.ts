export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

type ModelClass = { new (data: unknown): { validate(): void }; prototype: { validate(): void } };

/**
 * Custom resources whose schemas come from another package of the same
 * family: API group → package (the Prometheus Operator's PodMonitor,
 * PrometheusRule, … from the CRDs of its release).
 */
const CUSTOM_RESOURCE_MODELS: Record<string, string> = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
};

/**
 * The kubernetes-models class of an object (`kubernetes-models/apps/v1` → Deployment, …).
 * Imported, not required: kubernetes-models 5 and its family are ESM only and export no `require` condition.
 */
async function modelClass(object: KubernetesObject): Promise<ModelClass> {
  const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0]! : '';
  const models = CUSTOM_RESOURCE_MODELS[group] ?? 'kubernetes-models';
  // A variable, not a template literal inside import(): Vite reads those as file patterns and warns.
  const specifier = `${models}/${object.apiVersion}`;
  let module: Record<string, unknown>;
  try {
    module = (await import(specifier)) as Record<string, unknown>;
  } catch {
    throw new Error(`${models} knows no API version ${object.apiVersion}`);
  }
  const model = module[object.kind];
  if (typeof model !== 'function') throw new Error(`${models} knows no ${object.kind} in ${object.apiVersion}`);
  return model as ModelClass;
}

/**
 * Wraps `value` so that every property the schema validator reads is
 * recorded. The generated validators read each property their schema
 * declares (and iterate the keys of free-form maps), so a field never read
 * is a field the schema does not have: a typo like `readinesProbe`, which
 * the API server would drop (or reject with strict field validation).
 */
function recording(value: unknown, path: string, visited: Map<string, { object: object; read: Set<string | symbol> }>): unknown {
  if (value === null || typeof value !== 'object') return value;
  const read = new Set<string | symbol>();
  visited.set(path, { object: value, read });
  const children = new Map<string | symbol, unknown>();
  return new Proxy(value, {
    get(target, key, receiver) {
      read.add(key);
      const child = Reflect.get(target, key, receiver) as unknown;
      if (child === null || typeof child !== 'object') return child;
      if (!children.has(key)) children.set(key, recording(child, `${path}.${String(key)}`, visited));
      return children.get(key);
    },
    getOwnPropertyDescriptor(target, key) {
      // for…in / Object.keys over a map: all its entries are allowed.
      read.add(key);
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
  });
}

/**
 * Validates an object against the Kubernetes OpenAPI schema of its kind
 * (kubernetes-models), then checks that it has no field the schema lacks.
 * Throws with every problem found.
 */
export async function validateKubernetesObject(object: KubernetesObject): Promise<void> {
  const Model = await modelClass(object);
  new Model(object).validate();
  const visited = new Map<string, { object: object; read: Set<string | symbol> }>();
  Model.prototype.validate.call(recording(object, `${object.kind}/${object.metadata.name}`, visited));
  const unknown: string[] = [];
  for (const [path, { object: node, read }] of visited) {
    if (Array.isArray(node)) continue;
    for (const key of Object.keys(node)) if (!read.has(key)) unknown.push(`${path}.${key}`);
  }
  if (unknown.length > 0) throw new Error(`fields unknown to the Kubernetes schema: ${unknown.join(', ')}`);
}
