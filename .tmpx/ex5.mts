import { getQuickJS } from 'quickjs-emscripten';
const Q = await getQuickJS();
function run(code: string, stack: number) {
  const rt = Q.newRuntime();
  rt.setMaxStackSize(stack);
  const vm = rt.newContext();
  try {
    const r = vm.evalCode(code);
    let out: unknown;
    if (r.error) { const d = vm.dump(r.error); out = 'ERR ' + (d?.message ?? d); r.error.dispose(); } else { out = vm.dump(r.value); r.value.dispose(); }
    vm.dispose(); rt.dispose();
    return out;
  } catch (e) { return 'HOST THROW ' + e; }
}
const rec = 'globalThis.d=0; function f(){ d++; f() } try { f() } catch(e) { "caught "+e+" depth="+d }';
for (const s of [64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024]) console.log(s, run(rec, s));
console.log('after', run('1+2', 256*1024));
