import { getQuickJS, DefaultIntrinsics } from 'quickjs-emscripten';
const Q = await getQuickJS();
function run(code: string, mem = 16 * 1024 * 1024) {
  const rt = Q.newRuntime();
  rt.setMemoryLimit(mem);
  rt.setMaxStackSize(256 * 1024);
  let ticks = 0;
  rt.setInterruptHandler(() => ++ticks > 1e6);
  const vm = rt.newContext();
  const t0 = performance.now();
  const r = vm.evalCode(code);
  const ms = performance.now() - t0;
  let out: unknown;
  if (r.error) { out = vm.dump(r.error)?.message; r.error.dispose(); } else { out = vm.dump(r.value); r.value.dispose(); }
  vm.dispose(); rt.dispose();
  return { out, ticks, ms: ms.toFixed(2) };
}
for (const n of [1000, 4000, 8000, 12000, 14000]) console.log(n, run(`let a=[]; for(let i=0;i<${n};i++) a.push("x".repeat(1000)+i); a.length`));
console.log('big', run('let s="x".repeat(20*1024*1024); s.length'));
console.log('big arr', run('let a=new Array(5e6).fill(1); a.length'));
console.log('obj bomb', run('let a=[]; while(true) a.push({i:a.length})'));
console.log('oom 64', run('let a=[]; while(true) a.push("x".repeat(1000)+a.length)', 64*1024*1024));
let t = performance.now();
for (let i = 0; i < 1000; i++) { const rt = Q.newRuntime(); rt.dispose(); }
console.log('rt µs', ((performance.now() - t)).toFixed(1));
const rt = Q.newRuntime();
t = performance.now();
for (let i = 0; i < 1000; i++) { const vm = rt.newContext(); vm.dispose(); }
console.log('ctx µs', ((performance.now() - t)).toFixed(1));
const intr = { ...DefaultIntrinsics, Date: false, Promise: false, Proxy: false, StringNormalize: false };
t = performance.now();
for (let i = 0; i < 1000; i++) { const vm = rt.newContext({ intrinsics: intr }); vm.dispose(); }
console.log('ctx reduced µs', ((performance.now() - t)).toFixed(1));
