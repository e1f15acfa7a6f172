// PostGraphile v5 serving the benchmark's database (graphile.config.mjs), started by
// bench/servers.py with the service's launcher options:
//
//   node server.mjs --host 127.0.0.1 --port 8000 --workers 2 [--log-level warning]
//
// DATABASE_URL (and PG_POOL_MAX, connections per process) from the environment; --log-level is
// accepted as the launcher's option (only errors are ever logged here). One process
// when --workers is 1; otherwise a node:cluster primary that only starts and watches N workers,
// each listening on a SO_REUSEPORT socket of its own (`reusePort`, `exclusive`: not the
// primary's shared handle), as the service's uvicorn workers do: the kernel spreads the
// connections. A worker that dies ends the whole server (the bench sees it exit).
import cluster from "node:cluster";
import { createServer } from "node:http";
import { parseArgs } from "node:util";

// Production mode (Grafast's extra development checks off) unless the environment says otherwise
// (bench/peer.py sets both).
process.env.GRAPHILE_ENV ??= "production";
process.env.NODE_ENV ??= "production";

const { values } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string" },
    workers: { type: "string", default: "1" },
    "log-level": { type: "string", default: "warning" },
  },
});
const host = values.host;
const port = Number(values.port);
const workers = Number(values.workers);
if (!Number.isInteger(port) || port <= 0 || !Number.isInteger(workers) || workers < 1) {
  console.error("usage: node server.mjs --host HOST --port PORT --workers N");
  process.exit(2);
}

async function serve(reusePort) {
  // Imported here: the environment above is read when these modules load.
  const { postgraphile } = await import("postgraphile");
  const { grafserv } = await import("postgraphile/grafserv/node");
  const { default: preset } = await import("./graphile.config.mjs");
  const pgl = postgraphile(preset);
  await pgl.getSchema(); // the schema built before the port answers
  const server = createServer();
  server.on("error", (error) => {
    console.error(error);
    process.exit(1);
  });
  await pgl.createServ(grafserv).addTo(server);
  const stop = () => {
    server.close(() => pgl.release().finally(() => process.exit(0)));
    server.closeAllConnections(); // keep-alive clients are done when the bench stops it
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  server.listen({ host, port, reusePort, exclusive: reusePort, backlog: 2048 });
}

function supervise() {
  let stopping = false;
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
  };
  cluster.on("exit", (worker, code, signal) => {
    if (!stopping) {
      console.error(`worker ${worker.process.pid} exited (${signal ?? code}); stopping`);
      stop();
      process.exitCode = 1;
    }
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit();
  });
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  for (let i = 0; i < workers; i++) cluster.fork();
}

if (workers > 1 && cluster.isPrimary) {
  supervise();
} else {
  await serve(workers > 1);
}
