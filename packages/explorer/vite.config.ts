/**
 * The explorer's build. `npm run explorer` (scripts/explorer.ts) builds with this file through Vite's JS API and serves
 * the result; `npm run build --workspace @trustml/explorer` builds the same into dist/.
 */
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [react()],
  build: {
    target: "es2022",
    // ethers, React and Chart.js in one page: about 1 MB minified, 300 kB compressed.
    chunkSizeWarningLimit: 2000,
  },
});
