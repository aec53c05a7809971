import { Worker } from 'node:worker_threads';
const [stackMb, shadow] = [Number(process.argv[2]), Number(process.argv[3])];
const tests = JSON.parse((await import('node:fs')).readFileSync('.tmpx/tests.json', 'utf8'));
const src = `
const { parentPort, workerData } = require('node:worker_threads');
const { getQuickJS } = require(${JSON.stringify(process.cwd() + '/node_modules/quickjs-emscripten/dist/index.js')});
getQuickJS().then((Q) => {
  const out = [];
  for (const [k, code] of Object.entries(workerData.tests)) {
    const rt = Q.newRuntime(); rt.setMaxStackSize(workerData.shadow); rt.setMemoryLimit(64*1024*1024);
    let t=0; rt.setInterruptHandler(()=>++t>4000);
    const vm = rt.newContext();
    try { const r = vm.evalCode(code); const o = vm.dump(r.value ?? r.error); (r.value ?? r.error).dispose(); vm.dispose(); rt.dispose(); out.push(k + ' ' + (typeof o === 'object' ? o?.message ?? JSON.stringify(o) : String(o).slice(0,60))); }
    catch (e) { out.push(k + ' HOST ' + String(e).slice(0, 100)); break; }
  }
  parentPort.postMessage(out);
});`;
const w = new Worker(src, { eval: true, workerData: { tests, shadow }, resourceLimits: { stackSizeMb: stackMb } });
w.on('message', (m) => { console.log(m.join('\n')); w.terminate(); });
w.on('error', (e) => console.log('worker error', e));
