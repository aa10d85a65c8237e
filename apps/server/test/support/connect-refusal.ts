/** What a refused connect rejects with: socket.io-client's connect_error (message the code, data `{ code, message }`). */
export interface ConnectRefusal {
  message: string;
  data: unknown;
}

/** The connect_error a connection attempt rejects with; fails the test when it is accepted instead. */
export async function refusal(promise: Promise<unknown>): Promise<ConnectRefusal> {
  try {
    await promise;
  } catch (err) {
    return err as ConnectRefusal;
  }
  throw new Error('the connection was accepted');
}
