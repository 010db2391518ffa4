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
    // ethers, zod and React in the main chunk: about 840 kB minified, 260 kB compressed (Chart.js, with the network
    // page, is a chunk of its own).
    chunkSizeWarningLimit: 2000,
  },
});
