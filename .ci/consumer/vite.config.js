// A plain browser build: no Node polyfills, no aliases. consumer.sh fails the build on any `node:` import.
export default {
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
};
