// Express with the `cors` middleware, configured like
// bench/conf/preflight.toml.in: a peer of bench/run.sh (preflights).
// Usage: node server.js PORT
const express = require('express');
const cors = require('cors');

const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.use(cors({
  origin: 'https://app.example.com',
  methods: ['GET', 'PUT', 'DELETE'],
  allowedHeaders: ['content-type', 'authorization'],
  exposedHeaders: ['x-request-id'],
  credentials: true,
  maxAge: 600,
}));
app.use((req, res) => res.json({ id: 1 }));
app.listen(Number(process.argv[2]), '127.0.0.1');
