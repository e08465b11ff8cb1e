'use strict';
// A small real application using the unmodified official @sentry/node SDK. Its DSN points at
// Antibody ingest; it computes a cart total, which throws, and reports the error.
const Sentry = require('@sentry/node');

Sentry.init({
  dsn: process.env.SENTRY_DSN,
  release: process.env.APP_RELEASE,
  environment: process.env.APP_ENVIRONMENT,
  sendDefaultPii: true,
  // The request this job was serving, as an HTTP integration would record it.
  beforeSend(event) {
    event.request = {
      method: 'POST',
      url: 'https://shop.example.com/checkout?session_id=abc123secret&page=2',
      headers: { Authorization: 'Bearer sk_live_51HxYzVerySecretToken', 'Content-Type': 'application/json' },
      data: { card: '4111 1111 1111 1111', password: 'hunter2', note: 'leave at door' },
    };
    return event;
  },
});

const { total } = require('./build/cart.js');

async function main() {
  Sentry.setTag('api_token', 'tok_should_not_be_stored');
  Sentry.setTag('region', 'eu-west-1');
  Sentry.setUser({ id: '42', ip_address: '203.0.113.7', email: 'ada@example.com' });
  try {
    total([{ product: { price: 3 }, quantity: 2 }, { quantity: 1 }]);
  } catch (error) {
    Sentry.captureException(error);
  }
  const flushed = await Sentry.flush(10_000);
  process.stdout.write(`flushed=${flushed}\n`);
}

void main();
