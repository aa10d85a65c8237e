/** Entry point of a forked generator process (`--workers` > 1). */
import { processWorkerEnd } from './link.js';
import { runWorker } from './run-worker.js';

if (process.send === undefined) {
  process.stderr.write('realtime-loadtest: worker/main.js runs as a forked worker only; use the CLI instead\n');
  process.exit(2);
}
// The parent is gone (or released us): never linger with open sockets.
process.once('disconnect', () => process.exit(0));
await runWorker(processWorkerEnd());
