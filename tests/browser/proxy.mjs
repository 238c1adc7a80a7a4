// A tiny HTTP proxy on loopback for the tests: forwards everything to the
// server, except that /api/sse/ can be refused (502), left hanging (no
// answer at all), or its open streams frozen (no more bytes), the way
// some corporate proxies and buffering middleboxes behave.
import http from 'node:http';

export async function startProxy(targetPort) {
  const state = {
    /** 'pass' | '502' | 'hang' | 'down' */
    mode: 'pass',
    requests: [],
    port: 0,
  };
  const hanging = new Set();
  const streams = new Set();

  const server = http.createServer((req, res) => {
    state.requests.push({ url: req.url, method: req.method, headers: { ...req.headers }, at: Date.now() });
    if (state.mode === 'down') {
      req.socket.destroy(); // the network is gone: no answer at all
      return;
    }
    const isSse = req.url.startsWith('/api/sse/');
    if (isSse && state.mode === '502') {
      res.writeHead(502, { 'Content-Type': 'text/plain', Connection: 'close' });
      res.end('streaming is not allowed here');
      return;
    }
    if (isSse && state.mode === 'hang') {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    const up = http.request(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
      (ur) => {
        res.writeHead(ur.statusCode || 502, ur.headers);
        if (isSse) {
          const s = { res, ur, frozen: false };
          streams.add(s);
          ur.on('data', (chunk) => {
            if (!s.frozen) res.write(chunk);
          });
          ur.on('end', () => res.end());
          res.on('close', () => {
            streams.delete(s);
            ur.destroy();
          });
        } else {
          ur.pipe(res);
        }
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end();
    });
    req.pipe(up);
    res.on('close', () => up.destroy());
  });
  server.keepAliveTimeout = 1000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = server.address().port;
  state.close = async () => {
    for (const r of hanging) r.destroy();
    for (const s of streams) {
      s.ur.destroy();
      s.res.destroy();
    }
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
  };
  /** A network drop: every connection is cut, and new ones get no answer until mode is set back. */
  state.down = () => {
    state.mode = 'down';
    for (const r of hanging) r.destroy();
    for (const s of streams) {
      s.ur.destroy();
      s.res.destroy();
    }
    server.closeAllConnections?.();
  };
  /** The streams open now stop passing bytes (but stay open); new ones pass. */
  state.freezeOpenStreams = () => {
    for (const s of streams) s.frozen = true;
    return streams.size;
  };
  state.sseRequests = () => state.requests.filter((r) => r.url.startsWith('/api/sse/'));
  state.latestRequests = () => state.requests.filter((r) => r.url.startsWith('/api/data/latest'));
  return state;
}
