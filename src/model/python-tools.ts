import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { MODEL_ERROR_CODES, modelError } from "./errors.js";

/**
 * `att model import|train` delegate to the Python tooling (model-tools/, scikit-learn + skl2onnx):
 * create its virtualenv with setup.sh when missing, then run `.venv/bin/python -m att_model …`
 * with its output streamed through.
 */

const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** `toolsDir` as given when it exists (relative to the working directory), else inside this package. */
export function resolveToolsDir(toolsDir: string): string {
  if (isAbsolute(toolsDir)) return toolsDir;
  const here = resolve(toolsDir);
  return existsSync(join(here, "setup.sh")) ? here : resolve(PACKAGE_ROOT, toolsDir);
}

export function venvPython(toolsDir: string): string {
  return join(toolsDir, ".venv", "bin", "python");
}

export interface RunToolOptions {
  toolsDir: string;
  /** Where the tools' output goes (default: this process's stdout/stderr). */
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
}

function run(cmd: string, args: string[], opts: RunToolOptions, label: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd: process.cwd(),
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.pipe(opts.stdout ?? process.stdout, { end: false });
    child.stderr.pipe(opts.stderr ?? process.stderr, { end: false });
    child.on("error", (err) =>
      reject(
        modelError(MODEL_ERROR_CODES.tooling, `Cannot start ${label}.`, {
          cause: err,
          details: [`Command: ${cmd}`],
        }),
      ),
    );
    child.on("close", (code, signal) => {
      if (code === 0) resolvePromise();
      else
        reject(
          modelError(
            MODEL_ERROR_CODES.tooling,
            `${label} failed (${signal ? `signal ${signal}` : `exit code ${code}`}).`,
            {
              details: [`Command: ${[cmd, ...args].join(" ")}`, "Its own error message is printed above."],
            },
          ),
        );
    });
  });
}

/** Creates model-tools/.venv (pinned requirements) unless it exists. */
export async function ensureVenv(opts: RunToolOptions): Promise<string> {
  const python = venvPython(opts.toolsDir);
  if (existsSync(python)) return python;
  const setup = join(opts.toolsDir, "setup.sh");
  if (!existsSync(setup)) {
    throw modelError(MODEL_ERROR_CODES.tooling, `The Python model tooling is not at ${opts.toolsDir}.`, {
      details: ["Fix: set ATT_MODEL_TOOLS_DIR to the model-tools folder of this project."],
    });
  }
  (opts.stderr ?? process.stderr).write(`att model: creating the Python environment (${setup})…\n`);
  await run("bash", [setup], opts, "model-tools/setup.sh");
  return python;
}

/** Runs `python -m att_model <args>` in the tooling's virtualenv, creating it first if needed. */
export async function runModelTools(args: string[], opts: RunToolOptions): Promise<void> {
  const python = await ensureVenv(opts);
  await run(python, ["-m", "att_model", ...args], opts, `python -m att_model ${args[0] ?? ""}`.trim());
}
