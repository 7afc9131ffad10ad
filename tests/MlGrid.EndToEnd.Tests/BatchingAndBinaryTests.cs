using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MlGrid.Testing;

namespace MlGrid.EndToEnd.Tests;

/// <summary>Dynamic batching on the workers and the binary tensor data extension, through the gateway.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class BatchingAndBinaryTests(MlGridFixture fixture)
{
    private MlGridApp App => fixture.App;

    private static float[] Input(int i) => [i * 0.25f, -i, 1f / (i + 1)];

    private static object JsonRequest(float[] x, int rows = 1) =>
        new { inputs = new[] { new { name = "input", datatype = "FP32", shape = new[] { rows, 3 }, data = x } } };

    private static float[] Outputs(JsonElement response) =>
        response.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();

    [Fact]
    public async Task Batched_deployment_answers_concurrent_requests_exactly_like_an_unbatched_one()
    {
        var name = TestNames.Unique("batch");
        await App.UploadModelAsync(name, TestModels.Linear());
        await App.DeployAsync(name, new
        {
            deployments = new object[]
            {
                new { name = "plain", model = name, version = 1 },
                new { name = "batched", model = name, version = 1, batching = new { maxBatchSize = 16, maxDelayMs = 5 } },
            },
            traffic = new Dictionary<string, int> { ["plain"] = 50, ["batched"] = 50 },
        });

        async Task<float[][]> RunAllAsync(string deployment) => await Task.WhenAll(Enumerable.Range(0, 48).Select(async i =>
        {
            // Mixed row counts: batches join requests of 1, 2 and 3 rows.
            var rows = i % 3 + 1;
            var x = Enumerable.Range(0, rows).SelectMany(r => Input(i * 10 + r)).ToArray();
            using var response = await App.Gateway.PostAsJsonAsync($"/v2/models/{name}/versions/{deployment}/infer", JsonRequest(x, rows));
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            Assert.Equal(deployment, response.Headers.GetValues("x-mlgrid-deployment").Single());
            var json = JsonDocument.Parse(body).RootElement;
            Assert.Equal([rows, 2], json.GetProperty("outputs")[0].GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
            return Outputs(json);
        }));

        var plain = await RunAllAsync("plain");
        var batched = await RunAllAsync("batched");

        for (var i = 0; i < plain.Length; i++)
        {
            Assert.Equal(plain[i], batched[i]);
        }

        var view = await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/endpoints/{name}");
        var spec = view.GetProperty("deployments").EnumerateArray().Single(d => d.GetProperty("name").GetString() == "batched").GetProperty("batching");
        Assert.Equal(16, spec.GetProperty("maxBatchSize").GetInt32());
        Assert.Equal(5, spec.GetProperty("maxDelayMs").GetInt32());
    }

    [Fact]
    public async Task Binary_tensors_in_and_out_give_the_same_numbers_as_json()
    {
        var name = TestNames.Unique("binary");
        await App.UploadModelAsync(name, TestModels.Linear());
        await App.DeployAsync(name, new { deployments = new[] { new { name = "main", model = name, version = 1 } } });
        float[] x = [1f, 2f, 3f, -4f, 0.5f, 10f];

        using var jsonResponse = await App.InferAsync(name, JsonRequest(x, rows: 2));
        var expected = Outputs(await jsonResponse.Content.ReadFromJsonAsync<JsonElement>());

        var header = JsonSerializer.SerializeToUtf8Bytes(new
        {
            id = "bin-1",
            inputs = new[] { new { name = "input", datatype = "FP32", shape = new[] { 2, 3 }, parameters = new { binary_data_size = x.Length * 4 } } },
            outputs = new[] { new { name = "output", parameters = new { binary_data = true } } },
        });
        var body = new byte[header.Length + x.Length * 4];
        header.CopyTo(body, 0);
        for (var i = 0; i < x.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(body.AsSpan(header.Length + i * 4), x[i]);
        }

        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var response = await App.Gateway.PostAsync($"/v2/models/{name}/infer", content);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, Encoding.UTF8.GetString(bytes));

        var headerLength = int.Parse(response.Headers.TryGetValues("Inference-Header-Content-Length", out var values)
            ? values.Single()
            : response.Content.Headers.GetValues("Inference-Header-Content-Length").Single(), System.Globalization.CultureInfo.InvariantCulture);
        var responseHeader = JsonDocument.Parse(bytes.AsMemory(0, headerLength)).RootElement;
        Assert.Equal("bin-1", responseHeader.GetProperty("id").GetString());
        var output = responseHeader.GetProperty("outputs")[0];
        Assert.Equal(expected.Length * 4, output.GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.False(output.TryGetProperty("data", out _));
        var actual = Enumerable.Range(0, expected.Length)
            .Select(i => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(headerLength + i * 4)))
            .ToArray();
        Assert.Equal(expected, actual);
        Assert.Equal(headerLength + expected.Length * 4, bytes.Length);
    }

    [Fact]
    public async Task Binary_request_with_a_wrong_size_is_refused_with_a_clear_error()
    {
        var name = TestNames.Unique("binbad");
        await App.UploadModelAsync(name, TestModels.Linear());
        await App.DeployAsync(name, new { deployments = new[] { new { name = "main", model = name, version = 1 } } });
        var header = JsonSerializer.SerializeToUtf8Bytes(new
        {
            inputs = new[] { new { name = "input", datatype = "FP32", shape = new[] { 2, 3 }, parameters = new { binary_data_size = 20 } } },
        });
        var body = header.Concat(new byte[20]).ToArray();

        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var response = await App.Gateway.PostAsync($"/v2/models/{name}/infer", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("input", error.GetProperty("error").GetString(), StringComparison.Ordinal);
    }
}
