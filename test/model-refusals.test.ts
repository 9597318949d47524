import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ModelError } from "../src/kernel/errors.js";
import { loadModel, resolveModelDir } from "../src/model/index.js";
import { committedAttOriginalDir, copyModel, defaultModelDir, editJson, REGISTRY } from "./model-fixtures.js";

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** Re-hashes `file` into the card, so that the load gets past the hash check to the deeper one. */
function rehash(dir: string, file: string): void {
  editJson(join(dir, "model.json"), (card) => {
    (card.files as Record<string, { sha256: string }>)[file]!.sha256 = sha256(join(dir, file));
  });
}

async function refusal(dir: string): Promise<ModelError> {
  try {
    const m = await loadModel(dir);
    await m.close();
  } catch (err) {
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).retryable).toBe(false);
    return err as ModelError;
  }
  throw new Error(`${dir} was loaded but should have been refused`);
}

function editCard(dir: string, edit: (card: Record<string, unknown>) => void): void {
  editJson(join(dir, "model.json"), edit);
}

describe("a model folder the worker does not fully understand is refused", () => {
  it("refuses a tampered ONNX file, naming both hashes", async () => {
    const dir = copyModel(defaultModelDir());
    const bytes = readFileSync(join(dir, "model.onnx"));
    const at = bytes.length >> 1;
    bytes[at] = bytes[at]! ^ 0x01;
    writeFileSync(join(dir, "model.onnx"), bytes);
    const err = await refusal(dir);
    expect(err.code).toBe("ATT_MODEL_HASH_MISMATCH");
    expect(err.message).toContain(join(dir, "model.onnx"));
    expect(err.message).toContain(sha256(join(dir, "model.onnx")));
  });

  it("refuses a tampered forest.json", async () => {
    const dir = copyModel(defaultModelDir());
    writeFileSync(
      join(dir, "forest.json"),
      readFileSync(join(dir, "forest.json"), "utf8").replace('"max_samples":256', '"max_samples":257'),
    );
    expect((await refusal(dir)).code).toBe("ATT_MODEL_HASH_MISMATCH");
  });

  it("refuses a card with a feature the worker cannot compute, naming it", async () => {
    const dir = copyModel(defaultModelDir());
    editCard(dir, (c) => {
      (c.features as string[])[0] = "gas_price_gwei";
    });
    const err = await refusal(dir);
    expect(err.code).toBe("ATT_MODEL_UNKNOWN_FEATURES");
    expect(err.message).toContain("gas_price_gwei");
  });

  it("refuses a card whose feature count differs from the ONNX input width", async () => {
    const dir = copyModel(defaultModelDir());
    editCard(dir, (c) => {
      (c.features as string[]).pop();
    });
    const err = await refusal(dir);
    expect(err.code).toBe("ATT_MODEL_UNKNOWN_FEATURES");
    expect(err.message).toMatch(/45.*44|44.*45/s);
  });

  it("refuses duplicated and empty feature lists", async () => {
    const dup = copyModel(defaultModelDir());
    editCard(dup, (c) => {
      const f = c.features as string[];
      f[1] = f[0]!;
    });
    const e1 = await refusal(dup);
    expect(e1.code).toBe("ATT_MODEL_UNKNOWN_FEATURES");
    expect(e1.message).toContain("more than once");
    const empty = copyModel(defaultModelDir());
    editCard(empty, (c) => {
      c.features = [];
    });
    expect((await refusal(empty)).code).toBe("ATT_MODEL_UNKNOWN_FEATURES");
  });

  it("refuses a score transform other than abs_score_samples", async () => {
    const dir = copyModel(defaultModelDir());
    editCard(dir, (c) => {
      c.score_transform = "decision_function";
    });
    const err = await refusal(dir);
    expect(err.code).toBe("ATT_MODEL_UNSUPPORTED_TRANSFORM");
    expect(err.message).toContain('"decision_function"');
  });

  it("refuses an overriding threshold outside [0, 1] for an anomaly score (ATT_MODEL_THRESHOLD is checked against the card's score kind)", async () => {
    const err = await loadModel(defaultModelDir(), { threshold: 1.5 }).then(
      async (m) => {
        await m.close();
        throw new Error("accepted");
      },
      (e: ModelError) => e,
    );
    expect(err.code).toBe("ATT_MODEL_INVALID_CARD");
    expect(err.message).toContain("Got: ATT_MODEL_THRESHOLD=1.5");
  });

  it("refuses an unknown card format", async () => {
    const dir = copyModel(defaultModelDir());
    editCard(dir, (c) => {
      c.format = "att-model/3";
    });
    expect((await refusal(dir)).code).toBe("ATT_MODEL_UNSUPPORTED_FORMAT");
  });

  it("refuses an ONNX opset it was not built for, and a card that disagrees with the file's opsets", async () => {
    const dir = copyModel(defaultModelDir());
    const bytes = readFileSync(join(dir, "model.onnx"));
    // OperatorSetIdProto { domain: "ai.onnx.ml", version: 3 } → version 9
    const needle = Buffer.concat([
      Buffer.from([0x0a, 10]),
      Buffer.from("ai.onnx.ml"),
      Buffer.from([0x10, 3]),
    ]);
    const at = bytes.indexOf(needle);
    expect(at).toBeGreaterThan(0);
    bytes[at + needle.length - 1] = 9;
    writeFileSync(join(dir, "model.onnx"), bytes);
    rehash(dir, "model.onnx");
    const mismatch = await refusal(dir);
    expect(mismatch.code).toBe("ATT_MODEL_UNSUPPORTED_ONNX");
    expect(mismatch.message).toContain("opsets differ");
    editCard(dir, (c) => {
      (c.onnx as { opsets: Record<string, number> }).opsets["ai.onnx.ml"] = 9;
    });
    const unsupported = await refusal(dir);
    expect(unsupported.code).toBe("ATT_MODEL_UNSUPPORTED_ONNX");
    expect(unsupported.message).toContain("opset ai.onnx.ml 9 is not supported");
  });

  it("refuses bytes that are not ONNX even when their hash matches", async () => {
    const dir = copyModel(defaultModelDir());
    writeFileSync(join(dir, "model.onnx"), Buffer.from("this is not a protobuf message, just text\n"));
    rehash(dir, "model.onnx");
    expect((await refusal(dir)).code).toBe("ATT_MODEL_UNSUPPORTED_ONNX");
  });

  it("refuses a card that promises an output the graph lacks", async () => {
    const dir = copyModel(defaultModelDir());
    editCard(dir, (c) => {
      (c.onnx as { outputs: string[] }).outputs.push("label");
    });
    const err = await refusal(dir);
    expect(err.code).toBe("ATT_MODEL_UNSUPPORTED_ONNX");
    expect(err.message).toContain("missing output label");
  });

  it.skipIf(!committedAttOriginalDir())(
    "refuses a folder whose model.onnx and forest.json are different models",
    async () => {
      const dir = copyModel(defaultModelDir());
      writeFileSync(join(dir, "model.onnx"), readFileSync(join(committedAttOriginalDir()!, "model.onnx")));
      rehash(dir, "model.onnx");
      const err = await refusal(dir);
      expect(err.code).toBe("ATT_MODEL_INVALID_FOREST");
      expect(err.message).toContain("not the same model");
    },
  );

  it("refuses a forest.json whose trees are not trees", async () => {
    const dir = copyModel(defaultModelDir());
    editJson(join(dir, "forest.json"), (f) => {
      const t = (f.trees as { left: number[] }[])[3]!;
      t.left[t.left.findIndex((c) => c > 0)] = 0; // a child pointing back to the root
    });
    rehash(dir, "forest.json");
    const err = await refusal(dir);
    expect(err.code).toBe("ATT_MODEL_INVALID_FOREST");
    expect(err.message).toContain("tree 3");
  });

  it("refuses a folder missing a listed file, and a card that is not JSON", async () => {
    const missing = copyModel(defaultModelDir());
    rmSync(join(missing, "forest.json"));
    expect((await refusal(missing)).code).toBe("ATT_MODEL_NOT_FOUND");
    const garbled = copyModel(defaultModelDir());
    writeFileSync(join(garbled, "model.json"), "{ not json");
    expect((await refusal(garbled)).code).toBe("ATT_MODEL_INVALID_CARD");
  });
});

describe("the registry", () => {
  it("resolves the DEFAULT folder when no version is given, and a named version", () => {
    const def = readFileSync(join(REGISTRY, "DEFAULT"), "utf8").trim();
    expect(resolveModelDir(REGISTRY)).toBe(join(REGISTRY, def));
    expect(resolveModelDir(REGISTRY, def)).toBe(join(REGISTRY, def));
  });

  it("names the versions that exist when asked for one that does not", () => {
    const def = readFileSync(join(REGISTRY, "DEFAULT"), "utf8").trim();
    expect(() => resolveModelDir(REGISTRY, "1234")).toThrow(
      expect.objectContaining({ code: "ATT_MODEL_NOT_FOUND", message: expect.stringContaining(def) }),
    );
    expect(() => resolveModelDir(REGISTRY, "../etc")).toThrow(
      expect.objectContaining({ code: "ATT_MODEL_NOT_FOUND" }),
    );
  });
});
