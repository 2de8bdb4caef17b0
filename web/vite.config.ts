/// <reference types="vitest" />
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, defineConfig, type Plugin } from "vite";

const here = path.dirname(fileURLToPath(import.meta.url));

function filesUnder(dir: string): string[] {
  let out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out = out.concat(filesUnder(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

/**
 * Builds src/sw/sw.ts into dist/sw.js (one classic script, no imports) once the app is
 * bundled, with the app shell's files (`__SHELL_FILES__`: index.html as "/", the hashed
 * bundle, public/) and a version made from their contents (`__SHELL_VERSION__`): a build that
 * changes any of them changes sw.js, which is how browsers learn that there is a new version.
 */
function serviceWorker(): Plugin {
  let publicDir = "";
  return {
    name: "parley-service-worker",
    apply: "build",
    enforce: "post",
    configResolved(config) {
      publicDir = config.publicDir;
    },
    async generateBundle(_options, bundle) {
      const files = new Map<string, string | Uint8Array>();
      for (const [name, item] of Object.entries(bundle)) {
        if (name.endsWith(".map")) continue;
        files.set(name === "index.html" ? "/" : `/${name}`, item.type === "chunk" ? item.code : item.source);
      }
      if (publicDir) {
        for (const file of filesUnder(publicDir)) {
          files.set("/" + path.relative(publicDir, file).split(path.sep).join("/"), readFileSync(file));
        }
      }
      const shell = [...files.keys()].sort();
      const hash = createHash("sha256");
      for (const name of shell) hash.update(name).update("\0").update(files.get(name)!).update("\0");
      const built = await build({
        configFile: false,
        root: here,
        publicDir: false,
        logLevel: "warn",
        define: {
          __SHELL_FILES__: JSON.stringify(shell),
          __SHELL_VERSION__: JSON.stringify(hash.digest("hex").slice(0, 16)),
        },
        build: {
          write: false,
          target: "es2020",
          minify: true,
          lib: { entry: path.join(here, "src/sw/sw.ts"), formats: ["iife"], name: "parleyServiceWorker", fileName: () => "sw.js" },
        },
      });
      const outputs = Array.isArray(built) ? built : [built];
      const chunk = outputs.flatMap((o) => ("output" in o ? o.output : [])).find((o) => o.type === "chunk");
      if (!chunk || chunk.type !== "chunk") throw new Error("the service worker build produced no script");
      this.emitFile({ type: "asset", fileName: "sw.js", source: chunk.code });
    },
  };
}

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
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; " +
  "worker-src 'self'; manifest-src 'self'";

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  plugins: [serviceWorker()],
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
