import './instrument';
import * as Sentry from '@sentry/node';
import { createApp } from './app';

const port = Number(process.env['PORT'] ?? 3000);
const server = createApp();
server.listen(port, () => console.log(`checkout-api listening on http://127.0.0.1:${port}`));

function shutdown(): void {
  server.close();
  void Sentry.close(2000).finally(() => process.exit(0));
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
