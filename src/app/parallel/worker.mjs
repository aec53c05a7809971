// Execution thread entry (see worker-main.ts): loads the TypeScript sources through tsx
// (workers do not inherit the main thread's loader).
import { register } from 'tsx/esm/api';

register();
await import('./worker-main.ts');
