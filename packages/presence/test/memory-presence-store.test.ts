import { onTestFinished } from 'vitest';
import { MemoryPresenceBackend, MemoryPresenceStore, type PresenceStore } from '../src/index.js';
import { describePresenceStore } from './describe-presence-store.js';

describePresenceStore('MemoryPresenceStore', async () => {
  const backend = new MemoryPresenceBackend();
  return {
    async store(nodeId, options): Promise<PresenceStore> {
      const store = new MemoryPresenceStore({ nodeId, backend, ...options });
      onTestFinished(() => store.close());
      await store.restore([]);
      return store;
    },
    async wipe() {
      backend.clear();
    },
  };
});
