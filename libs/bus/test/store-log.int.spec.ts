import { busContract } from './bus-contract';
import { storeLogHarness } from './harness';

busContract('store-log', (t) => storeLogHarness(t.store));
