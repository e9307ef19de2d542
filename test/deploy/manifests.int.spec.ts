import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet, type IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { HorizontalPodAutoscaler, type IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy, type INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget, type IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { Namespace, type INamespace } from 'kubernetes-models/v1/Namespace';
import type { INetworkPolicyEgressRule } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyEgressRule';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { Secret, type ISecret } from 'kubernetes-models/v1/Secret';
import { Service, type IService } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { parseAllDocuments } from 'yaml';
import { isPinnedImage, root, SECRET_LIKE, SERVICE_NAMES, SERVICE_PORTS, URL_WITH_CREDENTIALS, VERSION, type ServiceName } from './deployables';
import { modelDeclaration, unknownFields } from './kubernetes-fields';

/**
 * What can be checked of k8s/ without a cluster: every overlay renders with `kubectl kustomize`
 * (the kubectl on PATH, or $KUBECTL), every built-in object passes the Kubernetes schemas
 * (kubernetes-models: types, required fields, and no unknown fields), the CloudNativePG Cluster
 * has what the operator requires, and the rules of the deployment hold: probes, resources,
 * restricted security contexts, secrets only by reference, pinned images, selectors that select,
 * a PodDisruptionBudget per workload, autoscalers in prod, migrations before the services, and
 * network policies that let only the callbacks and dispatcher pods reach the internet.
 */
const KUBECTL = process.env['KUBECTL'] || 'kubectl';

/** Secrets the manifests use but do not contain: who creates each one. */
const EXTERNAL_SECRETS: Record<string, string> = {
  'reach-postgres-app': 'CloudNativePG, for the Cluster reach-postgres',
  'reach-api-key-secret': 'the operator, by hand (README, "Deploying")',
};

const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '100.64.0.0/10'];

type Labels = Record<string, string>;
interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Labels };
  readonly [field: string]: unknown;
}

/** Built-in kinds this deployment uses: their kubernetes-models class. */
const MODELS: Record<string, { readonly declaration: string; validate(object: K8sObject): void }> = {
  'apps/v1/Deployment': { declaration: 'apps/v1/Deployment', validate: (o) => new Deployment(o as unknown as IDeployment).validate() },
  'apps/v1/StatefulSet': { declaration: 'apps/v1/StatefulSet', validate: (o) => new StatefulSet(o as unknown as IStatefulSet).validate() },
  'v1/Service': { declaration: 'v1/Service', validate: (o) => new Service(o as unknown as IService).validate() },
  'v1/ConfigMap': { declaration: 'v1/ConfigMap', validate: (o) => new ConfigMap(o as unknown as IConfigMap).validate() },
  'v1/Secret': { declaration: 'v1/Secret', validate: (o) => new Secret(o as unknown as ISecret).validate() },
  'v1/ServiceAccount': { declaration: 'v1/ServiceAccount', validate: (o) => new ServiceAccount(o as never).validate() },
  'v1/Namespace': { declaration: 'v1/Namespace', validate: (o) => new Namespace(o as unknown as INamespace).validate() },
  'policy/v1/PodDisruptionBudget': {
    declaration: 'policy/v1/PodDisruptionBudget',
    validate: (o) => new PodDisruptionBudget(o as unknown as IPodDisruptionBudget).validate(),
  },
  'autoscaling/v2/HorizontalPodAutoscaler': {
    declaration: 'autoscaling/v2/HorizontalPodAutoscaler',
    validate: (o) => new HorizontalPodAutoscaler(o as unknown as IHorizontalPodAutoscaler).validate(),
  },
  'networking.k8s.io/v1/NetworkPolicy': {
    declaration: 'networking.k8s.io/v1/NetworkPolicy',
    validate: (o) => new NetworkPolicy(o as unknown as INetworkPolicy).validate(),
  },
};

