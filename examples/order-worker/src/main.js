'use strict';

const { startTelemetry } = require('./telemetry');
const stopTelemetry = startTelemetry();

const { createQueue } = require('./queue');
const { createWorkerServer } = require('./server');
const { fulfil, invoice } = require('./orders');

const queue = createQueue({ handlers: { 'fulfil-order': fulfil, 'invoice-order': invoice } });
const server = createWorkerServer(queue);
const port = Number(process.env.PORT || 3100);
server.listen(port, () => console.log(`order-worker listening on http://127.0.0.1:${port}`));

async function shutdown() {
  server.close();
  await queue.whenIdle();
  await stopTelemetry().catch(() => {});
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
