// Re-runs `npm install` once under the project's own Node (from the `node` npm
// package). npm running on an older Node silently skips packages that declare
// a newer engine, Hardhat's native simulator binding among them; the second
// pass installs them. The guard variable keeps that pass from starting another.
const { spawnSync } = require("node:child_process");
const path = require("node:path");

const GUARD = "CENTRAL_ELECTRIC_SECOND_PASS";
const MIN_MAJOR = 22;

const root = path.resolve(__dirname, "..");
const localNode = path.join(root, "node_modules", ".bin", "node");

// npm_config_user_agent looks like "npm/11.19.1 node/v20.20.2 linux x64 ...":
// it names the Node that runs npm, which decides what npm installs.
const agent = process.env.npm_config_user_agent ?? "";
const match = /node\/v(\d+)\./.exec(agent);
const npmNodeMajor = match ? Number(match[1]) : Number(process.versions.node.split(".")[0]);
const npmCli = process.env.npm_execpath;

if (process.env[GUARD] === "1" || npmNodeMajor >= MIN_MAJOR || !npmCli) {
  process.exit(0);
}

console.log(`central-electric: npm ran on Node ${npmNodeMajor}; re-running npm install on the project's Node so packages that need Node >= ${MIN_MAJOR} are installed`);
const env = {
  ...process.env,
  [GUARD]: "1",
  PATH: `${path.dirname(localNode)}${path.delimiter}${process.env.PATH ?? ""}`,
};
const result = spawnSync(localNode, [npmCli, "install", "--no-audit", "--no-fund"], { cwd: root, env, stdio: "inherit" });
if (result.error) {
  console.error(`central-electric: the second install pass failed to start: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
