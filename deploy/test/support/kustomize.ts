import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT, findBinary } from '@realtime/local-cluster';
import type { KubernetesObject } from './kubernetes-schema.js';

/** A directory of k8s/ rendered by kubectl's built-in kustomize (v5; no cluster needed). */
export function render(dir: string): KubernetesObject[] {
  const kubectl = findBinary('kubectl');
  if (kubectl === undefined) {
    throw new Error('kubectl is not installed: it renders k8s/ with its built-in kustomize (https://kubernetes.io/docs/tasks/tools/)');
  }
  const result = spawnSync(kubectl, ['kustomize', join(REPO_ROOT, dir)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${result.stderr}`);
  return parseAllDocuments(result.stdout).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`kustomize output is not YAML: ${doc.errors.join('; ')}`);
    return doc.toJS() as KubernetesObject;
  });
}
