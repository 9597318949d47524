export { inspectModel, formatSummary } from "./inspect.js";
export { listModels, formatModelList } from "./list.js";
export { scoreCsv } from "./score.js";
export { resolveTarget } from "./target.js";
export { resolveToolsDir, runModelTools } from "../python-tools.js";
export { promoteModel, rollbackModel } from "./promote.js";
