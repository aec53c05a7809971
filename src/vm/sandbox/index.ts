/** The TypeScript contract sandbox: QuickJS in WebAssembly on its own thread. */
export { type BuildOptions, type BuiltContract, buildContract, CONTRACT_API } from './build.ts';
export { closeSandbox, initSandbox } from './host.ts';
export { CONTRACT_NAME, LIMITS } from './limits.ts';
export {
  type ContractMeta,
  type ContractStatus,
  codeHash,
  contractAddress,
  MANAGE,
} from './meta.ts';
export { inspectCode } from './runner.ts';
