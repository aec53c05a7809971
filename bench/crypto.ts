// Crypto micro-benchmark: prints one JSON object with operations per second.
// Run: node --import tsx bench/crypto.ts [--seconds=1]
import { randomBytes } from 'node:crypto';
import { generateSymmetricKey, getProfile } from '../src/crypto/profile.ts';
import { SM2_CURVE, Sm2Engine } from '../src/crypto/sm2.ts';

const secondsArg = process.argv.find((a) => a.startsWith('--seconds='));
const SECONDS = secondsArg ? Number(secondsArg.slice('--seconds='.length)) : 1;

function opsPerSecond(fn: (i: number) => unknown): number {
  for (let i = 0; i < 50; i++) fn(i); // warm-up, also builds lazy tables
  let n = 0;
  const start = performance.now();
  const deadline = start + SECONDS * 1000;
  let now = start;
  while (now < deadline) {
    for (let j = 0; j < 20; j++) fn(n++);
    now = performance.now();
  }
  return Math.round((n * 1000) / (now - start));
}

const MESSAGE = randomBytes(256); // roughly a transaction body

function benchProfile(name: 'standard' | 'gm') {
  const p = getProfile(name);
  const kp = p.generateKeyPair();
  const signer = p.signerFromPem(kp.privateKeyPem);
  const sigs = Array.from({ length: 64 }, () => signer.sign(MESSAGE));
  // 64 recurring signers (fits the default SM2 table budget), warmed to steady state.
  const pool = Array.from({ length: 64 }, () => {
    const k = p.generateKeyPair();
    return { pub: k.publicKey, sig: p.signerFromPem(k.privateKeyPem).sign(MESSAGE) };
  });
  for (let round = 0; round < 10; round++) for (const e of pool) p.verify(e.pub, MESSAGE, e.sig);
  const key = generateSymmetricKey(p);
  const kb = randomBytes(1024);
  const ct = p.encrypt(key, kb);
  return {
    signPerSec: opsPerSecond(() => signer.sign(MESSAGE)),
    verifyPerSec_sameKey: opsPerSecond((i) =>
      p.verify(kp.publicKey, MESSAGE, sigs[i % sigs.length]),
    ),
    verifyPerSec_64Keys: opsPerSecond((i) => {
      const e = pool[i % pool.length];
      return p.verify(e.pub, MESSAGE, e.sig);
    }),
    hash256BytesPerSec: opsPerSecond(() => p.hash(MESSAGE)),
    encrypt1KiBPerSec: opsPerSecond(() => p.encrypt(key, kb)),
    decrypt1KiBPerSec: opsPerSecond(() => p.decrypt(key, ct)),
  };
}

// SM2 verification with the key cache disabled: the worst case (first sight of a key).
function benchSm2Cold() {
  const engine = new Sm2Engine(SM2_CURVE);
  engine.configureCache({ maxKeys: 0, maxTabledKeys: 0 });
  const d = engine.randomPrivateKey();
  const pub = engine.publicKeyFromPrivate(d);
  const sig = engine.sign(d, MESSAGE);
  return { verifyPerSec_uncachedKey: opsPerSecond(() => engine.verify(pub, MESSAGE, sig)) };
}

const result = {
  node: process.version,
  openssl: process.versions.openssl,
  secondsPerCase: SECONDS,
  standard: benchProfile('standard'),
  gm: { ...benchProfile('gm'), ...benchSm2Cold() },
};
console.log(JSON.stringify(result, null, 2));
