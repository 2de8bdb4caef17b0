/// <reference types="vitest" />
import { defineConfig } from "vite";

// The Parley server to proxy to while developing (`npm run dev` / `npm run preview`).
// Open the page at http://127.0.0.1:5173 (not "localhost"): the Host header is passed
// through unchanged so the server sees a same-origin request and accepts its writes.
const target = process.env.PARLEY_URL ?? "http://127.0.0.1:8091";
const proxy = {
  "/api": { target, changeOrigin: false },
  "/socket.io": { target, changeOrigin: false, ws: true },
};

// The policy `parley serve` sends; `vite preview` sends it too so the build is tried under it.
const csp =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'";

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    target: "es2020",
    cssCodeSplit: false,
    // A tiny stylesheet or icon must stay a file: data: URLs are fine for images but
    // keeping everything under /assets/ keeps the policy simple.
    assetsInlineLimit: 0,
  },
  server: { host: "127.0.0.1", port: 5173, strictPort: true, proxy },
  preview: {
    host: "127.0.0.1",
    port: 5173,
    strictPort: true,
    proxy,
    headers: { "Content-Security-Policy": csp },
  },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
  },
});
