import { buildWorkflowBundle } from '../temporal/workflow-bundle.js';

/** `npm run build:workflows`: the prebuilt workflow bundle the production worker loads. */
const file = await buildWorkflowBundle();
process.stdout.write(`workflow bundle written to ${file}\n`);
