import type { ResolvedOptions } from './options.js';

type PlacementOptions = Pick<ResolvedOptions, 'targets' | 'placement' | 'membersPerRoom'>;

/** rooms: the room (0 … rooms-1) client `index` is a member of. */
export function roomOfClient(options: Pick<ResolvedOptions, 'membersPerRoom'>, index: number): number {
  return Math.floor(index / options.membersPerRoom);
}

/**
 * The target (index into `targets`) client `index` connects to, per
 * `--placement`: `spread` is round-robin over the clients; `room-local` puts
 * every member of room r on target r mod N (rooms' senders are members, so
 * they are there too).
 */
export function targetOf(options: PlacementOptions, index: number): number {
  const n = options.targets.length;
  return options.placement === 'room-local' ? roomOfClient(options, index) % n : index % n;
}

/** How many of `clients` clients connect to each target. */
export function clientsPerTarget(options: PlacementOptions & Pick<ResolvedOptions, 'clients'>): number[] {
  const counts = options.targets.map(() => 0);
  if (options.placement === 'spread') {
    const n = options.targets.length;
    return counts.map((_, t) => Math.floor(options.clients / n) + (t < options.clients % n ? 1 : 0));
  }
  for (let i = 0; i < options.clients; i++) counts[targetOf(options, i)]!++;
  return counts;
}
