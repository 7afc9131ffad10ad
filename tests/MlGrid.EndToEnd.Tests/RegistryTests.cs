using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using MlGrid.Testing;

namespace MlGrid.EndToEnd.Tests;

[Collection(EndToEndCollection.Name)]
public sealed class RegistryTests(MlGridFixture fixture)
{
    private MlGridApp App => fixture.App;

    [Fact]
    public async Task Versions_count_up_and_content_comes_back_byte_for_byte()
    {
        var name = TestNames.Unique("reg");
        var first = TestModels.Linear();
        var second = TestModels.FixedShapeRelu();

        var v1 = await App.UploadModelAsync(name, first);
        var v2 = await App.UploadModelAsync(name, second);
        var v3 = await App.UploadModelAsync(name, first);

        Assert.Equal(1, v1.GetProperty("version").GetInt32());
        Assert.Equal(2, v2.GetProperty("version").GetInt32());
        Assert.Equal(3, v3.GetProperty("version").GetInt32());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(first)), v1.GetProperty("sha256").GetString());
        Assert.Equal(v1.GetProperty("sha256").GetString(), v3.GetProperty("sha256").GetString());
        Assert.Equal(first.Length, v1.GetProperty("sizeBytes").GetInt64());
        Assert.Equal("[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,4]}]", v2.GetProperty("inputs").GetRawText());
        Assert.True(v1.TryGetProperty("createdAt", out _));

        Assert.Equal(first, await App.Gateway.GetByteArrayAsync($"/api/v1/models/{name}/versions/1/content"));
        Assert.Equal(second, await App.Gateway.GetByteArrayAsync($"/api/v1/models/{name}/versions/2/content"));

        var model = await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/models/{name}");
        Assert.Equal(3, model.GetProperty("latestVersion").GetInt32());
        Assert.Equal(3, model.GetProperty("versions").GetArrayLength());

        var list = await App.Gateway.GetFromJsonAsync<JsonElement>("/api/v1/models");
        Assert.Contains(list.EnumerateArray(), m => m.GetProperty("name").GetString() == name);
    }

    [Fact]
    public async Task Aliases_point_at_versions_and_work_wherever_a_version_does()
    {
        var name = TestNames.Unique("alias");
        await App.UploadModelAsync(name, TestModels.FixedShapeRelu());
        await App.UploadModelAsync(name, TestModels.Linear());

        using var set = await App.Gateway.PutAsJsonAsync($"/api/v1/models/{name}/aliases/champion", new { version = 2 });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);

        var byAlias = await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/models/{name}/versions/champion");
        Assert.Equal(2, byAlias.GetProperty("version").GetInt32());
        Assert.Equal("[\"champion\"]", byAlias.GetProperty("aliases").GetRawText());
        Assert.Equal(TestModels.Linear(), await App.Gateway.GetByteArrayAsync($"/api/v1/models/{name}/versions/champion/content"));

        var view = await App.DeployAsync(name, new { deployments = new[] { new { name = "blue", model = name, version = "champion" } } });
        Assert.Equal(2, view.GetProperty("deployments")[0].GetProperty("modelVersion").GetInt32());
        using var infer = await App.InferAsync(name, new { inputs = new[] { new { name = "input", datatype = "FP32", shape = new[] { 1, 3 }, data = new[] { 1f, 0f, 0f } } } });
        Assert.Equal(HttpStatusCode.OK, infer.StatusCode);
        Assert.Equal("2", infer.Headers.GetValues("x-mlgrid-model-version").Single());

        using var missingVersion = await App.Gateway.PutAsJsonAsync($"/api/v1/models/{name}/aliases/champion", new { version = 9 });
        Assert.Equal(HttpStatusCode.NotFound, missingVersion.StatusCode);
        using var badAlias = await App.Gateway.PutAsJsonAsync($"/api/v1/models/{name}/aliases/7up", new { version = 1 });
        Assert.Equal(HttpStatusCode.BadRequest, badAlias.StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await App.Gateway.DeleteAsync($"/api/v1/models/{name}/aliases/champion")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await App.Gateway.DeleteAsync($"/api/v1/models/{name}/aliases/champion")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await App.Gateway.GetAsync($"/api/v1/models/{name}/versions/champion")).StatusCode);
    }

    [Fact]
    public async Task A_file_onnx_runtime_cannot_load_is_refused_and_nothing_is_numbered()
    {
        var name = TestNames.Unique("broken");
        var truncated = TestModels.Linear()[..100];
        using var content = new ByteArrayContent(truncated);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await App.Gateway.PostAsync($"/api/v1/models/{name}/versions", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("cannot load", problem.GetProperty("detail").GetString());
        Assert.DoesNotContain("/tmp", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await App.Gateway.GetAsync($"/api/v1/models/{name}")).StatusCode);

        // The name is still free: the next good upload is version 1.
        var good = await App.UploadModelAsync(name, TestModels.Linear());
        Assert.Equal(1, good.GetProperty("version").GetInt32());
    }

    [Fact]
    public async Task Uploads_need_the_octet_stream_content_type_and_a_body()
    {
        var name = TestNames.Unique("ctype");
        using var json = await App.Gateway.PostAsJsonAsync($"/api/v1/models/{name}/versions", new { x = 1 });
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, json.StatusCode);

        using var empty = new ByteArrayContent([]);
        empty.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var emptyResponse = await App.Gateway.PostAsync($"/api/v1/models/{name}/versions", empty);
        Assert.Equal(HttpStatusCode.BadRequest, emptyResponse.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await App.Gateway.GetAsync($"/api/v1/models/{name}")).StatusCode);
    }

    [Fact]
    public async Task Endpoint_specs_are_validated_with_problem_details()
    {
        var name = TestNames.Unique("valid");
        await App.UploadModelAsync(name, TestModels.Linear());
        object[] bad =
        [
            new { deployments = Array.Empty<object>() },
            new { deployments = new[] { new { name = "a", model = name, version = 1 }, new { name = "a", model = name, version = 1 } } },
            new { deployments = new[] { new { name = "a", model = name, version = 5 } } },
            new { deployments = new[] { new { name = "a", model = "no-such-model", version = 1 } } },
            new { deployments = new[] { new { name = "a", model = name, version = 1 }, new { name = "b", model = name, version = 1 } }, traffic = new Dictionary<string, int> { ["a"] = 60, ["b"] = 30 } },
            new { deployments = new[] { new { name = "a", model = name, version = 1 } }, traffic = new Dictionary<string, int> { ["a"] = 100, ["z"] = 0 } },
            new { deployments = new[] { new { name = "a", model = name, version = 1, replicas = 0 } } },
        ];
        foreach (var spec in bad)
        {
            using var response = await App.Gateway.PutAsJsonAsync($"/api/v1/endpoints/{name}", spec);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{JsonSerializer.Serialize(spec)} gave {(int)response.StatusCode}: {body}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.False(string.IsNullOrEmpty(JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString()));
        }

        // None of the refused specs created the endpoint.
        Assert.Equal(HttpStatusCode.NotFound, (await App.Gateway.GetAsync($"/api/v1/endpoints/{name}")).StatusCode);
    }

    [Fact]
    public async Task Deleted_endpoint_stops_serving()
    {
        var name = TestNames.Unique("del");
        await App.UploadModelAsync(name, TestModels.Linear());
        await App.DeployAsync(name, new { deployments = new[] { new { name = "blue", model = name, version = 1 } } });

        Assert.Equal(HttpStatusCode.NoContent, (await App.Gateway.DeleteAsync($"/api/v1/endpoints/{name}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await App.Gateway.GetAsync($"/api/v1/endpoints/{name}")).StatusCode);
        await App.WaitUntilAsync(async () =>
            (await App.InferAsync(name, new { inputs = Array.Empty<object>() })).StatusCode == HttpStatusCode.NotFound, TimeSpan.FromSeconds(5));
        Assert.Equal(HttpStatusCode.NotFound, (await App.Gateway.DeleteAsync($"/api/v1/endpoints/{name}")).StatusCode);
    }

    [Fact]
    public async Task Management_api_is_described_by_an_openapi_document()
    {
        var document = await App.Gateway.GetFromJsonAsync<JsonElement>("/api/v1/openapi.json");
        Assert.StartsWith("3.", document.GetProperty("openapi").GetString());
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("/api/v1/models/{name}/versions", paths);
        Assert.Contains("/api/v1/models/{name}/aliases/{alias}", paths);
        Assert.Contains("/api/v1/endpoints/{name}", paths);
    }
}
