import { getQuickJS } from 'quickjs-emscripten';
const Q: any = await getQuickJS();
const m = Q.module;
console.log(Object.keys(m).join(' '));
const mem: WebAssembly.Memory = Q.getWasmMemory();
// scan memory for the idle stack pointer via stackSave if exposed
console.log(typeof m.stackSave, typeof m._malloc);
const p = m._malloc(16); console.log('malloc addr', p); m._free(p);
