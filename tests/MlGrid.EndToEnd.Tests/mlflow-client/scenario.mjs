// A data scientist's tracking session against MlGrid through the npm MLflow client (mlflow@2.0.7), using the
// client's own API for every tracking call. Settings come from the environment:
//   MLGRID_URL         the gateway, e.g. http://127.0.0.1:5080
//   MLGRID_KEY         an API key with the editor role
//   MLGRID_EXPERIMENT  the experiment name to create (optional; a unique one otherwise)
// Prints one JSON summary as the last line of stdout; exits non-zero on the first failed check.
// The client itself console.logs every POST body it sends, so stdout holds those lines before the summary.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import MLflow from 'mlflow';
import enums from 'mlflow/enum.js';

const { ViewType, RunStatus, LifecycleStage } = enums;

const url = (process.env.MLGRID_URL ?? '').replace(/\/+$/, '');
const apiKey = process.env.MLGRID_KEY ?? '';
if (!url || !apiKey) {
  console.error('Set MLGRID_URL (the gateway) and MLGRID_KEY (an editor API key).');
  process.exit(2);
}

const experimentName = process.env.MLGRID_EXPERIMENT || `node-client-${randomUUID().slice(0, 8)}`;
const client = new MLflow({ endpoint: url, headers: { Authorization: `Bearer ${apiKey}` } });
const { Experiments, Runs, Metrics, Artifacts } = client;

let checks = 0;
/** One named group of assertions; a failure says which group failed. */
const check = (what, fn) => {
  try {
    fn();
  } catch (error) {
    throw new Error(`Check failed: ${what}: ${error.message}`, { cause: error });
  }
  checks++;
};

/** The client rejects with Error("Error: {status, statusText, data}"); this reads that JSON back. */
const failureOf = (error) => {
  const text = String(error?.message ?? error);
  try {
    return JSON.parse(text.slice(text.indexOf('{')));
  } catch {
    throw new Error(`Not an MLflow client error: ${text}`, { cause: error });
  }
};

const rejectsWith = async (promise, status, errorCode) => {
  let failure;
  await assert.rejects(promise, (error) => {
    failure = failureOf(error);
    return true;
  });
  check(`error ${status} ${errorCode}`, () => {
    assert.equal(failure.status, status, JSON.stringify(failure));
    assert.equal(failure.data?.error_code, errorCode, JSON.stringify(failure));
    assert.ok(failure.data?.message, JSON.stringify(failure));
  });
};

const keyValues = (list) => Object.fromEntries((list ?? []).map(({ key, value }) => [key, value]));

const start = Date.now() - 60_000;

// --- The experiment --------------------------------------------------------------------------------------------
const { experiment_id: experimentId } = await Experiments.create({ name: experimentName });
check('experiment id', () => assert.match(experimentId, /^\d+$/));

// Experiments.setExperimentTag in this package posts to ".../experimentsset-experiment-tag" (a missing slash), which
// MlGrid answers as an unknown call; the tag goes through the client's own request method with MLflow's path instead.
await rejectsWith(Experiments.setExperimentTag({ experiment_id: experimentId, key: 'team', value: 'fraud' }), 404, 'ENDPOINT_NOT_FOUND');
await Experiments.req('post', '/set-experiment-tag', { experiment_id: experimentId, key: 'team', value: 'fraud' });

let { experiment } = await Experiments.get({ experiment_id: experimentId });
check('experiment as created', () => {
  assert.equal(experiment.experiment_id, experimentId);
  assert.equal(experiment.name, experimentName);
  assert.equal(experiment.lifecycle_stage, LifecycleStage.active);
  assert.equal(experiment.artifact_location, `mlflow-artifacts:/${experimentId}`);
  assert.equal(keyValues(experiment.tags).team, 'fraud');
});

// --- Three training runs: two learning rates, one of them twice ------------------------------------------------
const trainings = [
  { name: 'baseline-lr-0.01', lr: '0.01', losses: [0.9, 0.62, 0.41, 0.3, 0.21] },
  { name: 'fast-lr-0.1', lr: '0.1', losses: [0.8, 0.55, 0.45, 0.38, 0.33] },
  { name: 'unlucky-lr-0.01', lr: '0.01', losses: [1.2, 1.0, 0.93, 0.88, 0.86] },
];

