'use strict';

const { createServer } = require('node:http');
const { randomUUID } = require('node:crypto');

const MAX_BODY_BYTES = 256 * 1024;

/**
 * The worker's HTTP front: `POST /jobs` takes one job `{ type, payload, id? }` or an array of them
 * and answers 202 with their ids; `GET /jobs/<id>` tells a job's status; `GET /stats` the counters;
 * `GET /health` is 200 while the process serves.
 */
function createWorkerServer(queue) {
  return createServer((req, res) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      const path = new URL(req.url || '/', 'http://localhost').pathname;
      if (size > MAX_BODY_BYTES) return send(res, 413, { error: `body larger than ${MAX_BODY_BYTES} bytes` });
      if (req.method === 'GET' && path === '/health') return send(res, 200, { status: 'ok' });
      if (req.method === 'GET' && path === '/stats') return send(res, 200, queue.stats());
      if (req.method === 'GET' && path.startsWith('/jobs/')) {
        const status = queue.status(decodeURIComponent(path.slice('/jobs/'.length)));
        return status ? send(res, 200, status) : send(res, 404, { error: 'no such job' });
      }
      if (req.method === 'POST' && path === '/jobs') {
        let body;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return send(res, 400, { error: 'body is not valid JSON' });
        }
        const jobs = Array.isArray(body) ? body : [body];
        const problem = jobs.map(checkJob).find(Boolean);
        if (problem) return send(res, 400, { error: problem });
        const ids = jobs.map((job) => queue.enqueue({ id: job.id || randomUUID(), type: job.type, payload: job.payload }));
        return send(res, 202, { ids });
      }
      return send(res, 404, { error: `no route for ${req.method} ${path}` });
    });
  });
}

function checkJob(job, index) {
  if (typeof job !== 'object' || job === null) return `job ${index} must be an object { type, payload }`;
  if (typeof job.type !== 'string' || job.type === '') return `job ${index}: type must be a non-empty string`;
  if (typeof job.payload !== 'object' || job.payload === null) return `job ${index}: payload must be an object`;
  if (job.id !== undefined && typeof job.id !== 'string') return `job ${index}: id must be a string`;
  return undefined;
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  // Invoice totals are BigInt minor units; JSON has no BigInt, so they travel as strings.
  res.end(JSON.stringify(body, (_key, value) => (typeof value === 'bigint' ? value.toString() : value)));
}

module.exports = { createWorkerServer };
