using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MlGrid.Testing;

namespace MlGrid.EndToEnd.Tests;

[Collection(EndToEndCollection.Name)]
public sealed class RestartTests
{
    private const string AdminKey = "restart-admin-key-0123456789";

    [Fact]
    public async Task After_a_full_restart_models_aliases_endpoints_datasets_and_mlflow_state_are_back_and_answer_identically()
    {
        var dataDirectory = MlGridApp.NewDataDirectory();
        var request = new { inputs = new[] { new { name = "input", datatype = "FP32", shape = new[] { 2, 3 }, data = new[] { 1f, 2f, 3f, 4f, 5f, 6f } } } };
        string before;
        string modelBefore;
        string predictorKey;
        long auditEntries;
        string datasetBefore;
        string experimentId;
        string runId;
        string runBefore;
        string historyBefore;
        string experimentBefore;
        string registeredBefore;
        string versionBefore;
        const string Csv = "x,y\n1,a\n2,b\n";

        // MLflow artifacts kept by the artifact proxy: a model file under a run's artifact root, and the root's listing.
        const string ArtifactRoot = "restart-exp/restart-run/artifacts";
        var modelArtifact = new byte[3 * 1024 * 1024 + 17];
        Random.Shared.NextBytes(modelArtifact);
        string artifactListingBefore;

        await using (var app = await MlGridApp.StartAsync(dataDirectory, AdminKey))
        {
            await app.UploadModelAsync("churn", TestModels.FixedShapeRelu());
            await app.UploadModelAsync("churn", TestModels.Linear());
            using var alias = await app.Gateway.PutAsJsonAsync("/api/v1/models/churn/aliases/champion", new { version = 2 });
            Assert.Equal(HttpStatusCode.OK, alias.StatusCode);
            await app.DeployAsync("churn", new { deployments = new[] { new { name = "blue", model = "churn", version = "champion", replicas = 2 } } });
            using var response = await app.InferAsync("churn", request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            before = ResponseOutputs(await response.Content.ReadAsStringAsync());
            modelBefore = await app.Gateway.GetStringAsync("/api/v1/models/churn");
            (_, predictorKey) = await app.CreateKeyAsync("predictor", endpoints: ["churn"]);
            using (var csv = new StringContent(Csv, System.Text.Encoding.UTF8, "text/csv"))
            using (var dataset = await app.Gateway.PostAsync("/api/v1/datasets/training/versions", csv))
            {
                Assert.Equal(HttpStatusCode.Created, dataset.StatusCode);
            }

            datasetBefore = await app.Gateway.GetStringAsync("/api/v1/datasets/training");

            // MLflow artifacts, before the restart.
            await MlflowArtifactTests.PutAsync(app.Gateway, $"{ArtifactRoot}/model/model.onnx", modelArtifact);
            await MlflowArtifactTests.PutAsync(app.Gateway, $"{ArtifactRoot}/metrics.json", "{\"auc\": 0.91}"u8.ToArray());
            await MlflowArtifactTests.PutAsync(app.Gateway, $"{ArtifactRoot}/onnx/model.onnx", TestModels.Linear());
            artifactListingBefore = await MlflowArtifactTests.ListAsync(app.Gateway, ArtifactRoot);

            // MLflow tracking, before the restart: an experiment, a run with params, tags, a metric history and a dataset input.
            var mlflow = new Mlflow(app.Gateway);
            experimentId = await mlflow.CreateExperimentAsync("restart-tracking");
            var run = await mlflow.CreateRunAsync(experimentId, new { run_name = "survivor" });
            runId = run.GetProperty("info").GetProperty("run_id").GetString()!;
            await mlflow.OkAsync("runs/log-batch", new
            {
                run_id = runId,
                metrics = Enumerable.Range(0, 500).Select(step => new { key = "loss", value = 1.0 / (step + 1), timestamp = 1000 + step, step }).ToArray(),
                @params = new[] { new { key = "lr", value = "0.01" } },
                tags = new[] { new { key = "team", value = "risk" } },
            });
            await mlflow.OkAsync("runs/log-metric", new { run_id = runId, key = "auc", value = 0.91, timestamp = 5000, step = 1 });
            await mlflow.OkAsync("runs/log-inputs", new { run_id = runId, datasets = new[] { new { dataset = new { name = "training", digest = "00000000", source_type = "http", source = "/api/v1/datasets/training/versions/1" } } } });
            await mlflow.OkAsync("runs/update", new { run_id = runId, status = "FINISHED", end_time = 6000 });
            runBefore = (await mlflow.OkGetAsync($"runs/get?run_id={runId}")).GetRawText();
            historyBefore = (await mlflow.OkGetAsync($"metrics/get-history?run_id={runId}&metric_key=loss")).GetRawText();
            experimentBefore = (await mlflow.OkGetAsync($"experiments/get?experiment_id={experimentId}")).GetRawText();

            // MLflow's model registry, before the restart: a registered model with an ONNX version (the file stored above), staged and aliased.
            await mlflow.OkAsync("registered-models/create", new { name = "restart-registry", tags = new[] { new { key = "team", value = "risk" } }, description = "kept" });
            await mlflow.OkAsync("model-versions/create", new { name = "restart-registry", source = $"mlflow-artifacts:/{ArtifactRoot}/onnx", run_id = runId });
            await mlflow.OkAsync("model-versions/transition-stage", new { name = "restart-registry", version = "1", stage = "Staging", archive_existing_versions = false });
            await mlflow.OkAsync("registered-models/alias", new { name = "restart-registry", alias = "candidate", version = "1" });
            registeredBefore = (await mlflow.OkGetAsync("registered-models/get?name=restart-registry")).GetRawText();
            versionBefore = (await mlflow.OkGetAsync("model-versions/get?name=restart-registry&version=1")).GetRawText();

            auditEntries = await VerifiedAuditEntriesAsync(app);
        }

        await using (var app = await MlGridApp.StartAsync(dataDirectory, AdminKey))
        {
            Assert.Equal(modelBefore, await app.Gateway.GetStringAsync("/api/v1/models/churn"));
            var view = await app.WaitForReadyAsync("churn");
            Assert.Equal(2, view.GetProperty("deployments")[0].GetProperty("modelVersion").GetInt32());
            Assert.Equal(1, view.GetProperty("generation").GetInt64());

            using var response = await app.InferAsync("churn", request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(before, ResponseOutputs(await response.Content.ReadAsStringAsync()));

            Assert.Equal(datasetBefore, await app.Gateway.GetStringAsync("/api/v1/datasets/training"));
            Assert.Equal(System.Text.Encoding.UTF8.GetBytes(Csv), await app.Gateway.GetByteArrayAsync("/api/v1/datasets/training/versions/1/content"));

            // MLflow artifacts, after the restart: the same listing and the same bytes.
            Assert.Equal(artifactListingBefore, await MlflowArtifactTests.ListAsync(app.Gateway, ArtifactRoot));
            Assert.Equal(modelArtifact, await app.Gateway.GetByteArrayAsync($"{MlflowArtifactTests.Artifacts}/{ArtifactRoot}/model/model.onnx"));

            // MLflow tracking, after the restart: the same experiment, run and history, and the run can log on.
            var mlflowAfter = new Mlflow(app.Gateway);
            Assert.Equal(experimentBefore, (await mlflowAfter.OkGetAsync($"experiments/get?experiment_id={experimentId}")).GetRawText());
            Assert.Equal(runBefore, (await mlflowAfter.OkGetAsync($"runs/get?run_id={runId}")).GetRawText());
            Assert.Equal(historyBefore, (await mlflowAfter.OkGetAsync($"metrics/get-history?run_id={runId}&metric_key=loss")).GetRawText());
            var lineage = JsonDocument.Parse(await app.Gateway.GetStringAsync("/api/v1/datasets/training/versions/1/lineage")).RootElement;
            Assert.Equal(runId, Assert.Single(lineage.GetProperty("runs").EnumerateArray()).GetProperty("runId").GetString());
            var madeFrom = Assert.Single(lineage.GetProperty("modelVersions").EnumerateArray());
            Assert.Equal("restart-registry", madeFrom.GetProperty("name").GetString());

            // MLflow's model registry, after the restart: the same model and version, and numbering goes on.
            Assert.Equal(registeredBefore, (await mlflowAfter.OkGetAsync("registered-models/get?name=restart-registry")).GetRawText());
            Assert.Equal(versionBefore, (await mlflowAfter.OkGetAsync("model-versions/get?name=restart-registry&version=1")).GetRawText());
            var secondVersion = await mlflowAfter.OkAsync("model-versions/create", new { name = "restart-registry", source = $"mlflow-artifacts:/{ArtifactRoot}/onnx" });
            Assert.Equal("2", secondVersion.GetProperty("model_version").GetProperty("version").GetString());
            Mlflow.AssertError(await mlflowAfter.PostAsync("experiments/create", new { name = "restart-tracking" }), HttpStatusCode.BadRequest, "RESOURCE_ALREADY_EXISTS");
            await mlflowAfter.OkAsync("runs/log-metric", new { run_id = runId, key = "loss", value = 0.0001, timestamp = 7000, step = 500 });
            var history = await mlflowAfter.OkGetAsync($"metrics/get-history?run_id={runId}&metric_key=loss");
            Assert.Equal(Enumerable.Range(0, 501).Select(s => (long)s), history.Items("metrics").Select(m => m.GetProperty("step").GetInt64()));
            var next = await mlflowAfter.CreateExperimentAsync("restart-tracking-2");
            Assert.True(long.Parse(next) > long.Parse(experimentId), $"experiment ids went backwards: {experimentId} then {next}");

            // Keys and the audit trail survive too: the key still works, and the chain goes on from where it stopped.
            using var predictor = app.WithKey(predictorKey);
            await app.WaitUntilAsync(async () =>
            {
                using var keyed = await predictor.PostAsJsonAsync("/v2/models/churn/infer", request);
                return keyed.StatusCode == HttpStatusCode.OK;
            }, TimeSpan.FromSeconds(10), () => "The predictor key created before the restart is not accepted after it.");
            using (var alias = await app.Gateway.PutAsJsonAsync("/api/v1/models/churn/aliases/champion", new { version = 2 }))
            {
                Assert.Equal(HttpStatusCode.OK, alias.StatusCode);
            }

            Assert.True(await VerifiedAuditEntriesAsync(app) > auditEntries);
        }
    }

    private static async Task<long> VerifiedAuditEntriesAsync(MlGridApp app)
    {
        using var verify = await app.Gateway.GetAsync("/api/v1/audit/verify");
        var body = await verify.Content.ReadAsStringAsync();
        Assert.True(verify.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("entries").GetInt64();
    }

    private static string ResponseOutputs(string body) => JsonDocument.Parse(body).RootElement.GetProperty("outputs").GetRawText();
}