const runIds = [];
for (const [index, training] of trainings.entries()) {
  const { run } = await Runs.create({
    experiment_id: experimentId,
    user_id: 'ana',
    start_time: start + index * 1000,
    tags: [
      { key: 'mlflow.runName', value: training.name },
      { key: 'mlflow.source.type', value: 'LOCAL' },
      { key: 'model_family', value: 'gbdt' },
    ],
  });
  check('run as created', () => {
    assert.match(run.info.run_id, /^[0-9a-f]{32}$/);
    assert.equal(run.info.experiment_id, experimentId);
    assert.equal(run.info.run_name, training.name);
    assert.equal(run.info.user_id, 'ana');
    assert.equal(run.info.status, RunStatus.RUNNING);
    assert.equal(run.info.lifecycle_stage, LifecycleStage.active);
    assert.equal(Number(run.info.start_time), start + index * 1000);
    assert.equal(run.info.artifact_uri, `mlflow-artifacts:/${experimentId}/${run.info.run_id}/artifacts`);
    assert.equal(keyValues(run.data?.tags).model_family, 'gbdt');
  });
  const runId = run.info.run_id;
  runIds.push(runId);

  await Runs.logParameter({ run_id: runId, key: 'lr', value: training.lr });
  await Runs.logParameter({ run_id: runId, key: 'optimizer', value: 'adam' });

  // The loss one step at a time, as a training loop would; the accuracy afterwards in one batch with more params.
  for (const [step, value] of training.losses.entries()) {
    await Runs.logMetric({ run_id: runId, key: 'loss', value, timestamp: start + index * 1000 + step * 100, step });
  }
  await Runs.logBatch({
    run_id: runId,
    metrics: training.losses.map((loss, step) => ({
      key: 'accuracy', value: Number((1 - loss / 2).toFixed(3)), timestamp: start + index * 1000 + step * 100, step,
    })),
    params: [{ key: 'epochs', value: String(training.losses.length) }, { key: 'batch_size', value: '64' }],
    tags: [{ key: 'dataset', value: 'transactions-2026-10' }],
  });

  await Runs.setTag({ run_id: runId, key: 'stage', value: 'draft' });
  await Runs.deleteTag({ run_id: runId, key: 'stage' });
  await Runs.setTag({ run_id: runId, key: 'notes', value: `run ${index + 1} of ${trainings.length}` });
}

const [bestRunId, fastRunId, unluckyRunId] = runIds;

// --- Read the best run back ------------------------------------------------------------------------------------
let { run: best } = await Runs.get({ run_id: bestRunId });
check('latest metrics, params and tags', () => {
  const metrics = Object.fromEntries(best.data.metrics.map((m) => [m.key, m]));
  assert.deepEqual(Object.keys(metrics).sort(), ['accuracy', 'loss']);
  assert.equal(metrics.loss.value, 0.21);
  assert.equal(Number(metrics.loss.step), 4);
  assert.equal(Number(metrics.loss.timestamp), start + 400);
  assert.equal(metrics.accuracy.value, 0.895);
  assert.deepEqual(keyValues(best.data.params), { lr: '0.01', optimizer: 'adam', epochs: '5', batch_size: '64' });
  const tags = keyValues(best.data.tags);
  assert.equal(tags.model_family, 'gbdt');
  assert.equal(tags.dataset, 'transactions-2026-10');
  assert.equal(tags.notes, 'run 1 of 3');
  assert.equal(tags['mlflow.runName'], 'baseline-lr-0.01');
  assert.equal('stage' in tags, false, 'the deleted tag is gone');
});

const { metrics: lossHistory } = await Metrics.getHistory({ run_id: bestRunId, metric_key: 'loss' });
check('loss history in step order', () => {
  assert.deepEqual(lossHistory.map((m) => Number(m.step)), [0, 1, 2, 3, 4]);
  assert.deepEqual(lossHistory.map((m) => m.value), trainings[0].losses);
  assert.deepEqual(lossHistory.map((m) => Number(m.timestamp)), [0, 1, 2, 3, 4].map((s) => start + s * 100));
  assert.ok(lossHistory.every((m) => m.key === 'loss'));
});
const { metrics: accuracyHistory } = await Metrics.getHistory({ run_id: bestRunId, metric_key: 'accuracy' });
check('batched accuracy history', () => assert.deepEqual(accuracyHistory.map((m) => m.value), [0.55, 0.69, 0.795, 0.85, 0.895]));

