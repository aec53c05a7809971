/**
 * Deterministic simulation of BFT consensus with the real driver and reactors (harness.ts):
 * the first half of the random seeds (the second is in tbft-sim-b.test.ts). Each seed builds
 * a network (4 equal validators or 4-7 weighted ones, maybe an observer, maybe a changing
 * validator set or a skewed clock), faults (delays, drops, duplicates, slow links, held-back
 * precommits and sync answers, partitions, crashes with WAL loss, crashes right after
 * deciding) and usually one byzantine validator, then checks agreement, validity and honest
 * non-equivocation at every step and liveness after the network heals. A failure prints the
 * seed and the last events; replay it with
 *
 *   SIM_SEED=123 node --import tsx --test test/sim/tbft-sim.test.ts
 *
 * Named scenarios are in scenarios.test.ts; `npm run sim -- --seeds 20000` runs a long campaign.
 */
import { seedTests } from './seed-tests.ts';

seedTests(0);
