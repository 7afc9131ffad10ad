using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace MlGrid.EndToEnd.Tests;

[Collection(EndToEndCollection.Name)]
public sealed class TrainingJobTests(MlGridFixture fixture)
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(4);

    private MlGridApp App => fixture.App;

    private Mlflow Client => new(App.Gateway);

    [Fact]
    public async Task Csv_becomes_a_tracked_run_and_a_registered_model_that_serves_held_out_rows_as_well_as_its_validation_said()
    {
        var dataset = TestNames.Unique("churn");
        var experiment = TestNames.Unique("exp");
        var model = TestNames.Unique("churn-model");
        await Training.UploadAsync(App, dataset, Training.Csv(Training.Rows(2000, seed: 11)));
        var heldOut = Training.Rows(400, seed: 12);

        var submitted = await Training.SubmitAsync(App, new
        {
            experiment,
            dataset = $"{dataset}@1",
            task = "binary-classification",
            label = "label",
            trainer = "lightgbm",
            hyperparameters = new { numberOfIterations = 60, numberOfLeaves = 8 },
            validationFraction = 0.2,
            registerAs = model,
        });
        var id = submitted.GetProperty("id").GetString()!;
        Assert.Equal("Queued", submitted.GetProperty("status").GetString());
        var runId = submitted.GetProperty("runId").GetString()!;

        var job = await Training.WaitForStatusAsync(App, id, "Succeeded", JobTimeout);
        Assert.Equal(100, job.GetProperty("percent").GetInt32());
        var attempt = Assert.Single(job.GetProperty("attempts").EnumerateArray());
        Assert.Equal("succeeded", attempt.GetProperty("outcome").GetString());
        Assert.False(string.IsNullOrEmpty(attempt.GetProperty("worker").GetString()));
        Assert.Equal(runId, job.GetProperty("runId").GetString());
        var version = job.GetProperty("modelVersion");
        Assert.Equal(model, version.GetProperty("name").GetString());
        Assert.Equal(1, version.GetProperty("version").GetInt32());
        var metrics = job.GetProperty("metrics");
        var validationAccuracy = metrics.GetProperty("accuracy").GetDouble();
        Assert.True(metrics.GetProperty("auc").GetDouble() > 0.9, $"AUC {metrics.GetProperty("auc")}: the rule is learnable");

        // The MLflow run: finished, with the params, the validation metrics and the dataset it used.
        var run = (await Client.OkGetAsync($"runs/get?run_id={runId}")).GetProperty("run");
        Assert.Equal("FINISHED", run.GetProperty("info").GetProperty("status").GetString());
        var runMetrics = run.GetProperty("data").GetProperty("metrics").EnumerateArray()
            .ToDictionary(m => m.GetProperty("key").GetString()!, m => m.GetProperty("value").GetDouble());
        Assert.Equal(validationAccuracy, runMetrics["accuracy"], 9);
        foreach (var key in new[] { "auc", "f1", "log_loss" })
        {
            Assert.True(runMetrics.ContainsKey(key), $"run lacks metric {key}");
        }

        // LightGBM's per-iteration validation AUC is the metric's history, ending at the final value at iteration 60.
        var history = (await Client.OkGetAsync($"metrics/get-history?run_id={runId}&metric_key=auc")).GetProperty("metrics").EnumerateArray()
            .Select(m => (Step: m.GetProperty("step").GetInt64(), Value: m.GetProperty("value").GetDouble())).OrderBy(m => m.Step).ToList();
        Assert.True(history.Count >= 30, $"{history.Count} points of auc history");
        Assert.Equal(60, history[^1].Step);
        Assert.Equal(runMetrics["auc"], history[^1].Value, 9);
        Assert.True(history[0].Value <= history[^1].Value + 0.01);

        var runParams = run.GetProperty("data").GetProperty("params").EnumerateArray()
            .ToDictionary(p => p.GetProperty("key").GetString()!, p => p.GetProperty("value").GetString());
        Assert.Equal("lightgbm", runParams["trainer"]);
        Assert.Equal("60", runParams["numberOfIterations"]);
        Assert.Equal($"{dataset}@1", runParams["dataset"]);
        var runTags = run.GetProperty("data").GetProperty("tags").EnumerateArray()
            .ToDictionary(t => t.GetProperty("key").GetString()!, t => t.GetProperty("value").GetString());
        Assert.Equal(id, runTags["mlgrid.training-job"]);
        var experimentId = run.GetProperty("info").GetProperty("experiment_id").GetString();
        Assert.Equal(experiment, (await Client.OkGetAsync($"experiments/get?experiment_id={experimentId}")).GetProperty("experiment").GetProperty("name").GetString());
        var artifacts = await Client.OkGetAsync($"artifacts/list?run_id={runId}&path=model");
        Assert.Contains(artifacts.GetProperty("files").EnumerateArray(), f => f.GetProperty("path").GetString() == "model/model.onnx");

        // The model version: deployable, one input per feature column, lineage to the run, the dataset version and the job.
        var registered = await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/models/{model}/versions/1");
        Assert.True(registered.GetProperty("deployable").GetBoolean());
        Assert.Equal(runId, registered.GetProperty("runId").GetString());
        Assert.Equal(["plan", "spend", "tenure"], registered.GetProperty("inputs").EnumerateArray().Select(i => i.GetProperty("name").GetString()!).Order().ToArray());
        var versionTags = registered.GetProperty("tags");
        Assert.Equal(id, versionTags.GetProperty("mlgrid.training-job").GetString());
        Assert.Equal($"{dataset}@1", versionTags.GetProperty("mlgrid.dataset").GetString());
        Assert.Equal(validationAccuracy, double.Parse(versionTags.GetProperty("mlgrid.metric.accuracy").GetString()!, System.Globalization.CultureInfo.InvariantCulture), 9);
        var lineage = await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/datasets/{dataset}/versions/1/lineage");
        Assert.Contains(lineage.GetProperty("runs").EnumerateArray(), r => r.GetProperty("runId").GetString() == runId);
        Assert.Contains(lineage.GetProperty("modelVersions").EnumerateArray(), m => m.GetProperty("name").GetString() == model && m.GetProperty("version").GetInt32() == 1);

        // Deployed and called through the gateway, it scores rows it never saw about as well as validation said.
        var endpoint = TestNames.Unique("churn-ep");
        await App.DeployAsync(endpoint, new { deployments = new[] { new { name = "main", model, version = "1" } } });
        var accuracy = await Training.AccuracyThroughGatewayAsync(App, endpoint, heldOut);
        Assert.True(accuracy >= validationAccuracy - 0.05, $"Held-out accuracy {accuracy:P1} is well below the validation accuracy {validationAccuracy:P1}.");
        Assert.True(accuracy > 0.85, $"Held-out accuracy {accuracy:P1}");

        // The log tells the story, and following a finished job's log ends by itself.
        var log = await App.Gateway.GetStringAsync($"/api/v1/training-jobs/{id}/logs?follow=true");
        Assert.Contains("Queued:", log, StringComparison.Ordinal);
        Assert.Contains("Validation metrics", log, StringComparison.Ordinal);
        Assert.Contains("ML.NET: ", log, StringComparison.Ordinal);
        Assert.Contains($"Registered as model '{model}' version 1", log, StringComparison.Ordinal);
        using var tail = await App.Gateway.GetAsync($"/api/v1/training-jobs/{id}/logs?offset=0");
        var next = long.Parse(tail.Headers.GetValues("x-mlgrid-log-next-offset").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(log), next);
        Assert.Equal("", await App.Gateway.GetStringAsync($"/api/v1/training-jobs/{id}/logs?offset={next}"));

        // Listed, and found by its filters.
        var byExperiment = await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/training-jobs?experiment={experiment}");
        Assert.Equal(id, Assert.Single(byExperiment.EnumerateArray()).GetProperty("id").GetString());
        var byModel = await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/training-jobs?model={model}&status=Succeeded&dataset={dataset}");
        Assert.Equal(id, Assert.Single(byModel.EnumerateArray()).GetProperty("id").GetString());
        Assert.Empty((await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/training-jobs?experiment={experiment}&status=Failed")).EnumerateArray());
    }

    [Fact]
    public async Task A_parquet_dataset_version_trains_into_a_model_with_the_same_inputs()
    {
        var dataset = TestNames.Unique("pq-churn");
        var model = TestNames.Unique("pq-model");
        using (var content = new ByteArrayContent(await Training.ParquetAsync(Training.Rows(1000, seed: 41))))
        {
            content.Headers.ContentType = new("application/vnd.apache.parquet");
            using var upload = await App.Gateway.PostAsync($"/api/v1/datasets/{dataset}/versions", content);
            Assert.True(upload.StatusCode == HttpStatusCode.Created, await upload.Content.ReadAsStringAsync());
        }

        var submitted = await Training.SubmitAsync(App, new
        {
            experiment = TestNames.Unique("exp"),
            dataset,
            task = "binary-classification",
            label = "label",
            trainer = "lbfgs",
            registerAs = model,
        });
        var job = await Training.WaitForStatusAsync(App, submitted.GetProperty("id").GetString()!, "Succeeded", JobTimeout);
        Assert.True(job.GetProperty("metrics").GetProperty("accuracy").GetDouble() > 0.85, job.GetProperty("metrics").ToString());
        var registered = await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/models/{model}/versions/1");
        Assert.Equal(["plan", "spend", "tenure"], registered.GetProperty("inputs").EnumerateArray().Select(i => i.GetProperty("name").GetString()!).Order().ToArray());
        var log = await App.Gateway.GetStringAsync($"/api/v1/training-jobs/{job.GetProperty("id").GetString()}/logs");
        Assert.Contains("(parquet, 1000 rows", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_specs_are_refused_with_every_problem_and_nothing_is_queued()
    {
        var dataset = TestNames.Unique("bad");
        var experiment = TestNames.Unique("exp");
        await Training.UploadAsync(App, dataset, Training.Csv(Training.Rows(50, seed: 3)));

        async Task<List<string>> RefusedAsync(object spec)
        {
            using var response = await App.Gateway.PostAsJsonAsync("/api/v1/training-jobs", spec);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {body}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = JsonDocument.Parse(body).RootElement;
            return [.. problem.GetProperty("errors").EnumerateArray().Select(e => e.GetString()!)];
        }

        var unknownVersion = await RefusedAsync(new { experiment, dataset = $"{dataset}@9", task = "binary-classification", label = "label", trainer = "sdca" });
        Assert.Contains(unknownVersion, p => p.Contains("has no version 9", StringComparison.Ordinal));
        var unknownDataset = await RefusedAsync(new { experiment, dataset = "no-such-dataset", task = "binary-classification", label = "label", trainer = "sdca" });
        Assert.Contains(unknownDataset, p => p.Contains("does not exist", StringComparison.Ordinal));

        // Several mistakes at once are all reported.
        var many = await RefusedAsync(new
        {
            experiment,
            dataset = $"{dataset}@1",
            task = "binary-classification",
            label = "churned",
            trainer = "lightgbm",
            hyperparameters = new { numberOfLeaves = 1, depth = 3 },
        });
        Assert.Contains(many, p => p.Contains("label 'churned' is not a column", StringComparison.Ordinal));
        Assert.Contains(many, p => p.Contains("no hyperparameter 'depth'", StringComparison.Ordinal));
        Assert.Contains(many, p => p.Contains("'numberOfLeaves' is 1", StringComparison.Ordinal));

        var trainer = await RefusedAsync(new { experiment, dataset = $"{dataset}@1", task = "binary-classification", label = "label", trainer = "xgboost" });
        Assert.Contains(trainer, p => p.Contains("Unknown trainer 'xgboost'", StringComparison.Ordinal));
        var wrongTask = await RefusedAsync(new { experiment, dataset = $"{dataset}@1", task = "regression", label = "plan", trainer = "lbfgs" });
        Assert.Contains(wrongTask, p => p.Contains("does not do regression", StringComparison.Ordinal));
        Assert.Contains(wrongTask, p => p.Contains("needs a numeric label", StringComparison.Ordinal));
        var types = await RefusedAsync(new { experiment, dataset = 3, task = "binary-classification", label = "label", trainer = "sdca", hyperparameters = new { l2Regularization = "high" }, device = "tpu", registerAs = "bad name" });
        Assert.Contains(types, p => p.Contains("'dataset' must be a string", StringComparison.Ordinal));
        Assert.Contains(types, p => p.Contains("'l2Regularization' must be a number", StringComparison.Ordinal));
        Assert.Contains(types, p => p.Contains("'device' is 'tpu'", StringComparison.Ordinal));
        Assert.Contains(types, p => p.Contains("not a valid model name", StringComparison.Ordinal));
        var sweep = await RefusedAsync(new
        {
            experiment,
            dataset = $"{dataset}@1",
            task = "binary-classification",
            label = "label",
            trainer = "fasttree",
            sweep = new { strategy = "grid", trials = 4, parallel = 2, metric = "rmse", space = new { numberOfTrees = new { min = 10, max = 50 }, learningRate = new[] { 0.1, 7.0 } } },
        });
        Assert.Contains(sweep, p => p.Contains("not 'rmse'", StringComparison.Ordinal));
        Assert.Contains(sweep, p => p.Contains("grid sweep needs a list of values for 'numberOfTrees'", StringComparison.Ordinal));
        Assert.Contains(sweep, p => p.Contains("'learningRate' is 7", StringComparison.Ordinal));

        Assert.Empty((await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/training-jobs?experiment={experiment}")).EnumerateArray());
        var (_, experiments) = await Client.GetAsync($"experiments/get-by-name?experiment_name={experiment}");
        Assert.Equal("RESOURCE_DOES_NOT_EXIST", experiments.GetProperty("error_code").GetString());

        using var missing = await App.Gateway.GetAsync("/api/v1/training-jobs/job-000000000000");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var badStatus = await App.Gateway.GetAsync("/api/v1/training-jobs?status=Done");
        Assert.Equal(HttpStatusCode.BadRequest, badStatus.StatusCode);
    }

    [Fact]
    public async Task Cancelling_a_running_job_stops_its_training_within_seconds()
    {
        var dataset = TestNames.Unique("long");
        await Training.UploadAsync(App, dataset, Training.Csv(Training.Rows(3000, seed: 5)));
        var submitted = await Training.SubmitAsync(App, new
        {
            experiment = TestNames.Unique("exp"),
            dataset = $"{dataset}@1",
            task = "binary-classification",
            label = "label",
            trainer = "fasttree",
            hyperparameters = new { numberOfTrees = 100000, numberOfLeaves = 64, minimumExampleCountPerLeaf = 1 },
        });
        var id = submitted.GetProperty("id").GetString()!;
        await Training.WaitForAsync(App, id, j => j.GetProperty("phase").GetString() == "training", JobTimeout, "expected the training phase");

        using var cancel = await App.Gateway.PostAsync($"/api/v1/training-jobs/{id}/cancel", null);
        var body = await cancel.Content.ReadAsStringAsync();
        Assert.True(cancel.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal("Cancelled", JsonDocument.Parse(body).RootElement.GetProperty("status").GetString());

        // The worker stops training (it says so in the log) within seconds, and the run is marked killed.
        var stopped = DateTime.UtcNow;
        await App.WaitUntilAsync(async () => (await App.Gateway.GetStringAsync($"/api/v1/training-jobs/{id}/logs")).Contains("Stopped: the job was cancelled.", StringComparison.Ordinal),
            TimeSpan.FromSeconds(20), () => "The worker did not stop the cancelled training.");
        Assert.True(DateTime.UtcNow - stopped < TimeSpan.FromSeconds(20));
        var job = await Training.GetAsync(App, id);
        Assert.Equal("Cancelled", job.GetProperty("status").GetString());
        Assert.Equal("cancelled", Assert.Single(job.GetProperty("attempts").EnumerateArray()).GetProperty("outcome").GetString());
        var run = (await Client.OkGetAsync($"runs/get?run_id={job.GetProperty("runId").GetString()}")).GetProperty("run");
        Assert.Equal("KILLED", run.GetProperty("info").GetProperty("status").GetString());

        using var again = await App.Gateway.PostAsync($"/api/v1/training-jobs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task A_gpu_job_waits_for_a_gpu_worker_and_a_queued_job_cancels_at_once()
    {
        var workers = await App.Gateway.GetFromJsonAsync<JsonElement>("/api/v1/workers");
        var anyGpu = workers.EnumerateArray().Any(w => w.GetProperty("hasGpu").GetBoolean());
        var dataset = TestNames.Unique("gpu");
        await Training.UploadAsync(App, dataset, Training.Csv(Training.Rows(100, seed: 9)));
        var submitted = await Training.SubmitAsync(App, new
        {
            experiment = TestNames.Unique("exp"),
            dataset,
            task = "binary-classification",
            label = "label",
            trainer = "sdca",
            device = "gpu",
        });
        var id = submitted.GetProperty("id").GetString()!;
        Assert.Equal("gpu", submitted.GetProperty("spec").GetProperty("device").GetString());
        Assert.Equal(1, submitted.GetProperty("spec").GetProperty("datasetVersion").GetInt32());
        if (!anyGpu)
        {
            // Several scheduler passes go by and the CPU workers with free slots are not used.
            await Task.Delay(TimeSpan.FromSeconds(4));
            var waiting = await Training.GetAsync(App, id);
            Assert.Equal("Queued", waiting.GetProperty("status").GetString());
            Assert.Empty(waiting.GetProperty("attempts").EnumerateArray());
            Assert.Contains("no GPU worker", waiting.GetProperty("phase").GetString(), StringComparison.Ordinal);
        }

        if ((await Training.GetAsync(App, id)).GetProperty("status").GetString() == "Queued")
        {
            using var cancel = await App.Gateway.PostAsync($"/api/v1/training-jobs/{id}/cancel", null);
            Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
            Assert.Equal("Cancelled", (await Training.GetAsync(App, id)).GetProperty("status").GetString());
        }
    }

    [Fact]
    public async Task A_sweep_runs_its_trials_as_child_runs_and_registers_only_the_best()
    {
        var dataset = TestNames.Unique("sweep");
        var model = TestNames.Unique("swept");
        await Training.UploadAsync(App, dataset, Training.Csv(Training.Rows(1200, seed: 21)));
        var submitted = await Training.SubmitAsync(App, new
        {
            experiment = TestNames.Unique("exp"),
            dataset = $"{dataset}@1",
            task = "binary-classification",
            label = "label",
            trainer = "lightgbm",
            hyperparameters = new { numberOfIterations = 30 },
            registerAs = model,
            sweep = new
            {
                strategy = "grid",
                parallel = 2,
                metric = "log_loss",
                goal = "minimize",
                space = new { numberOfLeaves = new[] { 2, 16 }, learningRate = new[] { 0.02, 0.3 } },
            },
        });
        var id = submitted.GetProperty("id").GetString()!;
        Assert.Equal(4, submitted.GetProperty("trials").GetArrayLength());
        var parentRun = submitted.GetProperty("runId").GetString()!;

        var job = await Training.WaitForStatusAsync(App, id, "Succeeded", JobTimeout);
        var trials = job.GetProperty("trials").EnumerateArray().ToList();
        Assert.Equal(4, trials.Count);
        Assert.All(trials, t => Assert.Equal("Succeeded", t.GetProperty("status").GetString()));
        var best = trials.MinBy(t => t.GetProperty("metric").GetDouble());
        Assert.Equal(best.GetProperty("number").GetInt32(), job.GetProperty("bestTrial").GetInt32());
        Assert.Equal(best.GetProperty("metric").GetDouble(), job.GetProperty("metrics").GetProperty("log_loss").GetDouble(), 9);
        Assert.Equal(4, trials.Select(t => (t.GetProperty("hyperparameters").GetProperty("numberOfLeaves").GetDouble(), t.GetProperty("hyperparameters").GetProperty("learningRate").GetDouble())).Distinct().Count());

        // Each trial is a child run of the sweep's run; trials are jobs of their own, listed under the parent.
        foreach (var trial in trials)
        {
            var run = (await Client.OkGetAsync($"runs/get?run_id={trial.GetProperty("runId").GetString()}")).GetProperty("run");
            var tags = run.GetProperty("data").GetProperty("tags").EnumerateArray().ToDictionary(t => t.GetProperty("key").GetString()!, t => t.GetProperty("value").GetString());
            Assert.Equal(parentRun, tags["mlflow.parentRunId"]);
            Assert.Equal("FINISHED", run.GetProperty("info").GetProperty("status").GetString());
        }

        var children = await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/training-jobs?parent={id}");
        Assert.Equal(4, children.GetArrayLength());

        // Only the best is registered, made from the best trial's run.
        var versions = await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/models/{model}");
        Assert.Equal(1, versions.GetProperty("latestVersion").GetInt32());
        var registered = await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/models/{model}/versions/1");
        Assert.Equal(best.GetProperty("runId").GetString(), registered.GetProperty("runId").GetString());
        Assert.Equal(model, job.GetProperty("modelVersion").GetProperty("name").GetString());
        var parent = (await Client.OkGetAsync($"runs/get?run_id={parentRun}")).GetProperty("run");
        Assert.Equal("FINISHED", parent.GetProperty("info").GetProperty("status").GetString());
        Assert.Contains(parent.GetProperty("data").GetProperty("tags").EnumerateArray(),
            t => t.GetProperty("key").GetString() == "mlgrid.best-run-id" && t.GetProperty("value").GetString() == best.GetProperty("runId").GetString());
    }
}