// --- Compare runs ----------------------------------------------------------------------------------------------
const { runs: good } = await Runs.search({
  experiment_ids: [experimentId],
  filter: "metrics.loss < 0.5 and params.lr = '0.01'",
  run_view_type: ViewType.ACTIVE_ONLY,
});
check('filtered search', () => assert.deepEqual(good.map((r) => r.info.run_id), [bestRunId]));

const { runs: byLoss } = await Runs.search({ experiment_ids: [experimentId], order_by: ['metrics.loss ASC'], max_results: 10 });
check('search ordered by loss', () => assert.deepEqual(byLoss.map((r) => r.info.run_id), [bestRunId, fastRunId, unluckyRunId]));

const firstPage = await Runs.search({ experiment_ids: [experimentId], order_by: ['attributes.start_time DESC'], max_results: 2 });
const secondPage = await Runs.search({
  experiment_ids: [experimentId], order_by: ['attributes.start_time DESC'], max_results: 2, page_token: firstPage.next_page_token,
});
check('search pages', () => {
  assert.deepEqual(firstPage.runs.map((r) => r.info.run_id), [unluckyRunId, fastRunId]);
  assert.ok(firstPage.next_page_token);
  assert.deepEqual(secondPage.runs.map((r) => r.info.run_id), [bestRunId]);
  assert.equal(secondPage.next_page_token ?? null, null);
});

const { runs: tagged } = await Runs.search({ experiment_ids: [experimentId], filter: "tags.notes = 'run 2 of 3'" });
check('search by tag', () => assert.deepEqual(tagged.map((r) => r.info.run_id), [fastRunId]));

// --- Finish the runs -------------------------------------------------------------------------------------------
const end = Date.now();
for (const runId of runIds) {
  const status = runId === unluckyRunId ? RunStatus.FAILED : RunStatus.FINISHED;
  const { run_info: info } = await Runs.update({ run_id: runId, status, end_time: end });
  check('run finished', () => {
    assert.equal(info.run_id, runId);
    assert.equal(info.status, status);
    assert.equal(Number(info.end_time), end);
  });
}
({ run: best } = await Runs.get({ run_id: bestRunId }));
check('finished run reads back', () => {
  assert.equal(best.info.status, RunStatus.FINISHED);
  assert.equal(Number(best.info.end_time), end);
});
const { runs: finished } = await Runs.search({ experiment_ids: [experimentId], filter: "attributes.status = 'FINISHED'" });
check('search by status', () => assert.deepEqual(finished.map((r) => r.info.run_id).sort(), [bestRunId, fastRunId].sort()));

// --- Artifacts: the package cannot upload, so the file goes through MLflow's artifact proxy with plain fetch -------
const artifactRoot = `${url}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${bestRunId}/artifacts`;
const uploads = {
  'model/MLmodel': 'flavors:\n  onnx:\n    onnx_version: 1.17.0\n',
  'model/model.onnx': 'not really onnx, but bytes all the same',
  'confusion.json': JSON.stringify({ tp: 412, fp: 31, fn: 22, tn: 9535 }),
};
for (const [path, text] of Object.entries(uploads)) {
  const response = await fetch(`${artifactRoot}/${path}`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/octet-stream' },
    body: text,
  });
  check(`upload ${path}`, () => assert.equal(response.status, 200, `PUT ${path}: ${response.status}`));
}

const top = await Artifacts.list({ run_id: bestRunId });
check('artifacts at the run root', () => {
  assert.equal(top.root_uri, `mlflow-artifacts:/${experimentId}/${bestRunId}/artifacts`);
  const files = Object.fromEntries(top.files.map((f) => [f.path, f]));
  assert.deepEqual(Object.keys(files).sort(), ['confusion.json', 'model']);
  assert.equal(files.model.is_dir, true);
  assert.equal(files['confusion.json'].is_dir, false);
  assert.equal(Number(files['confusion.json'].file_size), Buffer.byteLength(uploads['confusion.json']));
});
const model = await Artifacts.list({ run_id: bestRunId, path: 'model' });
check('artifacts in a folder', () => {
  assert.deepEqual(model.files.map((f) => f.path).sort(), ['model/MLmodel', 'model/model.onnx']);
  assert.ok(model.files.every((f) => f.is_dir === false && Number(f.file_size) > 0));
});
const empty = await Artifacts.list({ run_id: fastRunId });
check('a run without artifacts lists none', () => assert.equal((empty.files ?? []).length, 0));

