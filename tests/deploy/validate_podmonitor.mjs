// Validates PodMonitor documents (JSON, one per argument) against the
// validators that @kubernetes-models/prometheus-operator generates from
// prometheus-operator's API types. Prints one line per document; exits 1 if
// any is invalid. Run with NODE_PATH unset: the module is resolved from
// scripts/deploy-tools.sh's npm dir via the absolute path in argv[2].
import { pathToFileURL } from "node:url";

const [modelsDir, ...docs] = process.argv.slice(2);
const { PodMonitor } = await import(
  pathToFileURL(`${modelsDir}/@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor.js`).href);
let failed = 0;
for (const text of docs) {
  const doc = JSON.parse(text);
  try {
    if (doc.apiVersion !== "monitoring.coreos.com/v1" || doc.kind !== "PodMonitor") {
      throw new Error(`not a monitoring.coreos.com/v1 PodMonitor: ${doc.apiVersion} ${doc.kind}`);
    }
    new PodMonitor(doc).validate();
    console.log(`valid ${doc.metadata?.name}`);
  } catch (e) {
    failed++;
    console.log(`invalid ${doc.metadata?.name}: ${e.message}`);
  }
}
process.exit(failed ? 1 : 0);
