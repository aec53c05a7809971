/** What a reference application is to the apps framework (docs/apps/README.md). */

/** One contract an app deploys. */
export interface AppContract {
  /** The contract's name on chain ([a-z][a-z0-9_]{1,31}). */
  name: string;
  /** Absolute path of its TypeScript source (under contracts/apps/). */
  source: string;
}

/** A reference application: its contracts, deployed (or upgraded) in order by `archi apps deploy`. */
export interface AppSpec {
  /** The name `archi apps deploy NAME` takes. */
  name: string;
  /** One line for `archi apps list`. */
  title: string;
  contracts: AppContract[];
  /** Its guide, relative to the repository root. */
  docs: string;
}
