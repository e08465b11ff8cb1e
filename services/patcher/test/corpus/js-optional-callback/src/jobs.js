function runJob(job, options) {
  const result = job.run();
  options.onDone(result);
  return result;
}

module.exports = { runJob };
