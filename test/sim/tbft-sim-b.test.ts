/** The second half of the random seeds of tbft-sim.test.ts (a file of its own: a process each). */
import { seedTests } from './seed-tests.ts';

seedTests(1);
