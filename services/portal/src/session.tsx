// The signed-in user: the pasted API token (sessionStorage: gone when the tab closes), the
// user it belongs to, and the projects with the user's role in each.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { ApiClient, ApiError, type Me, type Project, type ProjectRole } from './api.js';

const TOKEN_KEY = 'harbormaster.token';
const PROJECT_KEY = 'harbormaster.project';

export interface Session {
  api: ApiClient;
  me: Me;
  projects: Project[];
  reloadProjects: () => Promise<Project[]>;
  signOut: () => void;
}

interface SessionState {
  session: Session | undefined;
  restoring: boolean;
  signIn: (token: string) => Promise<void>;
}

const SessionContext = createContext<SessionState | undefined>(undefined);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [token, setToken] = useState<string | undefined>(() => sessionStorage.getItem(TOKEN_KEY) ?? undefined);
  const [me, setMe] = useState<Me | undefined>(undefined);
  const [projects, setProjects] = useState<Project[]>([]);
  const [restoring, setRestoring] = useState(Boolean(token));

  const api = useMemo(() => (token ? new ApiClient(token) : undefined), [token]);

  const signOut = useCallback(() => {
    sessionStorage.removeItem(TOKEN_KEY);
    setToken(undefined);
    setMe(undefined);
    setProjects([]);
  }, []);

  const load = useCallback(async (client: ApiClient) => {
    const [user, list] = await Promise.all([client.get<Me>('/me'), client.list<Project>('/projects')]);
    setMe(user);
    setProjects(list);
  }, []);

  useEffect(() => {
    if (!api || me) return;
    let cancelled = false;
    // eslint-disable-next-line react-hooks/set-state-in-effect -- load() sets state only after its requests answer
    load(api)
      .catch((error: unknown) => {
        if (!cancelled && error instanceof ApiError && error.status === 401) signOut();
      })
      .finally(() => {
        if (!cancelled) setRestoring(false);
      });
    return () => {
      cancelled = true;
    };
  }, [api, me, load, signOut]);

  const signIn = useCallback(
    async (candidate: string) => {
      const client = new ApiClient(candidate);
      await load(client);
      sessionStorage.setItem(TOKEN_KEY, candidate);
      setToken(candidate);
    },
    [load],
  );

  const reloadProjects = useCallback(async () => {
    if (!api) return [];
    const list = await api.list<Project>('/projects');
    setProjects(list);
    return list;
  }, [api]);

  const session = api && me ? { api, me, projects, reloadProjects, signOut } : undefined;
  return <SessionContext.Provider value={{ session, restoring: restoring && !me, signIn }}>{children}</SessionContext.Provider>;
}

export function useSessionState(): SessionState {
  const state = useContext(SessionContext);
  if (!state) throw new Error('useSessionState outside SessionProvider');
  return state;
}

/** For pages behind sign-in. */
export function useSession(): Session {
  const { session } = useSessionState();
  if (!session) throw new Error('useSession before sign-in');
  return session;
}

export function roleIn(session: Session, projectId: string): ProjectRole | undefined {
  return session.projects.find((project) => project.id === projectId)?.role;
}

/** Editors and owners change things; viewers only look. The API enforces it regardless. */
export const canEdit = (role: ProjectRole | undefined) => role === 'owner' || role === 'editor';

export function rememberProject(projectId: string): void {
  localStorage.setItem(PROJECT_KEY, projectId);
}

export function rememberedProject(projects: readonly Project[]): Project | undefined {
  const id = localStorage.getItem(PROJECT_KEY);
  return projects.find((project) => project.id === id) ?? projects[0];
}
