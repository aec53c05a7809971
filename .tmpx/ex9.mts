import { getQuickJS } from 'quickjs-emscripten';
const Q: any = await getQuickJS();
const [stack, code] = [Number(process.argv[2]), process.argv[3]];
const rt = Q.newRuntime(); rt.setMaxStackSize(stack); rt.setMemoryLimit(64*1024*1024); const vm = rt.newContext();
try { const r = vm.evalCode(code); const o = vm.dump(r.value ?? r.error); (r.value ?? r.error).dispose(); vm.dispose(); rt.dispose(); console.log(typeof o === 'object' ? o?.message ?? JSON.stringify(o) : String(o).slice(0,80)); }
catch (e) { console.log('HOST ' + String(e).slice(0, 100)); }
