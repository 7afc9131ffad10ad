using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace MlGrid.EndToEnd.Tests;

/// <summary>Training jobs survive what kills processes: a worker dying mid-training, and a restart of everything.</summary>
public sealed class TrainingResilienceTests
{
    private const string AdminKey = "training-admin-key-0123456789";
    private static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task A_worker_killed_mid_training_costs_an_attempt_the_job_finishes_on_another_and_a_restart_keeps_finished_and_queued_jobs()
    {
        var dataDirectory = MlGridApp.NewDataDirectory();
        string finishedId;
        string queuedId;
        string finishedBefore;
        bool anyGpu;
        await using (var app = await MlGridApp.StartAsync(dataDirectory, AdminKey))
        {
            await Training.UploadAsync(app, "resilient", Training.Csv(Training.Rows(6000, seed: 31)));
            var submitted = await Training.SubmitAsync(app, new
            {
                experiment = "resilience",
                dataset = "resilient@1",
                task = "binary-classification",
                label = "label",
                trainer = "fasttree",
                hyperparameters = new { numberOfTrees = 3000, numberOfLeaves = 32 },
                registerAs = "resilient-model",
            });
            finishedId = submitted.GetProperty("id").GetString()!;
            var running = await Training.WaitForAsync(app, finishedId, j => j.GetProperty("phase").GetString() == "training", JobTimeout, "expected the training phase");
            var victimWorker = running.GetProperty("worker").GetString()!;

            // Killed, not stopped: the worker never reports, so only the cluster can tell the job.
            var siloPort = int.Parse(victimWorker.Split('@')[0].Split(':')[^1], CultureInfo.InvariantCulture);
            Process.GetProcessById(MlGridApp.ProcessListeningOn(siloPort)).Kill(entireProcessTree: true);

            var retried = await Training.WaitForAsync(app, finishedId, j => j.GetProperty("attempts").GetArrayLength() == 2, JobTimeout, "expected a second attempt");
            var attempts = retried.GetProperty("attempts").EnumerateArray().ToList();
            Assert.Equal(victimWorker, attempts[0].GetProperty("worker").GetString());
            Assert.Contains(victimWorker, attempts[0].GetProperty("outcome").GetString(), StringComparison.Ordinal);
            Assert.NotEqual(victimWorker, attempts[1].GetProperty("worker").GetString());

            var finished = await Training.WaitForStatusAsync(app, finishedId, "Succeeded", JobTimeout);
            Assert.Equal("succeeded", finished.GetProperty("attempts")[1].GetProperty("outcome").GetString());
            Assert.Equal(1, finished.GetProperty("modelVersion").GetProperty("version").GetInt32());
            var log = await app.Gateway.GetStringAsync($"/api/v1/training-jobs/{finishedId}/logs");
            Assert.Contains("Queued for attempt 2", log, StringComparison.Ordinal);
            var audit = await app.Gateway.GetStringAsync("/api/v1/audit?action=training-job.retried");
            Assert.Contains(finishedId, audit, StringComparison.Ordinal);

            // A job that cannot start yet (no GPU worker here), to be kept queued across the restart.
            var workers = await app.Gateway.GetFromJsonAsync<JsonElement>("/api/v1/workers");
            anyGpu = workers.EnumerateArray().Any(w => w.GetProperty("hasGpu").GetBoolean());
            var queued = await Training.SubmitAsync(app, new { experiment = "resilience", dataset = "resilient@1", task = "binary-classification", label = "label", trainer = "sdca", device = "gpu" });
            queuedId = queued.GetProperty("id").GetString()!;
            finishedBefore = Comparable(await Training.GetAsync(app, finishedId));
        }

        await using (var app = await MlGridApp.StartAsync(dataDirectory, AdminKey))
        {
            Assert.Equal(finishedBefore, Comparable(await Training.GetAsync(app, finishedId)));
            var queued = await Training.GetAsync(app, queuedId);
            if (!anyGpu)
            {
                Assert.Equal("Queued", queued.GetProperty("status").GetString());
                using var cancel = await app.Gateway.PostAsync($"/api/v1/training-jobs/{queuedId}/cancel", null);
                Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
            }

            var listed = await app.Gateway.GetFromJsonAsync<JsonElement>("/api/v1/training-jobs?experiment=resilience");
            Assert.Equal([queuedId, finishedId], listed.EnumerateArray().Select(j => j.GetProperty("id").GetString()!).ToArray());

            // The registered model still deploys and serves.
            await app.DeployAsync("resilient", new { deployments = new[] { new { name = "main", model = "resilient-model", version = "1" } } });
            var accuracy = await Training.AccuracyThroughGatewayAsync(app, "resilient", Training.Rows(300, seed: 32));
            Assert.True(accuracy > 0.85, $"Held-out accuracy {accuracy:P1}");
        }
    }

    /// <summary>The job as shown, without the moment the answer was made: what must be identical after a restart.</summary>
    private static string Comparable(JsonElement job) => job.GetRawText();
}
