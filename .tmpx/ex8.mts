import { getQuickJS } from 'quickjs-emscripten';
const Q: any = await getQuickJS();
function run(code: string, stack: number) {
  const rt = Q.newRuntime(); rt.setMaxStackSize(stack); rt.setMemoryLimit(64*1024*1024); const vm = rt.newContext();
  try { const r = vm.evalCode(code); const o = vm.dump(r.value ?? r.error); (r.value ?? r.error).dispose(); vm.dispose(); rt.dispose(); return typeof o === 'object' ? o?.message ?? JSON.stringify(o) : String(o).slice(0,80); }
  catch (e) { return 'HOST ' + String(e).slice(0, 100); }
}
const tests: Record<string,string> = {
  jsrec: 'globalThis.d=0; function f(){ d++; f() } try { f() } catch(e) { "caught "+e+" depth="+d }',
  jsrec_args: 'globalThis.d=0; function f(a,b,c,d2,e,g){ d++; return f(a,b,c,d2,e,g)+1 } try { f(1,2,3,4,5,6) } catch(e) { "caught "+e+" depth="+d }',
  parse_paren: 'try { eval("(".repeat(200000)+"1"+")".repeat(200000)) } catch(e) { "caught "+e }',
  parse_arr: 'try { eval("[".repeat(200000)+"]".repeat(200000)) } catch(e) { "caught "+e }',
  parse_unary: 'try { eval("-".repeat(200000)+"1") } catch(e) { "caught "+e }',
  parse_fn: 'try { eval("(()=>".repeat(50000)+"1"+")".repeat(50000)) } catch(e) { "caught "+e }',
  json_parse: 'try { JSON.parse("[".repeat(200000)+"]".repeat(200000)) } catch(e) { "caught "+e }',
  json_str: 'let o=[]; for(let i=0;i<200000;i++) o=[o]; try { JSON.stringify(o).length } catch(e) { "caught "+e }',
  regex: 'try { new RegExp("(".repeat(50000)+"a"+")".repeat(50000)).test("a") } catch(e) { "caught "+e }',
  regex_exec: 'try { /(a|b)*c/.test("ab".repeat(200000)) } catch(e) { "caught "+e }',
  tostring: 'let o={}; o.toString=function(){ return String(this) }; try { String(o) } catch(e) { "caught "+e }',
  proxy: 'let p=new Proxy({}, {get(t,k,r){ return r[k] }}); try { p.x } catch(e) { "caught "+e }',
  getter: 'let o={get x(){ return this.x }}; try { o.x } catch(e) { "caught "+e }',
  sort: 'let a=[3,1,2]; function c(x,y){ a.sort(c); return x-y }; try { a.sort(c) } catch(e) { "caught "+e }',
  flat: 'let a=[]; for(let i=0;i<100000;i++) a=[a]; try { a.flat(Infinity).length } catch(e) { "caught "+e }',
  tostr_arr: 'let a=[]; for(let i=0;i<100000;i++) a=[a]; try { String(a).length } catch(e) { "caught "+e }',
  bind: 'let f=function(){return 1}; for(let i=0;i<100000;i++) f=f.bind(null); try { f() } catch(e) { "caught "+e }',
  proto_chain: 'let o={}; for(let i=0;i<100000;i++) o=Object.create(o); try { o.zz } catch(e) { "caught "+e }',
};
for (const s of [256 * 1024, 384*1024, 512 * 1024]) {
  for (const [k, c] of Object.entries(tests)) console.log(s, k, run(c, s));
}