function render(overlay: string): K8sObject[] {
  const directory = join(root, 'k8s', 'overlays', overlay);
  const result = spawnSync(KUBECTL, ['kustomize', directory], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error(
      `${KUBECTL} is not installed, so the Kubernetes manifests cannot be rendered and checked. ` +
        'Install kubectl (Debian: apt-get install kubernetes-client; .ci/run does this) or point KUBECTL at one.',
    );
  }
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${KUBECTL} kustomize ${directory} failed:\n${result.stderr}`);
  return parseAllDocuments(result.stdout).flatMap((document) => {
    if (document.errors.length > 0) throw new Error(`kubectl kustomize printed invalid YAML: ${document.errors[0]?.message}`);
    const object = document.toJS() as K8sObject | null;
    return object === null ? [] : [object];
  });
}

/**
 * kubectl prints a long Secret value as base64 folded over lines; the API server's decoder skips
 * the line breaks, the schema's `byte` format does not.
 */
function secretDataUnwrapped(object: K8sObject): K8sObject {
  if (object.kind !== 'Secret' || typeof object['data'] !== 'object' || object['data'] === null) return object;
  const data = Object.fromEntries(Object.entries(object['data'] as Record<string, string>).map(([key, value]) => [key, value.replace(/\s+/g, '')]));
  return { ...object, data };
}

const byKind = <T>(objects: readonly K8sObject[], kind: string) => objects.filter((o) => o.kind === kind) as unknown as T[];
const selects = (selector: Labels | undefined, labels: Labels | undefined) =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels?.[key] === value);
const containersOf = (pod: IPodSpec): IContainer[] => [...(pod.initContainers ?? []), ...pod.containers];
const serviceOf = (deployment: IDeployment) => deployment.metadata?.name?.replace(/^reach-/, '') as ServiceName;

describe.each([
  { overlay: 'dev', namespace: 'reach-dev', postgresInstances: 1 },
  { overlay: 'prod', namespace: 'reach', postgresInstances: 3 },
])('k8s/overlays/$overlay', ({ overlay, namespace, postgresInstances }) => {
  let objects: K8sObject[] = [];
  let deployments: IDeployment[] = [];
  let statefulSets: IStatefulSet[] = [];
  const workloads = () => [...deployments, ...statefulSets] as Array<IDeployment | IStatefulSet>;

  beforeAll(() => {
    objects = render(overlay);
    deployments = byKind<IDeployment>(objects, 'Deployment');
    statefulSets = byKind<IStatefulSet>(objects, 'StatefulSet');
  });

  it('renders, and every built-in object passes the Kubernetes schema with no unknown field', () => {
    expect(objects.length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const object of objects) {
      const id = `${object.kind}/${object.metadata?.name}`;
      if (object.apiVersion === 'postgresql.cnpg.io/v1') continue; // a CRD: checked below
      const model = MODELS[`${object.apiVersion}/${object.kind}`];
      if (model === undefined) {
        problems.push(`${id}: ${object.apiVersion} ${object.kind} has no schema here (add it to MODELS)`);
        continue;
      }
      try {
        model.validate(secretDataUnwrapped(object));
      } catch (error) {
        problems.push(`${id}: ${(error as Error).message}`);
      }
      for (const field of unknownFields(object, modelDeclaration(model.declaration))) problems.push(`${id}: unknown field ${field}`);
    }
    expect(problems).toEqual([]);
  });

  it('puts every object in the overlay namespace, which enforces the restricted Pod Security Standard', () => {
    const [ns, ...others] = byKind<INamespace>(objects, 'Namespace');
    expect(others).toEqual([]);
    expect(ns?.metadata?.name).toBe(namespace);
    expect(ns?.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const outside = objects.filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== namespace).map((o) => `${o.kind}/${o.metadata.name}`);
    expect(outside).toEqual([]);
  });

  it('runs each of the five services as a Deployment of the one pinned Reach image', () => {
    expect(deployments.map(serviceOf).sort()).toEqual([...SERVICE_NAMES].sort());
    for (const deployment of deployments) {
      const service = serviceOf(deployment);
      const [main, ...sidecars] = deployment.spec!.template.spec!.containers;
      expect(sidecars).toEqual([]);
      expect(main!.image).toBe(`registry.example.com/reach/reach:${VERSION}`);
      expect(main!.command).toEqual(['node', `services/${service}/dist/main.js`]);
      const http = { name: 'http', containerPort: SERVICE_PORTS[service].port, protocol: 'TCP' };
      // The dispatcher also serves devices' WebSockets, which the api-gateway proxies to it.
      const deviceWs = { name: 'device-ws', containerPort: 3005, protocol: 'TCP' };
      expect(main!.ports).toEqual(service === 'dispatcher' ? [http, deviceWs] : [http]);
    }
  });

  it('migrates before any service starts: an initContainer running reachctl migrate in every Deployment', () => {
    for (const deployment of deployments) {
      const [migrate, ...more] = deployment.spec!.template.spec!.initContainers ?? [];
      expect(more).toEqual([]);
      expect(migrate?.image).toBe(deployment.spec!.template.spec!.containers[0]!.image);
      expect(migrate?.command).toEqual(['node', 'tools/reachctl/bin/reachctl.js', 'migrate', '--json']);
      // The same database and NATS as the service it precedes.
      expect(migrate?.envFrom).toEqual(deployment.spec!.template.spec!.containers[0]!.envFrom);
      expect(migrate?.env?.find((variable) => variable.name === 'DATABASE_URL')).toEqual(
        deployment.spec!.template.spec!.containers[0]!.env?.find((variable) => variable.name === 'DATABASE_URL'),
      );
    }
  });

  it('probes liveness on /health and readiness on /ready of a declared port', () => {
    for (const deployment of deployments) {
      const main = deployment.spec!.template.spec!.containers[0]!;
      const portNames = (main.ports ?? []).map((port) => port.name);
      expect({ name: deployment.metadata?.name, path: main.livenessProbe?.httpGet?.path }).toEqual({ name: deployment.metadata?.name, path: '/health' });
      expect({ name: deployment.metadata?.name, path: main.readinessProbe?.httpGet?.path }).toEqual({ name: deployment.metadata?.name, path: '/ready' });
      expect(portNames).toContain(main.livenessProbe?.httpGet?.port);
      expect(portNames).toContain(main.readinessProbe?.httpGet?.port);
    }
    for (const set of statefulSets) {
      const main = set.spec!.template.spec!.containers[0]!;
      expect(main.livenessProbe?.httpGet).toBeDefined();
      expect(main.readinessProbe?.httpGet).toBeDefined();
    }
  });

  it('gives every container resource requests and limits for CPU and memory', () => {
    const missing = workloads().flatMap((workload) =>
      containersOf(workload.spec!.template.spec!).flatMap((container) =>
        ['requests', 'limits'].flatMap((kind) =>
          ['cpu', 'memory']
            .filter((resource) => container.resources?.[kind as 'requests' | 'limits']?.[resource] === undefined)
            .map((resource) => `${workload.metadata?.name}/${container.name}: ${kind}.${resource}`),
        ),
      ),
    );
    expect(missing).toEqual([]);
  });

  it('runs every container non-root with the restricted security context (read-only root filesystem for the services)', () => {
    const problems: string[] = [];
    for (const workload of workloads()) {
      const pod = workload.spec!.template.spec!;
      const isService = workload.kind === 'Deployment';
      if (pod.securityContext?.runAsNonRoot !== true) problems.push(`${workload.metadata?.name}: pod runAsNonRoot`);
      if (pod.securityContext?.seccompProfile?.type !== 'RuntimeDefault') problems.push(`${workload.metadata?.name}: pod seccompProfile`);
      if (pod.automountServiceAccountToken !== false) problems.push(`${workload.metadata?.name}: service account token mounted`);
      for (const container of containersOf(pod)) {
        const id = `${workload.metadata?.name}/${container.name}`;
        const context = container.securityContext ?? {};
        const runAsUser = context.runAsUser ?? pod.securityContext?.runAsUser;
        if ((context.runAsNonRoot ?? pod.securityContext?.runAsNonRoot) !== true) problems.push(`${id}: runAsNonRoot`);
        if (typeof runAsUser !== 'number' || runAsUser === 0) problems.push(`${id}: runAsUser must be a non-zero uid`);
        if (context.allowPrivilegeEscalation !== false) problems.push(`${id}: allowPrivilegeEscalation`);
        if (!context.capabilities?.drop?.includes('ALL') || (context.capabilities.add ?? []).length > 0) problems.push(`${id}: capabilities`);
        if ((context.seccompProfile ?? pod.securityContext?.seccompProfile)?.type !== 'RuntimeDefault') problems.push(`${id}: seccompProfile`);
        if (context.privileged) problems.push(`${id}: privileged`);
        if (isService && context.readOnlyRootFilesystem !== true) problems.push(`${id}: readOnlyRootFilesystem`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('pins every image to an exact version', () => {
    const images = workloads().flatMap((workload) => containersOf(workload.spec!.template.spec!).map((container) => container.image ?? ''));
    const cluster = objects.find((o) => o.kind === 'Cluster');
    images.push((cluster?.['spec'] as { imageName?: string } | undefined)?.imageName ?? '');
    expect(images.filter((image) => !isPinnedImage(image))).toEqual([]);
    expect(new Set(images.filter((image) => image.includes('/reach/reach')))).toEqual(new Set([`registry.example.com/reach/reach:${VERSION}`]));
  });

  it('keeps secret values out of the manifests: env and envFrom only reference Secrets', () => {
    const problems: string[] = [];
    const secrets = new Set(byKind<ISecret>(objects, 'Secret').map((secret) => secret.metadata?.name));
    const configMaps = byKind<IConfigMap>(objects, 'ConfigMap');
    const secretExists = (name: string | undefined) => name !== undefined && (secrets.has(name) || name in EXTERNAL_SECRETS);
    for (const workload of workloads()) {
      for (const container of containersOf(workload.spec!.template.spec!)) {
        const id = `${workload.metadata?.name}/${container.name}`;
        for (const variable of container.env ?? []) {
          if (variable.value !== undefined && SECRET_LIKE.test(variable.name)) problems.push(`${id}: ${variable.name} has an inline value`);
          if (variable.value !== undefined && URL_WITH_CREDENTIALS.test(variable.value)) problems.push(`${id}: ${variable.name} has credentials in a URL`);
          if (SECRET_LIKE.test(variable.name) && variable.valueFrom?.secretKeyRef === undefined) problems.push(`${id}: ${variable.name} is not from a Secret`);
          const ref = variable.valueFrom?.secretKeyRef;
          if (ref && !secretExists(ref.name)) problems.push(`${id}: ${variable.name} names an unknown Secret ${ref.name}`);
          const configRef = variable.valueFrom?.configMapKeyRef;
          if (configRef && !configMaps.some((map) => map.metadata?.name === configRef.name)) problems.push(`${id}: unknown ConfigMap ${configRef.name}`);
        }
        for (const source of container.envFrom ?? []) {
          if (source.secretRef && !secretExists(source.secretRef.name)) problems.push(`${id}: envFrom an unknown Secret ${source.secretRef.name}`);
          if (source.configMapRef && !configMaps.some((map) => map.metadata?.name === source.configMapRef!.name)) {
            problems.push(`${id}: envFrom an unknown ConfigMap ${source.configMapRef.name}`);
          }
        }
      }
    }
    for (const map of configMaps) {
      for (const [key, value] of Object.entries(map.data ?? {})) {
        if (SECRET_LIKE.test(key) && key !== 'DATABASE_URL') problems.push(`ConfigMap ${map.metadata?.name}: ${key} looks like a secret`);
        if (key === 'DATABASE_URL' || URL_WITH_CREDENTIALS.test(value)) problems.push(`ConfigMap ${map.metadata?.name}: ${key} carries credentials`);
      }
    }
    expect(problems).toEqual([]);
    // Only the callbacks service (signing with API keys) and the dispatcher (opening sealed SMPP
    // connector passwords) hold the platform secret.
    const holders = deployments.filter((d) => containersOf(d.spec!.template.spec!).some((c) => c.env?.some((v) => v.name === 'REACH_API_KEY_SECRET')));
    expect(holders.map(serviceOf).sort()).toEqual(['callbacks', 'dispatcher']);
  });

  it(overlay === 'prod' ? 'contains no Secret object at all' : 'generates only the DEV-ONLY API key secret, from a file marked so', () => {
    const secrets = byKind<ISecret>(objects, 'Secret');
    if (overlay === 'prod') {
      expect(secrets).toEqual([]);
      return;
    }
    expect(secrets.map((secret) => secret.metadata?.name)).toEqual([expect.stringMatching(/^reach-api-key-secret-[a-z0-9]+$/)]);
    const source = readFileSync(join(root, 'k8s', 'overlays', 'dev', 'dev-only.secrets.env'), 'utf8');
    expect(source).toMatch(/^# DEV ONLY: NOT A SECRET/);
  });

  it('selects what it means to: workload selectors match their pods, Services and PDBs select existing pods on declared ports', () => {
    const problems: string[] = [];
    const pods = workloads().map((workload) => ({ workload, labels: workload.spec!.template.metadata?.labels }));
    for (const { workload, labels } of pods) {
      if (!selects(workload.spec!.selector.matchLabels, labels)) problems.push(`${workload.metadata?.name}: selector does not match its template`);
      if (workload.spec!.selector.matchExpressions) problems.push(`${workload.metadata?.name}: matchExpressions are not checked here`);
    }
    for (const service of byKind<IService>(objects, 'Service')) {
      const selected = pods.filter(({ labels }) => selects(service.spec?.selector, labels));
      if (selected.length !== 1) problems.push(`Service ${service.metadata?.name} selects ${selected.length} workloads`);
      for (const { workload } of selected) {
        const names = containersOf(workload.spec!.template.spec!).flatMap((c) => (c.ports ?? []).map((p) => p.name));
        for (const port of service.spec?.ports ?? []) {
          if (typeof port.targetPort === 'string' && !names.includes(port.targetPort)) problems.push(`Service ${service.metadata?.name}: no port ${port.targetPort}`);
        }
      }
    }
    for (const deployment of deployments) {
      const labels = deployment.spec!.template.metadata?.labels;
      if (!byKind<IService>(objects, 'Service').some((s) => selects(s.spec?.selector, labels))) problems.push(`${deployment.metadata?.name}: no Service`);
    }
    for (const set of statefulSets) {
      const headless = byKind<IService>(objects, 'Service').find((s) => s.metadata?.name === set.spec!.serviceName);
      if (headless?.spec?.clusterIP !== 'None' || !selects(headless.spec.selector, set.spec!.template.metadata?.labels)) {
        problems.push(`${set.metadata?.name}: serviceName ${set.spec!.serviceName} is not a headless Service selecting it`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('has one PodDisruptionBudget per workload', () => {
    const budgets = byKind<IPodDisruptionBudget>(objects, 'PodDisruptionBudget');
    for (const workload of workloads()) {
      const covering = budgets.filter((budget) => selects(budget.spec?.selector?.matchLabels, workload.spec!.template.metadata?.labels));
      expect({ workload: workload.metadata?.name, budgets: covering.length }).toEqual({ workload: workload.metadata?.name, budgets: 1 });
    }
  });

  it(overlay === 'prod' ? 'autoscales every Deployment from at least two replicas' : 'has no autoscaler', () => {
    const autoscalers = byKind<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler');
    if (overlay !== 'prod') {
      expect(autoscalers).toEqual([]);
      return;
    }
    for (const deployment of deployments) {
      const [hpa, ...more] = autoscalers.filter((a) => a.spec?.scaleTargetRef.kind === 'Deployment' && a.spec.scaleTargetRef.name === deployment.metadata?.name);
      expect(more).toEqual([]);
      expect(hpa?.spec?.scaleTargetRef.apiVersion).toBe('apps/v1');
      expect(hpa?.spec?.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa!.spec!.maxReplicas).toBeGreaterThanOrEqual(hpa!.spec!.minReplicas!);
      // A fixed replica count would fight the autoscaler on every apply.
      expect(deployment.spec?.replicas).toBeUndefined();
    }
    expect(autoscalers).toHaveLength(deployments.length);
  });

  it('runs NATS with JetStream as a three-node cluster with routes through its headless service and a volume per node', () => {
    const nats = statefulSets.find((set) => set.metadata?.name === 'reach-nats')!;
    expect(nats.spec?.replicas).toBe(3);
    expect(nats.spec?.volumeClaimTemplates?.map((claim) => claim.metadata?.name)).toEqual(['data']);
    const container = nats.spec!.template.spec!.containers[0]!;
    expect(container.image).toMatch(/^nats:\d+\.\d+\.\d+/);
    const configVolume = nats.spec!.template.spec!.volumes?.find((volume) => volume.name === 'config');
    const config = byKind<IConfigMap>(objects, 'ConfigMap').find((map) => map.metadata?.name === configVolume?.configMap?.name);
    const conf = config?.data?.['nats.conf'] ?? '';
    expect(container.command).toEqual(['nats-server', '--config', '/etc/nats/nats.conf']);
    expect(conf).toMatch(/jetstream \{[^}]*store_dir: \/data\/jetstream/);
    const routes = [...conf.matchAll(/nats:\/\/(reach-nats-\d)\.([\w-]+):6222/g)];
    expect(routes.map((route) => route[1])).toEqual(['reach-nats-0', 'reach-nats-1', 'reach-nats-2']);
    expect(new Set(routes.map((route) => route[2]))).toEqual(new Set([nats.spec!.serviceName]));
    expect(container.volumeMounts?.find((mount) => mount.name === 'data')?.mountPath).toBe('/data');
  });

  it('runs EventStoreDB as a three-node cluster gossiping through its headless service', () => {
    const store = statefulSets.find((set) => set.metadata?.name === 'reach-eventstore')!;
    const env = Object.fromEntries((store.spec!.template.spec!.containers[0]!.env ?? []).map((v) => [v.name, v.value]));
    expect(store.spec?.replicas).toBe(3);
    expect(env['EVENTSTORE_CLUSTER_SIZE']).toBe(String(store.spec?.replicas));
    expect(env['EVENTSTORE_DISCOVER_VIA_DNS']).toBe('true');
    expect(env['EVENTSTORE_CLUSTER_DNS']).toMatch(new RegExp(`^${store.spec!.serviceName}\\.`));
    expect(store.spec?.volumeClaimTemplates).toHaveLength(1);
    // The services' connection string names every node through that service.
    const config = byKind<IConfigMap>(objects, 'ConfigMap').find((map) => map.metadata?.name?.startsWith('reach-config-'))!;
    expect(config.data?.['EVENTSTORE_URL']).toBe(
      `esdb://${[0, 1, 2].map((i) => `reach-eventstore-${i}.${store.spec!.serviceName}:2113`).join(',')}?tls=false`,
    );
    const natsService = byKind<IService>(objects, 'Service').find((s) => `nats://${s.metadata?.name}:4222` === config.data?.['NATS_URL']);
    expect(natsService?.spec?.ports?.map((port) => port.port)).toContain(4222);
  });

  it('declares PostgreSQL as a CloudNativePG Cluster whose app Secret the services use', () => {
    const clusters = objects.filter((o) => o.kind === 'Cluster');
    expect(clusters).toHaveLength(1);
    const cluster = clusters[0] as K8sObject & {
      spec: { instances: number; imageName: string; storage: { size: string }; bootstrap: { initdb: { database: string; owner: string } } };
    };
    expect(cluster.apiVersion).toBe('postgresql.cnpg.io/v1');
    expect(cluster.metadata.name).toBe('reach-postgres');
    expect(cluster.spec.instances).toBe(postgresInstances);
    expect(cluster.spec.storage.size).toMatch(/^\d+[GM]i$/);
    expect(cluster.spec.bootstrap.initdb).toEqual({ database: 'reach', owner: 'reach' });
    expect(Object.keys(cluster.spec).filter((key) => !CNPG_CLUSTER_FIELDS.has(key))).toEqual([]);
    // CloudNativePG names the owner's Secret <cluster>-app; its `uri` is a postgresql:// URL.
    const refs = deployments.flatMap((d) => containersOf(d.spec!.template.spec!).flatMap((c) => c.env ?? []).filter((v) => v.name === 'DATABASE_URL'));
    expect(new Set(refs.map((v) => `${v.valueFrom?.secretKeyRef?.name}/${v.valueFrom?.secretKeyRef?.key}`))).toEqual(new Set([`${cluster.metadata.name}-app/uri`]));
  });

  describe('network policies', () => {
    let policies: INetworkPolicy[] = [];
    beforeAll(() => {
      policies = byKind<INetworkPolicy>(objects, 'NetworkPolicy');
    });

    const egressOf = (labels: Labels | undefined) => {
      const applying = policies.filter((p) => p.spec?.policyTypes?.includes('Egress') && selects(p.spec.podSelector.matchLabels, labels));
      return { applying, rules: applying.flatMap((p) => p.spec?.egress ?? []) as INetworkPolicyEgressRule[] };
    };
    const allows = (rules: INetworkPolicyEgressRule[], target: Labels, port: number) =>
      rules.some(
        (rule) =>
          (rule.to ?? []).some((peer) => !peer.namespaceSelector && !peer.ipBlock && selects(peer.podSelector?.matchLabels, target)) &&
          (rule.ports ?? []).some((p) => p.port === port || p.port === undefined),
      );

    it('isolates the egress of every service pod: a default deny, then DNS, the engines and each other', () => {
      const deny = policies.filter((p) => p.spec?.policyTypes?.includes('Egress') && (p.spec.egress ?? []).length === 0);
      for (const deployment of deployments) {
        const labels = deployment.spec!.template.metadata?.labels;
        expect(deny.some((p) => selects(p.spec?.podSelector.matchLabels, labels))).toBe(true);
        const { rules } = egressOf(labels);
        // A rule without `to` would allow every destination.
        expect(rules.filter((rule) => (rule.to ?? []).length === 0)).toEqual([]);
        const dns = rules.filter((rule) =>
          rule.to!.some((peer) => peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'kube-system' && peer.podSelector?.matchLabels?.['k8s-app'] === 'kube-dns'),
        );
        expect(dns.flatMap((rule) => (rule.ports ?? []).map((p) => `${p.protocol}/${p.port}`)).sort()).toEqual(['TCP/53', 'UDP/53']);
        const natsPods = statefulSets.find((s) => s.metadata?.name === 'reach-nats')!.spec!.template.metadata?.labels ?? {};
        const storePods = statefulSets.find((s) => s.metadata?.name === 'reach-eventstore')!.spec!.template.metadata?.labels ?? {};
        expect(allows(rules, natsPods, 4222)).toBe(true);
        expect(allows(rules, storePods, 2113)).toBe(true);
        expect(allows(rules, { 'cnpg.io/cluster': 'reach-postgres', 'cnpg.io/instanceRole': 'primary' }, 5432)).toBe(true);
        expect(allows(rules, deployments[0]!.spec!.template.metadata?.labels ?? {}, SERVICE_PORTS['api-gateway'].port)).toBe(true);
      }
    });

    it('lets only the callbacks (webhooks) and dispatcher (SMPP carriers) pods reach the internet, and never the private ranges', () => {
      for (const deployment of deployments) {
        const { rules } = egressOf(deployment.spec!.template.metadata?.labels);
        const blocks = rules.flatMap((rule) => (rule.to ?? []).flatMap((peer) => (peer.ipBlock ? [peer.ipBlock] : [])));
        const outside = rules.flatMap((rule) => (rule.to ?? []).filter((peer) => peer.namespaceSelector && peer.namespaceSelector.matchLabels?.['kubernetes.io/metadata.name'] !== 'kube-system'));
        expect(outside).toEqual([]);
        if (serviceOf(deployment) !== 'callbacks' && serviceOf(deployment) !== 'dispatcher') {
          expect({ service: serviceOf(deployment), blocks }).toEqual({ service: serviceOf(deployment), blocks: [] });
          continue;
        }
        expect(blocks).toHaveLength(1);
        expect(blocks[0]!.cidr).toBe('0.0.0.0/0');
        expect([...(blocks[0]!.except ?? [])].sort()).toEqual(expect.arrayContaining(PRIVATE_RANGES));
      }
    });

    it('lets only the services and their peers connect to NATS and EventStoreDB', () => {
      for (const name of ['reach-nats', 'reach-eventstore']) {
        const set = statefulSets.find((s) => s.metadata?.name === name)!;
        const labels = set.spec!.template.metadata?.labels;
        const ingress = policies.filter((p) => p.spec?.policyTypes?.includes('Ingress') && selects(p.spec.podSelector.matchLabels, labels));
        expect(ingress.length).toBeGreaterThan(0);
        const peers = ingress.flatMap((p) => p.spec?.ingress ?? []).flatMap((rule) => rule.from ?? []);
        expect(peers.length).toBeGreaterThan(0);
        for (const peer of peers) {
          expect(peer.ipBlock).toBeUndefined();
          expect(peer.namespaceSelector).toBeUndefined();
          const allowed = selects(peer.podSelector?.matchLabels, labels) || deployments.some((d) => selects(peer.podSelector?.matchLabels, d.spec!.template.metadata?.labels));
          expect(allowed).toBe(true);
        }
      }
    });
  });
});

/** The CloudNativePG Cluster spec fields these manifests may use (postgresql.cnpg.io/v1). */
const CNPG_CLUSTER_FIELDS = new Set([
  'instances',
  'imageName',
  'primaryUpdateStrategy',
  'primaryUpdateMethod',
  'bootstrap',
  'postgresql',
  'storage',
  'walStorage',
  'resources',
  'affinity',
  'backup',
  'monitoring',
  'enableSuperuserAccess',
  'enablePDB',
]);
