import type { ScenarioName } from '../options.js';
import type { WorkerContext } from '../worker/context.js';
import { runChurn } from './churn.js';
import { runConnect } from './connect.js';
import { runFanout } from './fanout.js';
import { runJoinStorm } from './join-storm.js';
import { runRooms } from './rooms.js';

/** What each scenario does inside one worker. */
export const SCENARIO_RUNNERS: Record<ScenarioName, (ctx: WorkerContext) => Promise<void>> = {
  fanout: runFanout,
  rooms: runRooms,
  'join-storm': runJoinStorm,
  churn: runChurn,
  connect: runConnect,
};

/** One line per scenario, for --help. */
export const SCENARIO_DESCRIPTIONS: Record<ScenarioName, string> = {
  fanout: 'one channel, every client a member, --publishers of them take turns sending',
  rooms: 'channels × rooms-per-channel rooms of members-per-room; messages spread over the rooms',
  'join-storm': 'all clients join one channel at once; presence counts must settle at N and never go down',
  churn: 'half the clients keep leaving, rejoining, disconnecting and reconnecting while the others publish',
  connect: 'connection + join ramp at --connect-rate: connects/joins per second and failures by reason',
};