// --- Tidy up: rename the experiment, retire the unlucky run ---------------------------------------------------
const { experiments: listed } = await Experiments.list();
check('experiment listed', () => assert.ok(listed.some((e) => e.experiment_id === experimentId && e.name === experimentName)));

const renamed = `${experimentName}-final`;
await Experiments.update({ experiment_id: experimentId, new_name: renamed });
({ experiment } = await Experiments.get({ experiment_id: experimentId }));
check('experiment renamed', () => {
  assert.equal(experiment.name, renamed);
  assert.equal(keyValues(experiment.tags).team, 'fraud');
});

await Runs.delete({ run_id: unluckyRunId });
let { run: unlucky } = await Runs.get({ run_id: unluckyRunId });
check('run deleted', () => assert.equal(unlucky.info.lifecycle_stage, LifecycleStage.deleted));
const { runs: active } = await Runs.search({ experiment_ids: [experimentId], run_view_type: ViewType.ACTIVE_ONLY });
const { runs: deleted } = await Runs.search({ experiment_ids: [experimentId], run_view_type: ViewType.DELETED_ONLY });
check('deleted run searched by view', () => {
  assert.deepEqual(active.map((r) => r.info.run_id).sort(), [bestRunId, fastRunId].sort());
  assert.deepEqual(deleted.map((r) => r.info.run_id), [unluckyRunId]);
});
await Runs.restore({ run_id: unluckyRunId });
({ run: unlucky } = await Runs.get({ run_id: unluckyRunId }));
check('run restored', () => assert.equal(unlucky.info.lifecycle_stage, LifecycleStage.active));
await Runs.delete({ run_id: unluckyRunId });

// A scratch experiment deleted and restored, so the experiment the test reads back stays active.
const { experiment_id: scratchId } = await Experiments.create({ name: `${experimentName}-scratch` });
await Experiments.delete({ experiment_id: scratchId });
const { experiment: scratchDeleted } = await Experiments.get({ experiment_id: scratchId });
const { experiments: activeOnly } = await Experiments.list({ view_type: ViewType.ACTIVE_ONLY });
const { experiments: deletedOnly } = await Experiments.list({ view_type: ViewType.DELETED_ONLY });
check('deleted experiment listed by view', () => {
  assert.equal(scratchDeleted.lifecycle_stage, LifecycleStage.deleted);
  assert.equal(activeOnly.some((e) => e.experiment_id === scratchId), false);
  assert.equal(deletedOnly.some((e) => e.experiment_id === scratchId), true);
});
await Experiments.restore({ experiment_id: scratchId });
const { experiment: scratch } = await Experiments.get({ experiment_id: scratchId });
check('experiment restored', () => assert.equal(scratch.lifecycle_stage, LifecycleStage.active));

// --- Mistakes come back as errors the client raises -----------------------------------------------------------
await rejectsWith(Runs.get({ run_id: 'f'.repeat(32) }), 404, 'RESOURCE_DOES_NOT_EXIST');
await rejectsWith(Experiments.get({ experiment_id: '987654321' }), 404, 'RESOURCE_DOES_NOT_EXIST');
await rejectsWith(Experiments.create({ name: renamed }), 400, 'RESOURCE_ALREADY_EXISTS');
await rejectsWith(Runs.search({ experiment_ids: [experimentId], filter: 'metrics.loss <' }), 400, 'INVALID_PARAMETER_VALUE');
await rejectsWith(Runs.update({ run_id: bestRunId, status: 'DONE' }), 400, 'INVALID_PARAMETER_VALUE');
await rejectsWith(Runs.logParameter({ run_id: bestRunId, key: 'lr', value: '0.02' }), 400, 'INVALID_PARAMETER_VALUE');
await rejectsWith(Runs.logMetric({ run_id: bestRunId, key: 'loss', value: 0.1 }), 400, 'INVALID_PARAMETER_VALUE');
const stranger = new MLflow({ endpoint: url });
await rejectsWith(stranger.Runs.get({ run_id: bestRunId }), 401, 'UNAUTHENTICATED');

console.log(JSON.stringify({
  ok: true,
  checks,
  experiment_id: experimentId,
  experiment_name: renamed,
  run_ids: { best: bestRunId, fast: fastRunId, unlucky: unluckyRunId },
}));
