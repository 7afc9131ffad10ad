using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MlGrid.Testing;

namespace MlGrid.EndToEnd.Tests;

/// <summary>
/// MLflow's model registry through the gateway, replaying the requests of MLflow's REST API reference (registered-models
/// and model-versions) and checking the answers' shapes, status codes and error bodies; and the MlGrid side of it: an
/// ONNX model version registered through MLflow is an MlGrid model version that deploys and serves.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class MlflowRegistryTests(MlGridFixture fixture)
{
    private MlGridApp App => fixture.App;

    private Mlflow Client => new(App.Gateway);

    [Fact]
    public async Task Registered_models_are_created_read_updated_tagged_searched_and_deleted_as_mlflow_documents()
    {
        var name = TestNames.Unique("rm");
        var created = await Client.OkAsync("registered-models/create", new
        {
            name,
            tags = new[] { new { key = "team", value = "risk" } },
            description = "churn classifier",
        });
        var model = created.GetProperty("registered_model");
        Assert.Equal(name, model.GetProperty("name").GetString());
        Assert.Equal("churn classifier", model.GetProperty("description").GetString());
        Assert.Equal(new Dictionary<string, string> { ["team"] = "risk" }, model.KeyValues("tags"));
        var createdAt = model.GetProperty("creation_timestamp").GetInt64();
        Assert.InRange(createdAt, DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds());
        Assert.False(model.TryGetProperty("latest_versions", out _), "a model without versions has no latest_versions");

        Mlflow.AssertError(await Client.PostAsync("registered-models/create", new { name }), HttpStatusCode.BadRequest, "RESOURCE_ALREADY_EXISTS", name);
        Mlflow.AssertError(await Client.PostAsync("registered-models/create", new { name = "has space" }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", "not a valid registered model name");
        Mlflow.AssertError(await Client.PostAsync("registered-models/create", new { }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", "'name'");
        Mlflow.AssertError(await Client.GetAsync($"registered-models/get?name={name}-missing"), HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST");

        var fetched = (await Client.OkGetAsync($"registered-models/get?name={name}")).GetProperty("registered_model");
        Assert.Equal(model.GetRawText(), fetched.GetRawText());

        // PATCH update and DELETE calls carry JSON bodies, as MLflow's clients send them.
        var updated = (await Client.OkSendAsync(HttpMethod.Patch, "registered-models/update", new { name, description = "v2 of the churn classifier" })).GetProperty("registered_model");
        Assert.Equal("v2 of the churn classifier", updated.GetProperty("description").GetString());
        Assert.True(updated.GetProperty("last_updated_timestamp").GetInt64() >= createdAt);

        Assert.Equal("{}", (await Client.OkAsync("registered-models/set-tag", new { name, key = "owner", value = "ana" })).GetRawText());
        Assert.Equal("{}", (await Client.OkSendAsync(HttpMethod.Delete, "registered-models/delete-tag", new { name, key = "team" })).GetRawText());
        var tagged = (await Client.OkGetAsync($"registered-models/get?name={name}")).GetProperty("registered_model");
        Assert.Equal(new Dictionary<string, string> { ["owner"] = "ana" }, tagged.KeyValues("tags"));
        Mlflow.AssertError(await Client.PostAsync("registered-models/set-tag", new { name, key = "bad/../key", value = "x" }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE");
        Mlflow.AssertError(await Client.PostAsync("registered-models/set-tag", new { name, key = "big", value = new string('x', 5001) }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", "5000");

        // Search: MLflow's filter grammar on names and tags, order_by, paging.
        var prefix = TestNames.Unique("search");
        foreach (var suffix in new[] { "c", "a", "b" })
        {
            await Client.OkAsync("registered-models/create", new { name = $"{prefix}-{suffix}", tags = new[] { new { key = "batch", value = prefix } } });
        }

        var page1 = await Client.OkGetAsync($"registered-models/search?filter={Uri.EscapeDataString($"name LIKE '{prefix}-%'")}&max_results=2&order_by=name+DESC");
        Assert.Equal([$"{prefix}-c", $"{prefix}-b"], page1.Items("registered_models").Select(m => m.GetProperty("name").GetString()));
        var token = page1.GetProperty("next_page_token").GetString();
        var page2 = await Client.OkGetAsync($"registered-models/search?filter={Uri.EscapeDataString($"name LIKE '{prefix}-%'")}&max_results=2&order_by=name+DESC&page_token={Uri.EscapeDataString(token!)}");
        Assert.Equal([$"{prefix}-a"], page2.Items("registered_models").Select(m => m.GetProperty("name").GetString()));
        Assert.False(page2.TryGetProperty("next_page_token", out _));
        var byTag = await Client.OkGetAsync($"registered-models/search?filter={Uri.EscapeDataString($"tags.batch = '{prefix}'")}");
        Assert.Equal([$"{prefix}-a", $"{prefix}-b", $"{prefix}-c"], byTag.Items("registered_models").Select(m => m.GetProperty("name").GetString()));
        Mlflow.AssertError(await Client.GetAsync($"registered-models/search?filter={Uri.EscapeDataString("params.x = 'y'")}"), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE");
        Mlflow.AssertError(await Client.GetAsync("registered-models/search?max_results=1001"), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE");

        // Rename is refused in MLflow's words: endpoints deploy models by name.
        Mlflow.AssertError(await Client.PostAsync("registered-models/rename", new { name, new_name = name + "-renamed" }), HttpStatusCode.NotImplemented, "NOT_IMPLEMENTED", "by name");

        Assert.Equal("{}", (await Client.OkSendAsync(HttpMethod.Delete, "registered-models/delete", new { name })).GetRawText());
        Mlflow.AssertError(await Client.GetAsync($"registered-models/get?name={name}"), HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST");
        Mlflow.AssertError(await Client.SendAsync(HttpMethod.Delete, "registered-models/delete", new { name }), HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST");
        Assert.Equal(HttpStatusCode.NotFound, (await App.Gateway.GetAsync($"/api/v1/models/{name}")).StatusCode);
        var afterDelete = await Client.OkGetAsync($"registered-models/search?filter={Uri.EscapeDataString($"name = '{name}'")}");
        Assert.Empty(afterDelete.Items("registered_models"));
    }

    [Fact]
    public async Task An_onnx_model_logged_to_a_run_is_a_deployable_mlgrid_version_with_lineage()
    {
        // A dataset version, and a run that logged it as its training input.
        var dataset = TestNames.Unique("train");
        using (var csv = new StringContent("f1,f2,f3,label\n1,2,3,0\n4,5,6,1\n", Encoding.UTF8, "text/csv"))
        using (var upload = await App.Gateway.PostAsync($"/api/v1/datasets/{dataset}/versions", csv))
        {
            Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        }

        var experimentId = await Client.CreateExperimentAsync(TestNames.Unique("registry"));
        var run = await Client.CreateRunAsync(experimentId, new { run_name = "onnx-export" });
        var runId = run.GetProperty("info").GetProperty("run_id").GetString()!;
        var artifactRoot = run.GetProperty("info").GetProperty("artifact_uri").GetString()!["mlflow-artifacts:/".Length..];
        await Client.OkAsync("runs/log-inputs", new
        {
            run_id = runId,
            datasets = new[] { new { dataset = new { name = dataset, digest = "0", source_type = "http", source = $"/api/v1/datasets/{dataset}/versions/1" } } },
        });

        // The model as MLflow's ONNX flavour logs it: a directory with MLmodel and model.onnx.
        var onnx = TestModels.Linear();
        await MlflowArtifactTests.PutAsync(App.Gateway, $"{artifactRoot}/model/MLmodel", "flavors:\n  onnx:\n    data: model.onnx\n"u8.ToArray(), "text/plain");
        await MlflowArtifactTests.PutAsync(App.Gateway, $"{artifactRoot}/model/model.onnx", onnx);

        var name = TestNames.Unique("onnx");
        await Client.OkAsync("registered-models/create", new { name });
        var version = (await Client.OkAsync("model-versions/create", new
        {
            name,
            source = $"runs:/{runId}/model",
            run_id = runId,
            description = "first export",
            tags = new[] { new { key = "framework", value = "onnx" } },
        })).GetProperty("model_version");
        Assert.Equal("1", version.GetProperty("version").GetString());
        Assert.Equal("READY", version.GetProperty("status").GetString());
        Assert.Equal("None", version.GetProperty("current_stage").GetString());
        Assert.Equal($"runs:/{runId}/model", version.GetProperty("source").GetString());
        Assert.Equal(runId, version.GetProperty("run_id").GetString());
        Assert.Equal("first export", version.GetProperty("description").GetString());
        Assert.Equal(new Dictionary<string, string> { ["framework"] = "onnx" }, version.KeyValues("tags"));
        Assert.False(version.TryGetProperty("status_message", out _), version.GetRawText());
        Assert.Equal($"runs:/{runId}/model", (await Client.OkGetAsync($"model-versions/get-download-uri?name={name}&version=1")).GetProperty("artifact_uri").GetString());

        // The same version in MlGrid's own API: the ONNX file's hash, its signature, deployable.
        var mlgrid = await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/models/{name}/versions/1");
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(onnx)), mlgrid.GetProperty("sha256").GetString());
        Assert.True(mlgrid.GetProperty("deployable").GetBoolean());
        Assert.Equal(runId, mlgrid.GetProperty("runId").GetString());
        Assert.Equal("input", mlgrid.GetProperty("inputs")[0].GetProperty("name").GetString());
        Assert.Equal(onnx, await App.Gateway.GetByteArrayAsync($"/api/v1/models/{name}/versions/1/content"));
        var listed = await App.Gateway.GetFromJsonAsync<JsonElement>("/api/v1/models");
        Assert.Contains(listed.EnumerateArray(), m => m.GetProperty("name").GetString() == name && m.GetProperty("latestVersion").GetInt32() == 1);

        // It deploys and serves through the gateway: output = input · W + b.
        await App.DeployAsync(name, new { deployments = new[] { new { name = "main", model = name, version = "1" } } });
        using var infer = await App.InferAsync(name, new { inputs = new[] { new { name = "input", datatype = "FP32", shape = new[] { 1, 3 }, data = new[] { 1f, 2f, 3f } } } });
        var answer = await infer.Content.ReadAsStringAsync();
        Assert.True(infer.StatusCode == HttpStatusCode.OK, answer);
        var output = JsonDocument.Parse(answer).RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        float[] x = [1f, 2f, 3f];
        var w = TestModels.LinearWeights;
        float[] expected =
        [
            x[0] * w[0] + x[1] * w[2] + x[2] * w[4] + TestModels.LinearBias[0],
            x[0] * w[1] + x[1] * w[3] + x[2] * w[5] + TestModels.LinearBias[1],
        ];
        Assert.Equal(expected, output);

        // Lineage: the dataset version lists the run and the model version made from it.
        var lineage = await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/datasets/{dataset}/versions/1/lineage");
        Assert.Equal(runId, Assert.Single(lineage.GetProperty("runs").EnumerateArray()).GetProperty("runId").GetString());
        var used = Assert.Single(lineage.GetProperty("modelVersions").EnumerateArray());
        Assert.Equal(name, used.GetProperty("name").GetString());
        Assert.Equal(1, used.GetProperty("version").GetInt32());

        // A direct mlflow-artifacts:/ source naming the file works as well, and numbering goes on.
        var second = (await Client.OkAsync("model-versions/create", new { name, source = $"mlflow-artifacts:/{artifactRoot}/model/model.onnx" })).GetProperty("model_version");
        Assert.Equal("2", second.GetProperty("version").GetString());
        Assert.True((await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/models/{name}/versions/2")).GetProperty("deployable").GetBoolean());
    }

    [Fact]
    public async Task Versions_without_an_onnx_file_are_kept_as_references_and_endpoints_refuse_them()
    {
        var experimentId = await Client.CreateExperimentAsync(TestNames.Unique("no-onnx"));
        var run = await Client.CreateRunAsync(experimentId);
        var runId = run.GetProperty("info").GetProperty("run_id").GetString()!;
        var artifactRoot = run.GetProperty("info").GetProperty("artifact_uri").GetString()!["mlflow-artifacts:/".Length..];
        await MlflowArtifactTests.PutAsync(App.Gateway, $"{artifactRoot}/sklearn/model.pkl", [1, 2, 3]);
        await MlflowArtifactTests.PutAsync(App.Gateway, $"{artifactRoot}/broken/model.onnx", "not an onnx file"u8.ToArray());

        var name = TestNames.Unique("refs");
        await Client.OkAsync("registered-models/create", new { name });
        var cases = new (string Source, string Why)[]
        {
            ($"runs:/{runId}/sklearn", "No .onnx file"),
            ($"runs:/{runId}/broken", "not a model MlGrid can serve"),
            ("s3://bucket/models/churn", "only from runs:/ and mlflow-artifacts:/"),
        };
        var number = 0;
        foreach (var (source, why) in cases)
        {
            number++;
            var version = (await Client.OkAsync("model-versions/create", new { name, source })).GetProperty("model_version");
            Assert.Equal(number.ToString(System.Globalization.CultureInfo.InvariantCulture), version.GetProperty("version").GetString());
            Assert.Equal("READY", version.GetProperty("status").GetString());
            Assert.Contains(why, version.GetProperty("status_message").GetString());
            Assert.Equal(source, version.GetProperty("source").GetString());

            var mlgrid = await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/models/{name}/versions/{number}");
            Assert.False(mlgrid.GetProperty("deployable").GetBoolean());
            Assert.Equal(JsonValueKind.Null, mlgrid.GetProperty("sha256").ValueKind);
            Assert.Equal(HttpStatusCode.NotFound, (await App.Gateway.GetAsync($"/api/v1/models/{name}/versions/{number}/content")).StatusCode);
        }

        using var deploy = await App.Gateway.PutAsJsonAsync($"/api/v1/endpoints/{name}", new { deployments = new[] { new { name = "main", model = name, version = "1" } } });
        var problem = await deploy.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, deploy.StatusCode);
        Assert.Contains("has no ONNX file", problem);
        Assert.Equal(HttpStatusCode.NotFound, (await App.Gateway.GetAsync($"/api/v1/endpoints/{name}")).StatusCode);

        // Bad requests change nothing: an unknown model, a missing source, a run that does not exist.
        Mlflow.AssertError(await Client.PostAsync("model-versions/create", new { name = name + "-missing", source = "s3://x" }), HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST");
        Mlflow.AssertError(await Client.PostAsync("model-versions/create", new { name }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", "'source'");
        Mlflow.AssertError(await Client.PostAsync("model-versions/create", new { name, source = "runs:/0123456789abcdef/model" }), HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST", "0123456789abcdef");
        Mlflow.AssertError(await Client.PostAsync("model-versions/create", new { name, source = $"runs:/{runId}/sklearn", run_id = "another" }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", "run_id");
        var versions = await Client.OkGetAsync($"model-versions/search?filter={Uri.EscapeDataString($"name = '{name}'")}");
        Assert.Equal(3, versions.Items("model_versions").Count());
    }

    [Fact]
    public async Task Model_versions_have_stages_aliases_tags_search_and_deletes_that_never_reuse_a_number()
    {
        var name = TestNames.Unique("mv");
        // Version 1 is uploaded to MlGrid's own API; MLflow sees it, and its own versions number on from it.
        await App.UploadModelAsync(name, TestModels.Linear());
        var root = $"{TestNames.Unique("exp")}/{Guid.NewGuid():N}/artifacts";
        await MlflowArtifactTests.PutAsync(App.Gateway, $"{root}/model.onnx", TestModels.FixedShapeRelu());
        for (var i = 0; i < 2; i++)
        {
            await Client.OkAsync("model-versions/create", new { name, source = $"mlflow-artifacts:/{root}" });
        }

        var first = (await Client.OkGetAsync($"model-versions/get?name={name}&version=1")).GetProperty("model_version");
        Assert.Equal($"/api/v1/models/{name}/versions/1/content", first.GetProperty("source").GetString());

        // Stages: Production with archive_existing_versions moves the previous Production version to Archived.
        await Client.OkAsync("model-versions/transition-stage", new { name, version = "2", stage = "production", archive_existing_versions = false });
        var moved = (await Client.OkAsync("model-versions/transition-stage", new { name, version = "3", stage = "Production", archive_existing_versions = true })).GetProperty("model_version");
        Assert.Equal("Production", moved.GetProperty("current_stage").GetString());
        Assert.Equal("Archived", (await Client.OkGetAsync($"model-versions/get?name={name}&version=2")).GetProperty("model_version").GetProperty("current_stage").GetString());
        Mlflow.AssertError(await Client.PostAsync("model-versions/transition-stage", new { name, version = "1", stage = "Shipped", archive_existing_versions = false }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", "Staging");

        var latest = await Client.OkAsync("registered-models/get-latest-versions", new { name, stages = new[] { "Production", "None" } });
        Assert.Equal(
            [("1", "None"), ("3", "Production")],
            latest.Items("model_versions").Select(v => (v.GetProperty("version").GetString(), v.GetProperty("current_stage").GetString())).OrderBy(v => v.Item1));
        var model = (await Client.OkGetAsync($"registered-models/get?name={name}")).GetProperty("registered_model");
        Assert.Equal(3, model.Items("latest_versions").Count());

        // Aliases: set, read back, listed on the model and the version, used by MlGrid's API too.
        Assert.Equal("{}", (await Client.OkAsync("registered-models/alias", new { name, alias = "champion", version = "3" })).GetRawText());
        var byAlias = (await Client.OkGetAsync($"registered-models/alias?name={name}&alias=champion")).GetProperty("model_version");
        Assert.Equal("3", byAlias.GetProperty("version").GetString());
        Assert.Equal(["champion"], byAlias.Items("aliases").Select(a => a.GetString()));
        Assert.Equal("""[{"alias":"champion","version":"3"}]""", (await Client.OkGetAsync($"registered-models/get?name={name}")).GetProperty("registered_model").GetProperty("aliases").GetRawText());
        Assert.Equal(3, (await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/models/{name}/versions/champion")).GetProperty("version").GetInt32());
        Mlflow.AssertError(await Client.PostAsync("registered-models/alias", new { name, alias = "latest", version = "1" }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", "reserved");
        Mlflow.AssertError(await Client.PostAsync("registered-models/alias", new { name, alias = "v2", version = "1" }), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", "reserved");
        Mlflow.AssertError(await Client.PostAsync("registered-models/alias", new { name, alias = "spare", version = "9" }), HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST");
        await Client.OkAsync("registered-models/alias", new { name, alias = "spare", version = "1" });
        Assert.Equal("{}", (await Client.OkSendAsync(HttpMethod.Delete, "registered-models/alias", new { name, alias = "spare" })).GetRawText());
        Mlflow.AssertError(await Client.GetAsync($"registered-models/alias?name={name}&alias=spare"), HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST");

        // Tags and descriptions on versions.
        await Client.OkAsync("model-versions/set-tag", new { name, version = "2", key = "validated", value = "true" });
        await Client.OkAsync("model-versions/set-tag", new { name, version = "2", key = "gone", value = "soon" });
        await Client.OkSendAsync(HttpMethod.Delete, "model-versions/delete-tag", new { name, version = "2", key = "gone" });
        var described = (await Client.OkSendAsync(HttpMethod.Patch, "model-versions/update", new { name, version = "2", description = "relu baseline" })).GetProperty("model_version");
        Assert.Equal("relu baseline", described.GetProperty("description").GetString());
        Assert.Equal(new Dictionary<string, string> { ["validated"] = "true" }, described.KeyValues("tags"));

        // Search: filters on name, version_number and tags; order and paging.
        var search = await Client.OkGetAsync($"model-versions/search?filter={Uri.EscapeDataString($"name = '{name}' AND version_number > 1")}&order_by=version_number+ASC");
        Assert.Equal(["2", "3"], search.Items("model_versions").Select(v => v.GetProperty("version").GetString()));
        var tagged = await Client.OkGetAsync($"model-versions/search?filter={Uri.EscapeDataString($"name = '{name}' AND tags.validated = 'true'")}");
        Assert.Equal(["2"], tagged.Items("model_versions").Select(v => v.GetProperty("version").GetString()));
        var paged = await Client.OkGetAsync($"model-versions/search?filter={Uri.EscapeDataString($"name = '{name}'")}&max_results=2&order_by=version_number+DESC");
        Assert.Equal(["3", "2"], paged.Items("model_versions").Select(v => v.GetProperty("version").GetString()));
        Assert.True(paged.TryGetProperty("next_page_token", out _));

        // Deleting a version takes its aliases with it; its number is not given again.
        Assert.Equal("{}", (await Client.OkSendAsync(HttpMethod.Delete, "model-versions/delete", new { name, version = "3" })).GetRawText());
        Mlflow.AssertError(await Client.GetAsync($"model-versions/get?name={name}&version=3"), HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST");
        Mlflow.AssertError(await Client.GetAsync($"registered-models/alias?name={name}&alias=champion"), HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST");
        Assert.Equal(HttpStatusCode.NotFound, (await App.Gateway.GetAsync($"/api/v1/models/{name}/versions/3")).StatusCode);
        var next = (await Client.OkAsync("model-versions/create", new { name, source = $"mlflow-artifacts:/{root}" })).GetProperty("model_version");
        Assert.Equal("4", next.GetProperty("version").GetString());

        Mlflow.AssertError(await Client.GetAsync($"model-versions/get?name={name}&version=abc"), HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE");
        Mlflow.AssertError(await Client.GetAsync($"model-versions/get?name={name}&version=99"), HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST");
        Mlflow.AssertError(await Client.SendAsync(HttpMethod.Delete, "model-versions/delete", new { name, version = "99" }), HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST");
    }

    [Fact]
    public async Task Readers_can_read_the_registry_but_not_change_it()
    {
        var name = TestNames.Unique("ro");
        await Client.OkAsync("registered-models/create", new { name });
        var (_, key) = await App.CreateKeyAsync("reader");
        var reader = new Mlflow(App.WithKey(key));
        await App.WaitUntilAsync(async () => (await reader.GetAsync($"registered-models/get?name={name}")).Status == HttpStatusCode.OK,
            TimeSpan.FromSeconds(10), () => "A reader key could not read a registered model.");
        await reader.OkAsync("registered-models/get-latest-versions", new { name });
        Mlflow.AssertError(await reader.PostAsync("registered-models/create", new { name = name + "-2" }), HttpStatusCode.Forbidden, "PERMISSION_DENIED");
        Mlflow.AssertError(await reader.SendAsync(HttpMethod.Delete, "registered-models/delete", new { name }), HttpStatusCode.Forbidden, "PERMISSION_DENIED");
        await Client.OkGetAsync($"registered-models/get?name={name}");
    }
}
