const path = require('node:path');

function outputFile(config) {
  return path.join(config.outDir, 'report.json');
}

module.exports = { outputFile };
