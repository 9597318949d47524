export { inspectModel, formatSummary, type ModelSummary } from "./inspect.js";
export { listModels, formatModelList, type ListedModel } from "./list.js";
export { scoreCsv, type ScoreCsvOptions, type ScoredLine } from "./score.js";
export { resolveTarget } from "./target.js";
export { resolveToolsDir, runModelTools } from "../python-tools.js";
