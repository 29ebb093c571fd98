import { useId, useMemo, useState, type SubmitEvent } from 'react';
import { describeError, projectPath, providerInfo, type Catalog, type Cluster, type Credential, type NodePoolDefaults } from '../api.js';
import { Empty, Loading, SummaryBadge, RelativeTime, ResourceView, ScrollTable } from '../components/states.js';
import { useResource } from '../hooks.js';
import { clusterNameProblem, generateClusterName } from '../names.js';
import { Link, useRouter } from '../router.js';
import { canEdit, roleIn, useSession } from '../session.js';

export function ClustersPage({ projectId }: { projectId: string }) {
  const session = useSession();
  const project = session.projects.find((candidate) => candidate.id === projectId);
  const clusters = useResource(() => session.api.list<Cluster>(`${projectPath(projectId)}/clusters`), projectId, 5000);
  const editable = canEdit(roleIn(session, projectId));

  if (!project) {
    return (
      <section>
        <h1>Clusters</h1>
        <Empty title="This project does not exist or you are not a member.">
          <Link to="/projects">Your projects</Link>
        </Empty>
      </section>
    );
  }

  return (
    <>
      <div className="page-head">
        <h1>Clusters</h1>
        <p className="muted">in {project.displayName || project.name}</p>
      </div>
      {editable ? (
        <CreateCluster projectId={projectId} onCreated={() => void clusters.reload()} />
      ) : (
        <p className="note">You are a viewer in this project: you can look, but not create or change clusters.</p>
      )}
      <section aria-labelledby="cluster-list-title">
        <h2 id="cluster-list-title">Your clusters</h2>
        <ResourceView resource={clusters} what="clusters">
          {(items) =>
            items.length === 0 ? (
              <Empty title="No clusters yet.">{editable && <p>Create one with the button above: it takes a single click.</p>}</Empty>
            ) : (
              <ScrollTable label="Clusters">
                <table className="table">
                  <caption className="visually-hidden">Clusters in {project.name}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Status</th>
                      <th scope="col">Version</th>
                      <th scope="col">Seed</th>
                      <th scope="col">Created</th>
                    </tr>
                  </thead>
                  <tbody>
                    {items.map((cluster) => (
                      <tr key={cluster.id}>
                        <td>
                          <Link to={`/projects/${projectId}/clusters/${cluster.id}`}>{cluster.name}</Link>
                        </td>
                        <td data-testid="cluster-status" data-state={cluster.summary.state} data-degraded={cluster.summary.qualifiers.length > 0}>
                          <SummaryBadge summary={cluster.summary} />
                          {cluster.summary.qualifiers.map((qualifier) => (
                            <span key={qualifier.reason} className="wrap qualifier">
                              {' '}
                              {qualifier.short} — {qualifier.message}
                            </span>
                          ))}
                        </td>
                        <td>
                          {cluster.summary.versions.current}
                          {cluster.summary.versions.target && <span className="muted"> → {cluster.summary.versions.target}</span>}
                        </td>
                        <td>{cluster.seed?.name ?? '—'}</td>
                        <td>
                          <RelativeTime at={cluster.createdAt} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </ScrollTable>
            )
          }
        </ResourceView>
      </section>
    </>
  );
}

interface CreateOptions {
  version: string;
  placement: string;
  exposeStrategy: string;
  etcdReplicas: number;
  cni: string;
  metricsServer: boolean;
  credentialId: string;
  poolRegion: string;
  poolSize: string;
  poolImage: string;
  replicas: number;
}

function poolDefaults(catalog: Catalog, credential: Credential | undefined): NodePoolDefaults | undefined {
  return credential ? catalog.nodePoolDefaults?.[credential.provider] : undefined;
}

/** A regional credential fixes the pool's region; otherwise the provider's default applies. */
function poolRegion(catalog: Catalog, credential: Credential | undefined): string {
  const regionFrom = credential ? providerInfo(catalog, credential.provider)?.regionFrom : undefined;
  return (regionFrom ? credential?.summary[regionFrom] : poolDefaults(catalog, credential)?.region) ?? '';
}

function CreateCluster({ projectId, onCreated }: { projectId: string; onCreated: () => void }) {
  const session = useSession();
  const { navigate } = useRouter();
  const catalog = useResource(() => session.api.get<Catalog>('/catalog'), 'catalog');
  const credentials = useResource(() => session.api.list<Credential>(`${projectPath(projectId)}/credentials`), projectId);
  const [name, setName] = useState(generateClusterName);
  const [overrides, setOverrides] = useState<Partial<CreateOptions>>({});
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const ids = {
    name: useId(),
    nameHint: useId(),
    version: useId(),
    placement: useId(),
    expose: useId(),
    etcd: useId(),
    cni: useId(),
    metricsServer: useId(),
    credential: useId(),
    region: useId(),
    size: useId(),
    image: useId(),
    replicas: useId(),
  };

  const defaults = useMemo((): CreateOptions | undefined => {
    if (!catalog.data || !credentials.data) return undefined;
    const credential = credentials.data[0];
    const pool = poolDefaults(catalog.data, credential);
    return {
      version: catalog.data.defaultVersion,
      placement: '',
      exposeStrategy: catalog.data.defaults.exposeStrategy,
      etcdReplicas: catalog.data.defaults.etcdReplicas,
      cni: catalog.data.defaults.cni,
      metricsServer: catalog.data.defaults.metricsServer,
      credentialId: credential?.id ?? '',
      poolRegion: poolRegion(catalog.data, credential),
      poolSize: pool?.size ?? '',
      poolImage: pool?.image ?? '',
      replicas: 1,
    };
  }, [catalog.data, credentials.data]);

  if (catalog.error !== undefined || credentials.error !== undefined) {
    return (
      <section className="card">
        <h2>Create a cluster</h2>
        <p role="alert" className="form-error">
          {describeError(catalog.error ?? credentials.error)}
        </p>
      </section>
    );
  }
  if (!defaults || !catalog.data || !credentials.data) return <Loading what="cluster options" />;

  const options: CreateOptions = { ...defaults, ...overrides };
  const credential = credentials.data.find((candidate) => candidate.id === options.credentialId);
  const pool = poolDefaults(catalog.data, credential);
  const set = <K extends keyof CreateOptions>(key: K, value: CreateOptions[K]) => setOverrides((current) => ({ ...current, [key]: value }));
  const chooseCredential = (id: string) => {
    const next = credentials.data?.find((candidate) => candidate.id === id);
    const nextPool = catalog.data ? poolDefaults(catalog.data, next) : undefined;
    setOverrides((current) => ({
      ...current,
      credentialId: id,
      poolRegion: catalog.data ? poolRegion(catalog.data, next) : '',
      poolSize: nextPool?.size ?? '',
      poolImage: nextPool?.image ?? '',
    }));
  };
  const nameProblem = clusterNameProblem(name);
  const placements = catalog.data.placement;
  const regions = [...new Set(placements.map((option) => option.region).filter((region): region is string => Boolean(region)))];

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    if (nameProblem) return;
    setBusy(true);
    setError(undefined);
    // Only what the user chose goes in the request; everything else is the API's default.
    const body: Record<string, unknown> = { name };
    if (options.version !== defaults.version) body.version = options.version;
    if (options.placement.startsWith('seed:')) body.seed = options.placement.slice(5);
    if (options.placement.startsWith('region:')) body.region = options.placement.slice(7);
    if (options.exposeStrategy !== defaults.exposeStrategy) body.exposeStrategy = options.exposeStrategy;
    if (options.etcdReplicas !== defaults.etcdReplicas) body.etcdReplicas = options.etcdReplicas;
    if (options.cni !== defaults.cni) body.cni = options.cni;
    if (options.metricsServer !== defaults.metricsServer) body.addons = { metricsServer: options.metricsServer };
    if (credential) {
      body.nodePool = {
        name: 'default',
        credentialId: credential.id,
        region: options.poolRegion,
        size: options.poolSize,
        replicas: options.replicas,
        ...(options.poolImage && options.poolImage !== pool?.image ? { image: options.poolImage } : {}),
      };
    }
    try {
      const cluster = await session.api.post<Cluster>(`${projectPath(projectId)}/clusters`, body);
      onCreated();
      navigate(`/projects/${projectId}/clusters/${cluster.id}`);
    } catch (caught) {
      setError(describeError(caught));
      setBusy(false);
    }
  };

  return (
    <section className="card create" aria-labelledby="create-title">
      <h2 id="create-title">Create a cluster</h2>
      <form onSubmit={(event) => void submit(event)} noValidate>
        <div className="create-row">
          <div className="field grow">
            <label htmlFor={ids.name}>Cluster name</label>
            <div className="input-with-button">
              <input
                id={ids.name}
                value={name}
                onChange={(event) => setName(event.target.value)}
                aria-describedby={ids.nameHint}
                aria-invalid={nameProblem ? true : undefined}
                autoComplete="off"
                spellCheck={false}
              />
              <button type="button" className="button" onClick={() => setName(generateClusterName())} aria-label="Suggest another name">
                ↻
              </button>
            </div>
            <p id={ids.nameHint} className={nameProblem ? 'form-error' : 'hint'}>
              {nameProblem ?? 'Generated for you; edit it if you like.'}
            </p>
          </div>
          <button type="submit" className="button button-primary button-large" disabled={busy || Boolean(nameProblem)}>
            {busy ? 'Creating…' : 'Create cluster'}
          </button>
        </div>
        <p className="hint">
          Kubernetes {options.version}, {options.etcdReplicas} etcd member{options.etcdReplicas === 1 ? '' : 's'}, {options.exposeStrategy},{' '}
          {options.cni === 'none' ? 'no network plugin (you install one)' : `${options.cni} networking`}
          {options.metricsServer ? ', metrics-server' : ''}
          {credential
            ? `, a node pool of ${options.replicas} × ${options.poolSize} on ${credential.name}`
            : ', no worker nodes (add a provider credential to get a node pool)'}
          .
        </p>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <details className="advanced">
          <summary>Advanced</summary>
          <div className="grid">
            <div className="field">
              <label htmlFor={ids.version}>Kubernetes version</label>
              <select id={ids.version} value={options.version} onChange={(event) => set('version', event.target.value)}>
                {catalog.data.versions.map((version) => (
                  <option key={version} value={version}>
                    {version}
                    {version === catalog.data?.defaultVersion ? ' (newest)' : ''}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor={ids.placement}>Seed or region</label>
              <select id={ids.placement} value={options.placement} onChange={(event) => set('placement', event.target.value)}>
                <option value="">Automatic (least-loaded seed)</option>
                {regions.map((region) => (
                  <option key={`region:${region}`} value={`region:${region}`}>
                    Region {region}
                  </option>
                ))}
                {placements.map((option) => (
                  <option key={`seed:${option.seed}`} value={`seed:${option.seed}`} disabled={!option.schedulable}>
                    Seed {option.seed}
                    {option.schedulable ? '' : ' (not schedulable)'}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor={ids.expose}>Expose strategy</label>
              <select id={ids.expose} value={options.exposeStrategy} onChange={(event) => set('exposeStrategy', event.target.value)}>
                {catalog.data.exposeStrategies.map((strategy) => (
                  <option key={strategy} value={strategy}>
                    {strategy}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor={ids.etcd}>etcd members</label>
              <select id={ids.etcd} value={options.etcdReplicas} onChange={(event) => set('etcdReplicas', Number(event.target.value))}>
                <option value={3}>3 (highly available)</option>
                <option value={1}>1 (development)</option>
              </select>
            </div>
            <div className="field">
              <label htmlFor={ids.cni}>Network plugin</label>
              <select id={ids.cni} value={options.cni} onChange={(event) => set('cni', event.target.value)}>
                {catalog.data.cniPlugins.map((plugin) => (
                  <option key={plugin} value={plugin}>
                    {plugin === 'none' ? 'None: I install my own (nodes stay NotReady until then)' : plugin}
                    {plugin === catalog.data?.defaults.cni ? ' (default)' : ''}
                  </option>
                ))}
              </select>
            </div>
            <div className="field checkbox">
              <label htmlFor={ids.metricsServer}>
                <input
                  id={ids.metricsServer}
                  type="checkbox"
                  checked={options.metricsServer}
                  onChange={(event) => set('metricsServer', event.target.checked)}
                />{' '}
                metrics-server (kubectl top, autoscaling)
              </label>
            </div>
            <div className="field">
              <label htmlFor={ids.credential}>Provider credential</label>
              <select id={ids.credential} value={options.credentialId} onChange={(event) => chooseCredential(event.target.value)}>
                <option value="">None: no node pool</option>
                {credentials.data.map((candidate) => (
                  <option key={candidate.id} value={candidate.id}>
                    {candidate.name} ({candidate.provider})
                  </option>
                ))}
              </select>
            </div>
            {credential && (
              <>
                <div className="field">
                  <label htmlFor={ids.region}>Node region</label>
                  <input id={ids.region} list={`${ids.region}-list`} value={options.poolRegion} onChange={(event) => set('poolRegion', event.target.value)} />
                  <datalist id={`${ids.region}-list`}>
                    {pool?.regions.map((region) => (
                      <option key={region} value={region} />
                    ))}
                  </datalist>
                </div>
                <div className="field">
                  <label htmlFor={ids.size}>Instance size</label>
                  <input id={ids.size} list={`${ids.size}-list`} value={options.poolSize} onChange={(event) => set('poolSize', event.target.value)} />
                  <datalist id={`${ids.size}-list`}>
                    {pool?.sizes.map((size) => (
                      <option key={size} value={size} />
                    ))}
                  </datalist>
                </div>
                <div className="field">
                  <label htmlFor={ids.image}>Image</label>
                  <input id={ids.image} value={options.poolImage} onChange={(event) => set('poolImage', event.target.value)} />
                </div>
                <div className="field">
                  <label htmlFor={ids.replicas}>Node replicas</label>
                  <input
                    id={ids.replicas}
                    type="number"
                    min={0}
                    max={100}
                    value={options.replicas}
                    onChange={(event) => set('replicas', Math.max(0, Math.min(100, Number(event.target.value) || 0)))}
                  />
                </div>
              </>
            )}
          </div>
        </details>
      </form>
    </section>
  );
}
