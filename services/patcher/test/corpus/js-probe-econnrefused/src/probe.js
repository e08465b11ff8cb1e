const net = require('node:net');

function connect(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.on('error', reject);
  });
}

async function isUp(port) {
  const socket = await connect(port);
  socket.end();
  return true;
}

module.exports = { isUp };
