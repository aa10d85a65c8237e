import { afterAll } from 'vitest';
import { runSuiteTeardowns } from './teardown.js';

// Registered for every test file (vitest `setupFiles`).
afterAll(runSuiteTeardowns);
