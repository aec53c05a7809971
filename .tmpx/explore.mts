import { getQuickJS } from 'quickjs-emscripten';
const Q = await getQuickJS();
function run(code: string, opts: { mem?: number; stack?: number; maxTicks?: number } = {}) {
  const rt = Q.newRuntime();
  rt.setMemoryLimit(opts.mem ?? 16 * 1024 * 1024);
  rt.setMaxStackSize(opts.stack ?? 256 * 1024);
  let ticks = 0;
  rt.setInterruptHandler(() => ++ticks > (opts.maxTicks ?? 1e9));
  const vm = rt.newContext();
  const t0 = performance.now();
  const r = vm.evalCode(code);
  const ms = performance.now() - t0;
  let out: unknown;
  if (r.error) { out = { error: vm.dump(r.error) }; r.error.dispose(); } else { out = vm.dump(r.value); r.value.dispose(); }
  vm.dispose(); rt.dispose();
  return { out, ticks, ms: ms.toFixed(2) };
}
console.log(run('Object.getOwnPropertyNames(globalThis).join(",")'));
console.log(run('typeof Date.now()+" "+Date.now()+" "+Math.random()'));
console.log('loop 1e6', run('let x=0; for (let i=0;i<1e6;i++) x+=i; x'));
console.log('loop 1e7', run('let x=0; for (let i=0;i<1e7;i++) x+=i; x'));
console.log('calls 1e5', run('function f(a){return a+1} let x=0; for (let i=0;i<1e5;i++) x=f(x); x'));
console.log('inf', run('while(true){}', { maxTicks: 100 }));
console.log('recursion', run('function f(n){return f(n+1)+1} f(0)'));
console.log('recursion caught', run('function f(n){return f(n+1)+1} try{f(0)}catch(e){"caught "+e}'));
console.log('oom', run('let a=[]; while(true) a.push("x".repeat(1000)+a.length)'));
console.log('oom caught', run('let a=[]; try { while(true) a.push("x".repeat(1000)+a.length) } catch(e) { a=null; "caught "+e }'));
console.log('regex', run('/^(a+)+$/.test("a".repeat(28)+"b")', { maxTicks: 100 }));
console.log('bigpow', run('(3n ** 3000000n) % 7n', { maxTicks: 100 }));
console.log('sort', run('let a=[]; for(let i=0;i<200000;i++) a.push((i*7919)%100003); a.sort((x,y)=>x-y); a[5]', { maxTicks: 1000000 }));
console.log('weak', run('typeof WeakRef + typeof FinalizationRegistry + typeof Atomics + typeof SharedArrayBuffer+typeof performance+typeof setTimeout'));
let t = performance.now();
for (let i = 0; i < 1000; i++) { const rt = Q.newRuntime(); const vm = rt.newContext(); vm.dispose(); rt.dispose(); }
console.log('rt+ctx create/dispose µs', ((performance.now() - t) * 1000 / 1000).toFixed(1));
