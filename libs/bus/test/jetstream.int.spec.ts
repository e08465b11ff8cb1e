import { busContract } from './bus-contract';
import { jetStreamHarness } from './harness';

busContract('JetStream', (t) => jetStreamHarness(t.store));
