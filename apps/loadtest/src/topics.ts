/** A channel or a room of a channel, as the load tester addresses it. */
export interface Topic {
  /** Unique key: `c:<channel>` or `r:<channel>/<roomId>`. */
  key: string;
  kind: 'channel' | 'room';
  channel: string;
  roomId: string | null;
}

export function channelTopic(channel: string): Topic {
  return { key: `c:${channel}`, kind: 'channel', channel, roomId: null };
}

export function roomTopic(channel: string, roomId: string): Topic {
  return { key: `r:${channel}/${roomId}`, kind: 'room', channel, roomId };
}

/** Channel names of a run: `lt-<runId>-<suffix>`; never a reserved event name. */
export function channelName(runId: string, suffix: string): string {
  return `lt-${runId}-${suffix}`;
}
