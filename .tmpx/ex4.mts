import { newQuickJSWASMModuleFromVariant, newVariant, RELEASE_SYNC } from 'quickjs-emscripten';
const PAGES = (256 * 1024 * 1024) / 65536;
const mem = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES });
let growFails = 0;
const orig = mem.grow.bind(mem);
(mem as any).grow = (n: number) => { try { return orig(n); } catch (e) { growFails++; throw e; } };
const Q = await newQuickJSWASMModuleFromVariant(newVariant(RELEASE_SYNC, { wasmMemory: mem }));
function run(code: string, limit = 32 * 1024 * 1024) {
  const rt = Q.newRuntime();
  rt.setMemoryLimit(limit);
  rt.setMaxStackSize(512 * 1024);
  let ticks = 0;
  rt.setInterruptHandler(() => ++ticks > 100000);
  const vm = rt.newContext();
  const g0 = growFails;
  const t0 = performance.now();
  const r = vm.evalCode(code);
  const ms = performance.now() - t0;
  let out: unknown;
  if (r.error) { const d = vm.dump(r.error); out = 'ERR ' + (d?.message ?? d); r.error.dispose(); } else { out = vm.dump(r.value); r.value.dispose(); }
  vm.dispose(); rt.dispose();
  return { out, ticks, ms: ms.toFixed(1), growFails: growFails - g0, bytes: mem.buffer.byteLength };
}
const bombBig = 'globalThis.n=0; let a=[]; try { while(true) { a.push("x".repeat(8*1024*1024)+n); n++ } } catch(e) { a = null; "caught "+e+" n="+n }';
const bombSmall = 'globalThis.n=0; let a=null; try { while(true) { a={next:a, s:"y".repeat(1000)+n}; n++ } } catch(e) { a = null; "caught "+e+" n="+n }';
const work = 'let m=new Map(); for(let i=0;i<20000;i++) m.set("k"+i, {i, s:"z".repeat(i%300)}); m.size';
console.log('bigA', run(bombBig));
console.log('smallA', run(bombSmall));
console.log('work', run(work));
console.log('bigB', run(bombBig));
console.log('smallB', run(bombSmall));
for (let i = 0; i < 3; i++) run(work);
console.log('smallC', run(bombSmall));
console.log('bigC', run(bombBig));
console.log('ok after', run('1+1'));
// nested runtimes: hold an outer runtime alive with some memory while inner bombs
{
  const rt = Q.newRuntime(); const vm = rt.newContext();
  vm.evalCode('globalThis.keep=[]; for(let i=0;i<1000;i++) keep.push("q".repeat(500)+i)').value?.dispose();
  console.log('nested small', run(bombSmall));
  vm.dispose(); rt.dispose();
}
console.log('smallD', run(bombSmall));
