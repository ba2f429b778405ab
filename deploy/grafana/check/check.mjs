// Type-checks every dashboard in ../dashboards against @grafana/schema's Dashboard type.
//
// Each JSON file is written into generated/ as a TypeScript module that assigns the dashboard, as
// an object literal, to a `Dashboard`-typed constant; `tsc --noEmit --strict` then rejects
// missing required fields, wrong types, bad enum values and (through excess-property checks)
// misspelt fields. Panel options and query targets are untyped in the schema: the end-to-end
// test checks the queries against a real Prometheus.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dashboards = join(here, "..", "dashboards");
const generated = join(here, "generated");

rmSync(generated, { recursive: true, force: true });
mkdirSync(generated);
const files = readdirSync(dashboards).filter((name) => name.endsWith(".json"));
if (files.length === 0) {
  console.error(`no dashboards in ${dashboards}`);
  process.exit(1);
}
for (const name of files) {
  // Parse first, so invalid JSON is reported as such rather than as a TypeScript error.
  const dashboard = JSON.parse(readFileSync(join(dashboards, name), "utf8"));
  const module = [
    `// Generated from deploy/grafana/dashboards/${name} by check.mjs.`,
    `import type { Dashboard } from "@grafana/schema";`,
    `export const dashboard: Dashboard = ${JSON.stringify(dashboard, null, 2)};`,
    "",
  ].join("\n");
  writeFileSync(join(generated, name.replace(/\.json$/, ".ts")), module);
}

const tsc = join(here, "node_modules", "typescript", "bin", "tsc");
const result = spawnSync(process.execPath, [tsc, "--project", join(here, "tsconfig.json")], {
  stdio: "inherit",
});
if (result.status !== 0) {
  console.error("dashboard type check failed");
  process.exit(result.status ?? 1);
}
console.log(`${files.length} dashboards match @grafana/schema's Dashboard type`);
