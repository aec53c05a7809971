// Worker-thread entry for async-verify.ts: loads the TypeScript sources through tsx (workers
// do not inherit the main thread's loader), then verifies batches of signatures.
import { register } from 'tsx/esm/api';

register();
await import('./verify-worker-main.ts');
