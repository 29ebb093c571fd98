// What the three composition roots share: reading the configuration for the one role each of
// them runs, and turning a failed start into an exit code. Each deployable has its own entry
// module so that its import graph holds only what it runs (the api never loads the worker, and
// neither loads the sandbox).
import { ConfigError, loadConfig, type AppConfig } from './config.js';

export type Role = AppConfig['role'];

/** The compiled entry module of each role, relative to the build output's root. */
export const ENTRY_FOR_ROLE: Record<Role, string> = {
  all: 'dist/services/all-in-one/src/main.js',
  api: 'dist/services/api/src/main.js',
  worker: 'dist/services/worker/src/main.js',
};

/** The process cannot run as configured; the message says what to change. Exit code 2. */
export class StartupRefused extends Error {}

/**
 * The configuration of an entry that runs `role`. HM_ROLE may be left unset (the entry's own
 * role) or name that role; another role is refused with the entry that runs it, so a stale
 * command line in a chart or script fails loudly instead of starting the wrong deployable.
 */
export function loadRoleConfig(role: Role, env: NodeJS.ProcessEnv = process.env): AppConfig {
  const asked = env.HM_ROLE;
  if (asked !== undefined && asked !== role && asked in ENTRY_FOR_ROLE) {
    throw new StartupRefused(`HM_ROLE=${asked} does not run from this entry (it runs HM_ROLE=${role}); start node ${ENTRY_FOR_ROLE[asked as Role]}`);
  }
  return loadConfig({ ...env, HM_ROLE: asked ?? role });
}

/**
 * Runs an entry's `main`. A refused configuration exits 2 with its message alone (it is the
 * operator's to fix, a stack trace would bury it); anything else exits 1 with the stack.
 */
export function runEntry(what: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (error instanceof ConfigError || error instanceof StartupRefused) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`${what} failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
