using System.Net;
using System.Text;
using System.Text.Json;

namespace MlGrid.EndToEnd.Tests;

/// <summary>
/// MLflow's tracking API over the real AppHost, call by call as MLflow's REST API documents it: request fields,
/// answer shapes, status codes and error codes.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class MlflowTrackingTests(MlGridFixture fixture)
{
    private Mlflow Client => new(fixture.App.Gateway);

    [Fact]
    public async Task Experiments_are_created_read_renamed_tagged_deleted_and_restored()
    {
        var name = TestNames.Unique("exp");
        var created = await Client.OkAsync("experiments/create", new { name, tags = new[] { new { key = "team", value = "risk" } } });
        var id = created.GetProperty("experiment_id").GetString()!;
        Assert.True(long.TryParse(id, out _), id);

        var experiment = (await Client.OkGetAsync($"experiments/get?experiment_id={id}")).GetProperty("experiment");
        Assert.Equal(id, experiment.GetProperty("experiment_id").GetString());
        Assert.Equal(name, experiment.GetProperty("name").GetString());
        Assert.Equal($"mlflow-artifacts:/{id}", experiment.GetProperty("artifact_location").GetString());
        Assert.Equal("active", experiment.GetProperty("lifecycle_stage").GetString());
        Assert.Equal(JsonValueKind.Number, experiment.GetProperty("creation_time").ValueKind);
        Assert.Equal(JsonValueKind.Number, experiment.GetProperty("last_update_time").ValueKind);
        Assert.Equal("risk", experiment.KeyValues("tags")["team"]);

        var byName = (await Client.OkGetAsync($"experiments/get-by-name?experiment_name={name}")).GetProperty("experiment");
        Assert.Equal(id, byName.GetProperty("experiment_id").GetString());

        Mlflow.AssertError(await Client.PostAsync("experiments/create", new { name }), HttpStatusCode.BadRequest, "RESOURCE_ALREADY_EXISTS", name);
        Mlflow.AssertError(await Client.PostAsync("experiments/create", new { name = "" }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE");
        Mlflow.AssertError(await Client.GetAsync("experiments/get?experiment_id=987654321"), HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST");
        Mlflow.AssertError(await Client.GetAsync("experiments/get"), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", "experiment_id");
        Mlflow.AssertError(await Client.GetAsync($"experiments/get-by-name?experiment_name={name}-missing"), HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST");

        var renamed = name + "-v2";
        await Client.OkAsync("experiments/update", new { experiment_id = id, new_name = renamed });
        await Client.OkAsync("experiments/set-experiment-tag", new { experiment_id = id, key = "stage", value = "dev" });
        experiment = (await Client.OkGetAsync($"experiments/get-by-name?experiment_name={renamed}")).GetProperty("experiment");
        Assert.Equal("dev", experiment.KeyValues("tags")["stage"]);
        Mlflow.AssertError(await Client.GetAsync($"experiments/get-by-name?experiment_name={name}"), HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST");

        var run = await Client.CreateRunAsync(id);
        await Client.OkAsync("experiments/delete", new { experiment_id = id });
        experiment = (await Client.OkGetAsync($"experiments/get?experiment_id={id}")).GetProperty("experiment");
        Assert.Equal("deleted", experiment.GetProperty("lifecycle_stage").GetString());
        var runId = run.GetProperty("info").GetProperty("run_id").GetString()!;
        Assert.Equal("deleted", (await Client.OkGetAsync($"runs/get?run_id={runId}")).GetProperty("run").GetProperty("info").GetProperty("lifecycle_stage").GetString());
        Mlflow.AssertError(await Client.PostAsync("runs/create", new { experiment_id = id }), HttpStatusCode.BadRequest, "INVALID_STATE");
        Mlflow.AssertError(await Client.PostAsync("experiments/create", new { name = renamed }), HttpStatusCode.BadRequest, "RESOURCE_ALREADY_EXISTS", "deleted");

        var active = await Client.OkAsync("experiments/search", new { filter = $"name = '{renamed}'" });
        Assert.Empty(active.Items("experiments"));
        var deleted = await Client.OkAsync("experiments/search", new { filter = $"name = '{renamed}'", view_type = "DELETED_ONLY" });
        Assert.Single(deleted.Items("experiments"));

        await Client.OkAsync("experiments/restore", new { experiment_id = id });
        Assert.Equal("active", (await Client.OkGetAsync($"runs/get?run_id={runId}")).GetProperty("run").GetProperty("info").GetProperty("lifecycle_stage").GetString());
        Assert.Single((await Client.OkAsync("experiments/search", new { filter = $"name = '{renamed}'" })).Items("experiments"));
    }

    [Fact]
    public async Task The_default_experiment_exists_and_takes_runs_without_an_experiment()
    {
        var experiment = (await Client.OkGetAsync("experiments/get?experiment_id=0")).GetProperty("experiment");
        Assert.Equal("Default", experiment.GetProperty("name").GetString());
        var run = (await Client.OkAsync("runs/create", new { start_time = 1 })).GetProperty("run");
        Assert.Equal("0", run.GetProperty("info").GetProperty("experiment_id").GetString());
    }

    [Fact]
    public async Task Experiment_search_filters_orders_and_pages()
    {
        var prefix = TestNames.Unique("srch");
        foreach (var suffix in new[] { "a", "b", "c", "d", "e" })
        {
            await Client.OkAsync("experiments/create", new { name = $"{prefix}-{suffix}", tags = new[] { new { key = "group", value = suffix is "a" or "c" ? "x" : "y" } } });
        }

        var ordered = await Client.OkAsync("experiments/search", new { filter = $"name LIKE '{prefix}%'", order_by = new[] { "name DESC" } });
        Assert.Equal(["e", "d", "c", "b", "a"], ordered.Items("experiments").Select(e => e.GetProperty("name").GetString()![^1..]));

        var tagged = await Client.OkAsync("experiments/search", new { filter = $"name LIKE '{prefix}%' and tags.group = 'x'", order_by = new[] { "name" } });
        Assert.Equal(["a", "c"], tagged.Items("experiments").Select(e => e.GetProperty("name").GetString()![^1..]));

        var seen = new List<string>();
        string? token = null;
        do
        {
            var page = await Client.OkAsync("experiments/search", new { filter = $"name LIKE '{prefix}%'", order_by = new[] { "name" }, max_results = 2, page_token = token });
            var names = page.Items("experiments").Select(e => e.GetProperty("name").GetString()!).ToList();
            Assert.InRange(names.Count, 1, 2);
            seen.AddRange(names);
            token = page.TryGetProperty("next_page_token", out var next) ? next.GetString() : null;
        }
        while (token is not null);

        Assert.Equal(["a", "b", "c", "d", "e"], seen.Select(n => n[^1..]));

        var viaGet = await Client.OkGetAsync($"experiments/search?filter={Uri.EscapeDataString($"name = '{prefix}-b'")}&max_results=10");
        Assert.Single(viaGet.Items("experiments"));

        Mlflow.AssertError(await Client.PostAsync("experiments/search", new { filter = "name = " }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE");
        Mlflow.AssertError(await Client.PostAsync("experiments/search", new { page_token = "garbage!" }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE");
    }

    [Fact]
    public async Task A_run_logs_metrics_params_tags_and_batches_and_reads_them_back()
    {
        var experimentId = await Client.CreateExperimentAsync(TestNames.Unique("runs"));
        var run = await Client.CreateRunAsync(experimentId, new { run_name = "baseline", tags = new[] { new { key = "owner", value = "ana" } } });
        var info = run.GetProperty("info");
        var runId = info.GetProperty("run_id").GetString()!;
        Assert.Equal(32, runId.Length);
        Assert.Equal(runId, info.GetProperty("run_uuid").GetString());
        Assert.Equal("baseline", info.GetProperty("run_name").GetString());
        Assert.Equal(experimentId, info.GetProperty("experiment_id").GetString());
        Assert.Equal("RUNNING", info.GetProperty("status").GetString());
        Assert.Equal("active", info.GetProperty("lifecycle_stage").GetString());
        Assert.Equal($"mlflow-artifacts:/{experimentId}/{runId}/artifacts", info.GetProperty("artifact_uri").GetString());
        Assert.False(info.TryGetProperty("end_time", out _));
        Assert.Equal("baseline", run.GetProperty("data").KeyValues("tags")["mlflow.runName"]);

        await Client.OkAsync("runs/log-metric", new { run_id = runId, key = "loss", value = 0.9, timestamp = 1000, step = 0 });
        await Client.OkAsync("runs/log-metric", new { run_id = runId, key = "loss", value = 0.5, timestamp = 1001, step = 2 });
        await Client.OkAsync("runs/log-metric", new { run_id = runId, key = "loss", value = 0.7, timestamp = 1002, step = 1 });
        await Client.OkAsync("runs/log-parameter", new { run_id = runId, key = "lr", value = "0.01" });
        await Client.OkAsync("runs/log-parameter", new { run_id = runId, key = "lr", value = "0.01" });
        await Client.OkAsync("runs/set-tag", new { run_id = runId, key = "phase", value = "tuning" });
        await Client.OkAsync("runs/log-batch", new
        {
            run_id = runId,
            metrics = new object[]
            {
                new { key = "acc", value = 0.8, timestamp = 2000, step = 1 },
                new { key = "acc", value = 0.85, timestamp = "2001", step = "2" },
                new { key = "nan-metric", value = "NaN", timestamp = 2002 },
            },
            @params = new[] { new { key = "depth", value = "6" }, new { key = "depth", value = "6" } },
            tags = new[] { new { key = "phase", value = "final" } },
        });

        var data = (await Client.OkGetAsync($"runs/get?run_id={runId}")).GetProperty("run").GetProperty("data");
        var metrics = data.Items("metrics").ToDictionary(m => m.GetProperty("key").GetString()!);
        Assert.Equal(0.5, metrics["loss"].GetProperty("value").GetDouble());
        Assert.Equal(2, metrics["loss"].GetProperty("step").GetInt64());
        Assert.Equal(0.85, metrics["acc"].GetProperty("value").GetDouble());
        Assert.Equal("NaN", metrics["nan-metric"].GetProperty("value").GetString());
        Assert.Equal(new Dictionary<string, string> { ["lr"] = "0.01", ["depth"] = "6" }, data.KeyValues("params"));
        Assert.Equal("final", data.KeyValues("tags")["phase"]);
        Assert.Equal("ana", data.KeyValues("tags")["owner"]);

        var history = await Client.OkGetAsync($"metrics/get-history?run_id={runId}&metric_key=loss");
        Assert.Equal([(0L, 0.9), (1L, 0.7), (2L, 0.5)],
            history.Items("metrics").Select(m => (m.GetProperty("step").GetInt64(), m.GetProperty("value").GetDouble())));
        Assert.All(history.Items("metrics"), m => Assert.Equal("loss", m.GetProperty("key").GetString()));
        Assert.Equal([1000L, 1002L, 1001L], history.Items("metrics").Select(m => m.GetProperty("timestamp").GetInt64()));
        Assert.Empty((await Client.OkGetAsync($"metrics/get-history?run_id={runId}&metric_key=never-logged")).Items("metrics"));

        Mlflow.AssertError(await Client.PostAsync("runs/log-parameter", new { run_id = runId, key = "lr", value = "0.02" }),
            HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", "Changing param values is not allowed");
        Assert.Equal("0.01", (await Client.OkGetAsync($"runs/get?run_id={runId}")).GetProperty("run").GetProperty("data").KeyValues("params")["lr"]);

        await Client.OkAsync("runs/delete-tag", new { run_id = runId, key = "owner" });
        Mlflow.AssertError(await Client.PostAsync("runs/delete-tag", new { run_id = runId, key = "owner" }), HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST");

        var updated = (await Client.OkAsync("runs/update", new { run_id = runId, status = "FINISHED", end_time = 5000, run_name = "baseline-final" })).GetProperty("run_info");
        Assert.Equal("FINISHED", updated.GetProperty("status").GetString());
        Assert.Equal(5000, updated.GetProperty("end_time").GetInt64());
        Assert.Equal("baseline-final", updated.GetProperty("run_name").GetString());
        Mlflow.AssertError(await Client.PostAsync("runs/update", new { run_id = runId, status = "DONE" }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE");

        await Client.OkAsync("runs/delete", new { run_id = runId });
        Mlflow.AssertError(await Client.PostAsync("runs/log-metric", new { run_id = runId, key = "loss", value = 0.1, timestamp = 3000 }),
            HttpStatusCode.BadRequest, "INVALID_STATE", "active");
        await Client.OkAsync("runs/restore", new { run_id = runId });
        await Client.OkAsync("runs/log-metric", new { run_id = runId, key = "loss", value = 0.1, timestamp = 3000, step = 3 });
    }

    [Fact]
    public async Task Bad_logging_calls_get_mlflow_errors_and_change_nothing()
    {
        var experimentId = await Client.CreateExperimentAsync(TestNames.Unique("bad"));
        var runId = (await Client.CreateRunAsync(experimentId)).GetProperty("info").GetProperty("run_id").GetString()!;

        Mlflow.AssertError(await Client.GetAsync("runs/get?run_id=0123456789abcdef0123456789abcdef"), HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST");
        Mlflow.AssertError(await Client.PostAsync("runs/log-metric", new { run_id = runId, key = "m", value = 1 }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", "timestamp");
        Mlflow.AssertError(await Client.PostAsync("runs/log-metric", new { run_id = runId, key = "m", value = "abc", timestamp = 1 }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE");
        Mlflow.AssertError(await Client.PostAsync("runs/log-metric", new { run_id = runId, key = "../etc", value = 1, timestamp = 1 }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE");
        Mlflow.AssertError(await Client.PostAsync("runs/log-metric", new { run_id = runId, key = "bad*name", value = 1, timestamp = 1 }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE");
        Mlflow.AssertError(await Client.PostAsync("runs/log-parameter", new { run_id = runId, key = "p", value = new string('v', 6001) }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", "6000");
        Mlflow.AssertError(await Client.PostRawAsync("runs/log-metric", "{\"run_id\": \"" + runId + "\", \"key\": "), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE");

        var tooMany = Enumerable.Range(0, 1001).Select(i => new { key = "m", value = i, timestamp = 1, step = i }).ToArray();
        Mlflow.AssertError(await Client.PostAsync("runs/log-batch", new { run_id = runId, metrics = tooMany }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", "1000");
        var tooManyParams = Enumerable.Range(0, 101).Select(i => new { key = $"p{i}", value = "v" }).ToArray();
        Mlflow.AssertError(await Client.PostAsync("runs/log-batch", new { run_id = runId, @params = tooManyParams }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", "100");
        Mlflow.AssertError(await Client.PostAsync("runs/log-batch", new { run_id = runId, @params = new[] { new { key = "k", value = "1" }, new { key = "k", value = "2" } } }),
            HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", "Duplicate");
        Mlflow.AssertError(await Client.PostAsync("runs/log-batch", new
        {
            run_id = runId,
            metrics = new object[] { new { key = "ok", value = 1, timestamp = 1 }, new { key = "bad|key", value = 1, timestamp = 1 } },
        }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE");

        var data = (await Client.OkGetAsync($"runs/get?run_id={runId}")).GetProperty("run").GetProperty("data");
        Assert.Empty(data.Items("metrics"));
        Assert.Empty(data.Items("params"));
        Assert.Empty((await Client.OkGetAsync($"metrics/get-history?run_id={runId}&metric_key=ok")).Items("metrics"));
    }

    [Fact]
    public async Task Run_search_uses_mlflow_filters_order_and_pages()
    {
        var experimentId = await Client.CreateExperimentAsync(TestNames.Unique("search"));
        var other = await Client.CreateExperimentAsync(TestNames.Unique("search-other"));
        var runs = new Dictionary<string, string>();
        var settings = new (string Name, double Rmse, string Model, string Status)[]
        {
            ("r1", 0.9, "LogisticRegression", "FINISHED"),
            ("r2", 0.4, "LogisticRegression", "FINISHED"),
            ("r3", 0.2, "FastTree", "FAILED"),
            ("r4", 0.6, "FastTree", "FINISHED"),
        };
        var start = 1_700_000_000_000L;
        foreach (var (name, rmse, model, status) in settings)
        {
            var run = await Client.CreateRunAsync(experimentId, new { run_name = name, start_time = start++ });
            var runId = run.GetProperty("info").GetProperty("run_id").GetString()!;
            runs[name] = runId;
            await Client.OkAsync("runs/log-batch", new
            {
                run_id = runId,
                metrics = new[] { new { key = "rmse", value = rmse, timestamp = 1, step = 0 } },
                @params = new[] { new { key = "model_class", value = model } },
                tags = new[] { new { key = "mlflow.user", value = "ana" } },
            });
            await Client.OkAsync("runs/update", new { run_id = runId, status });
        }

        var unrelated = await Client.CreateRunAsync(other, new { run_name = "elsewhere" });
        await Client.OkAsync("runs/log-metric", new { run_id = unrelated.GetProperty("info").GetProperty("run_id").GetString(), key = "rmse", value = 0.1, timestamp = 1 });

        async Task<List<string>> SearchAsync(string? filter, string[]? orderBy = null, string[]? experiments = null) =>
            [.. (await Client.OkAsync("runs/search", new { experiment_ids = experiments ?? [experimentId], filter, order_by = orderBy }))
                .Items("runs").Select(r => r.GetProperty("info").GetProperty("run_name").GetString()!)];

        Assert.Equal(["r4", "r3", "r2", "r1"], await SearchAsync(null));
        Assert.Equal(["r2"], await SearchAsync("metrics.rmse < 0.5 and params.model_class = 'LogisticRegression'"));
        Assert.Equal(["r3", "r2", "r4", "r1"], await SearchAsync(null, ["metrics.rmse ASC"]));
        Assert.Equal(["r1", "r4"], await SearchAsync("attributes.status = 'FINISHED' AND metrics.rmse >= 0.6", ["metrics.rmse DESC"]));
        Assert.Equal(["r3", "r4"], await SearchAsync("params.model_class LIKE 'Fast%'", ["attributes.start_time ASC"]));
        Assert.Equal(["r1"], await SearchAsync("attributes.run_name = 'r1' and tags.\"mlflow.user\" = 'ana'"));
        Assert.Equal(4, (await SearchAsync("metrics.rmse > 0", experiments: [experimentId, other])).Count(n => n.StartsWith('r')));
        Assert.Contains("elsewhere", await SearchAsync("metrics.rmse < 0.15", experiments: [experimentId, other]));
        Assert.Empty(await SearchAsync("metrics.missing > 0"));

        var first = await Client.OkAsync("runs/search", new { experiment_ids = new[] { experimentId }, max_results = 3, order_by = new[] { "metrics.rmse" } });
        Assert.Equal(3, first.Items("runs").Count());
        var token = first.GetProperty("next_page_token").GetString();
        var second = await Client.OkAsync("runs/search", new { experiment_ids = new[] { experimentId }, max_results = 3, order_by = new[] { "metrics.rmse" }, page_token = token });
        Assert.Equal(["r1"], second.Items("runs").Select(r => r.GetProperty("info").GetProperty("run_name").GetString()));
        Assert.False(second.TryGetProperty("next_page_token", out _));

        await Client.OkAsync("runs/delete", new { run_id = runs["r1"] });
        Assert.DoesNotContain("r1", await SearchAsync(null));
        var deletedOnly = await Client.OkAsync("runs/search", new { experiment_ids = new[] { experimentId }, run_view_type = "DELETED_ONLY" });
        Assert.Equal(["r1"], deletedOnly.Items("runs").Select(r => r.GetProperty("info").GetProperty("run_name").GetString()));

        Mlflow.AssertError(await Client.PostAsync("runs/search", new { experiment_ids = new[] { experimentId }, filter = "metrics.rmse < 'abc'" }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE");
        Mlflow.AssertError(await Client.PostAsync("runs/search", new { experiment_ids = new[] { experimentId }, filter = "metrics.rmse < 1 OR params.a = 'b'" }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE");
        Mlflow.AssertError(await Client.PostAsync("runs/search", new { experiment_ids = new[] { experimentId }, order_by = new[] { "metrics.rmse SIDEWAYS" } }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE");
        Mlflow.AssertError(await Client.PostAsync("runs/search", new { experiment_ids = new[] { experimentId }, max_results = 50001 }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE");
    }

    [Fact]
    public async Task Metric_history_pages_and_bulk_interval_samples_steps()
    {
        var experimentId = await Client.CreateExperimentAsync(TestNames.Unique("history"));
        var runId = (await Client.CreateRunAsync(experimentId)).GetProperty("info").GetProperty("run_id").GetString()!;
        for (var batch = 0; batch < 3; batch++)
        {
            var metrics = Enumerable.Range(batch * 1000, 1000).Select(step => new { key = "loss", value = 1.0 / (step + 1), timestamp = 10_000 + step, step }).ToArray();
            await Client.OkAsync("runs/log-batch", new { run_id = runId, metrics });
        }

        var all = await Client.OkGetAsync($"metrics/get-history?run_id={runId}&metric_key=loss");
        Assert.Equal(Enumerable.Range(0, 3000).Select(s => (long)s), all.Items("metrics").Select(m => m.GetProperty("step").GetInt64()));
        Assert.Equal(1.0 / 3000, all.Items("metrics").Last().GetProperty("value").GetDouble());

        var steps = new List<long>();
        string? token = null;
        do
        {
            var page = await Client.OkGetAsync($"metrics/get-history?run_id={runId}&metric_key=loss&max_results=1200" + (token is null ? "" : $"&page_token={token}"));
            steps.AddRange(page.Items("metrics").Select(m => m.GetProperty("step").GetInt64()));
            token = page.TryGetProperty("next_page_token", out var next) ? next.GetString() : null;
        }
        while (token is not null);

        Assert.Equal(3000, steps.Count);

        var sampled = await Client.OkGetAsync($"metrics/get-history-bulk-interval?run_ids={runId}&metric_key=loss&max_results=10");
        var sampledSteps = sampled.Items("metrics").Select(m => m.GetProperty("step").GetInt64()).ToList();
        Assert.Equal(10, sampledSteps.Count);
        Assert.Equal(0, sampledSteps[0]);
        Assert.Equal(2999, sampledSteps[^1]);
        Assert.All(sampled.Items("metrics"), m => Assert.Equal(runId, m.GetProperty("run_id").GetString()));

        var window = await Client.OkGetAsync($"metrics/get-history-bulk-interval?run_ids={runId}&metric_key=loss&start_step=100&end_step=104");
        Assert.Equal([100L, 101, 102, 103, 104], window.Items("metrics").Select(m => m.GetProperty("step").GetInt64()));
        Mlflow.AssertError(await Client.GetAsync($"metrics/get-history-bulk-interval?run_ids={runId}&metric_key=loss&start_step=5"), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE");
    }

    [Fact]
    public async Task Dataset_inputs_link_runs_to_mlgrid_dataset_versions()
    {
        var dataset = TestNames.Unique("churn");
        const string Csv = "f1,f2,label\n1,2,0\n3,4,1\n";
        using (var content = new StringContent(Csv, Encoding.UTF8, "text/csv"))
        using (var upload = await fixture.App.Gateway.PostAsync($"/api/v1/datasets/{dataset}/versions", content))
        {
            Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        }

        var sha = JsonDocument.Parse(await fixture.App.Gateway.GetStringAsync($"/api/v1/datasets/{dataset}/versions/1")).RootElement.GetProperty("sha256").GetString()!;
        var experimentId = await Client.CreateExperimentAsync(TestNames.Unique("inputs"));
        var run = await Client.CreateRunAsync(experimentId, new { run_name = "trained-on-churn" });
        var runId = run.GetProperty("info").GetProperty("run_id").GetString()!;
        await Client.OkAsync("runs/log-inputs", new
        {
            run_id = runId,
            datasets = new[]
            {
                new
                {
                    tags = new[] { new { key = "mlflow.data.context", value = "training" } },
                    dataset = new { name = dataset, digest = sha[..8], source_type = "http", source = $"/api/v1/datasets/{dataset}/versions/1/content", schema = (string?)"{}", profile = (string?)"{\"num_rows\": 2}" },
                },
                new
                {
                    tags = new[] { new { key = "mlflow.data.context", value = "eval" } },
                    dataset = new { name = "not-in-mlgrid", digest = "abc123", source_type = "local", source = "/tmp/eval.csv", schema = (string?)null, profile = (string?)null },
                },
            },
        });

        var inputs = (await Client.OkGetAsync($"runs/get?run_id={runId}")).GetProperty("run").GetProperty("inputs").Items("dataset_inputs").ToList();
        Assert.Equal(2, inputs.Count);
        Assert.Equal(dataset, inputs[0].GetProperty("dataset").GetProperty("name").GetString());
        Assert.Equal("training", inputs[0].KeyValues("tags")["mlflow.data.context"]);

        var lineage = JsonDocument.Parse(await fixture.App.Gateway.GetStringAsync($"/api/v1/datasets/{dataset}/versions/1/lineage")).RootElement;
        var used = Assert.Single(lineage.GetProperty("runs").EnumerateArray());
        Assert.Equal(runId, used.GetProperty("runId").GetString());
        Assert.Equal(experimentId, used.GetProperty("experimentId").GetString());
        Assert.Equal("trained-on-churn", used.GetProperty("runName").GetString());

        var found = await Client.OkAsync("runs/search", new { experiment_ids = new[] { experimentId }, filter = $"datasets.name = '{dataset}' and datasets.context = 'training'" });
        Assert.Single(found.Items("runs"));
        var none = await Client.OkAsync("runs/search", new { experiment_ids = new[] { experimentId }, filter = $"datasets.name = '{dataset}' and datasets.digest = 'ffffffff'" });
        Assert.Empty(none.Items("runs"));

        using var missing = await fixture.App.Gateway.GetAsync($"/api/v1/datasets/{dataset}/versions/9/lineage");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Readers_search_and_read_but_cannot_log()
    {
        var experimentId = await Client.CreateExperimentAsync(TestNames.Unique("roles"));
        var runId = (await Client.CreateRunAsync(experimentId)).GetProperty("info").GetProperty("run_id").GetString()!;
        var (_, key) = await fixture.App.CreateKeyAsync("reader");
        var reader = new Mlflow(fixture.App.WithKey(key));
        await reader.OkAsync("runs/search", new { experiment_ids = new[] { experimentId } });
        await reader.OkGetAsync($"runs/get?run_id={runId}");
        Mlflow.AssertError(await reader.PostAsync("runs/log-metric", new { run_id = runId, key = "m", value = 1, timestamp = 1 }), HttpStatusCode.Forbidden, "PERMISSION_DENIED", "editor");
        Mlflow.AssertError(await new Mlflow(fixture.App.Anonymous).GetAsync($"runs/get?run_id={runId}"), HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
    }

    [Fact]
    public async Task A_runs_artifacts_are_listed_through_the_tracking_api()
    {
        var experimentId = await Client.CreateExperimentAsync(TestNames.Unique("artifacts"));
        var runId = (await Client.CreateRunAsync(experimentId)).GetProperty("info").GetProperty("run_id").GetString()!;
        var root = $"/api/2.0/mlflow-artifacts/artifacts/{experimentId}/{runId}/artifacts";
        foreach (var (path, size) in new[] { ("model/model.onnx", 300), ("model/MLmodel", 20), ("metrics.json", 7) })
        {
            using var content = new ByteArrayContent(new byte[size]);
            using var put = await fixture.App.Gateway.PutAsync($"{root}/{path}", content);
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        var top = await Client.OkGetAsync($"artifacts/list?run_id={runId}");
        Assert.Equal($"mlflow-artifacts:/{experimentId}/{runId}/artifacts", top.GetProperty("root_uri").GetString());
        var entries = top.Items("files").ToDictionary(f => f.GetProperty("path").GetString()!);
        Assert.True(entries["model"].GetProperty("is_dir").GetBoolean());
        Assert.False(entries["model"].TryGetProperty("file_size", out _));
        Assert.Equal(7, entries["metrics.json"].GetProperty("file_size").GetInt64());

        var model = await Client.OkGetAsync($"artifacts/list?run_id={runId}&path=model");
        Assert.Equal(["model/MLmodel", "model/model.onnx"], model.Items("files").Select(f => f.GetProperty("path").GetString()).Order(StringComparer.Ordinal));
        Assert.Empty((await Client.OkGetAsync($"artifacts/list?run_id={runId}&path=nothing-here")).Items("files"));
        Mlflow.AssertError(await Client.GetAsync($"artifacts/list?run_id={runId}&path=../other"), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE");
        Mlflow.AssertError(await Client.GetAsync("artifacts/list?run_id=0123456789abcdef0123456789abcdef"), HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST");
    }

    [Fact]
    public async Task Calls_that_are_not_part_of_the_api_get_mlflows_not_found()
    {
        Mlflow.AssertError(await Client.GetAsync("runs/not-a-call"), HttpStatusCode.NotFound, "ENDPOINT_NOT_FOUND");
        Mlflow.AssertError(await Client.GetAsync("runs/create"), HttpStatusCode.NotFound, "ENDPOINT_NOT_FOUND");
    }
}
