export { BROWSER_BUNDLE_FILE, browserBundlePath } from './bundle-path.js';
