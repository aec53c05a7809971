import { newQuickJSWASMModuleFromVariant, DEBUG_SYNC } from 'quickjs-emscripten';
const Q: any = await newQuickJSWASMModuleFromVariant(DEBUG_SYNC);
for (const s of [128*1024, 256 * 1024, 512*1024, 900*1024]) {
  const rt = Q.newRuntime(); rt.setMaxStackSize(s); const vm = rt.newContext();
  try { const r = vm.evalCode('globalThis.d=0; function f(){ d++; f() } try { f() } catch(e) { "caught "+e+" depth="+d }'); console.log(s, vm.dump(r.value ?? r.error)); (r.value??r.error).dispose(); vm.dispose(); rt.dispose(); }
  catch (e) { console.log(s, 'HOST', String(e).slice(0, 300)); break; }
}
