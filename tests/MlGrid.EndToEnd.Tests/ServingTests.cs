using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MlGrid.Inference;
using MlGrid.Testing;

namespace MlGrid.EndToEnd.Tests;

[Collection(EndToEndCollection.Name)]
public sealed class ServingTests(MlGridFixture fixture)
{
    private MlGridApp App => fixture.App;

    [Fact]
    public async Task Linear_model_served_through_gateway_matches_onnx_runtime_in_process()
    {
        var name = TestNames.Unique("linear");
        var model = TestModels.Linear();
        await App.UploadModelAsync(name, model);
        await App.DeployAsync(name, new { deployments = new[] { new { name = "blue", model = name, version = 1, replicas = 1 } }, traffic = new Dictionary<string, int> { ["blue"] = 100 } });

        float[] input = [1f, 2f, 3f, -4f, 0.5f, 10f, 0f, 0f, 0f];
        using var response = await App.InferAsync(name, new
        {
            id = "req-7",
            inputs = new[] { new { name = "input", datatype = "FP32", shape = new[] { 3, 3 }, data = input } },
        });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal("blue", response.Headers.GetValues("x-mlgrid-deployment").Single());
        Assert.Equal("1", response.Headers.GetValues("x-mlgrid-model-version").Single());

        using var local = OnnxModel.Load(model, DevicePreference.Cpu);
        var expected = (float[])local.Run([new InferenceTensor("input", Datatypes.Fp32, [3, 3], input)])[0].Data;

        var json = JsonDocument.Parse(body).RootElement;
        Assert.Equal(name, json.GetProperty("model_name").GetString());
        Assert.Equal("1", json.GetProperty("model_version").GetString());
        Assert.Equal("req-7", json.GetProperty("id").GetString());
        var output = json.GetProperty("outputs").EnumerateArray().Single();
        Assert.Equal("output", output.GetProperty("name").GetString());
        Assert.Equal("FP32", output.GetProperty("datatype").GetString());
        Assert.Equal([3L, 2L], output.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(expected, output.GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray());
    }

    [Fact]
    public async Task Every_datatype_round_trips_through_the_gateway_like_in_process()
    {
        var name = TestNames.Unique("types");
        var model = TestModels.AllTypesIdentity();
        await App.UploadModelAsync(name, model);
        await App.DeployAsync(name, new { deployments = new[] { new { name = "main", model = name, version = "1" } } });

        var inputs = new Dictionary<string, object[]>
        {
            ["bool"] = [true, false, false, true],
            ["uint8"] = [0, 255, 7, 128],
            ["uint16"] = [0, 65535, 1, 2],
            ["uint32"] = [0, 4294967295L, 3, 4],
            ["uint64"] = [0, 18446744073709551615UL, 5, 6],
            ["int8"] = [-128, 127, 0, -1],
            ["int16"] = [-32768, 32767, 0, -1],
            ["int32"] = [int.MinValue, int.MaxValue, 0, -1],
            ["int64"] = [long.MinValue, long.MaxValue, 0, -1],
            ["fp16"] = [1.5, -2, 0.25, 65504],
            ["fp32"] = [1.25f, -3.5f, 1e-7f, 3.4e38f],
            ["fp64"] = [1e300, -2.5, 0.1, double.Epsilon],
            ["bytes"] = ["héllo", "", "wörld", "\u2603"],
        };
        var request = new
        {
            inputs = inputs.Select(i => new
            {
                name = $"in_{i.Key}",
                datatype = i.Key.ToUpperInvariant(),
                shape = new[] { 2, 2 },
                data = new[] { i.Value[..2], i.Value[2..] },
            }).ToArray(),
        };
        using var response = await App.InferAsync(name, request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);

        var requestJson = JsonSerializer.SerializeToUtf8Bytes(request);
        var parsed = OipJson.ParseRequest(requestJson);
        using var local = OnnxModel.Load(model, DevicePreference.Cpu);
        var expected = local.Run(parsed.Inputs);
        var expectedJson = JsonDocument.Parse(OipJson.SerializeResponse(new InferenceResponse(name, "1", null, expected))).RootElement;

        var outputs = JsonDocument.Parse(body).RootElement.GetProperty("outputs").EnumerateArray().ToDictionary(o => o.GetProperty("name").GetString()!);
        Assert.Equal(inputs.Count, outputs.Count);
        foreach (var want in expectedJson.GetProperty("outputs").EnumerateArray())
        {
            var got = outputs[want.GetProperty("name").GetString()!];
            Assert.Equal(want.GetProperty("datatype").GetString(), got.GetProperty("datatype").GetString());
            Assert.Equal(want.GetProperty("shape").GetRawText(), got.GetProperty("shape").GetRawText());
            Assert.Equal(want.GetProperty("data").GetRawText(), got.GetProperty("data").GetRawText());
        }

        Assert.Equal("[\"h\\u00E9llo\",\"\",\"w\\u00F6rld\",\"\\u2603\"]", outputs["out_bytes"].GetProperty("data").GetRawText());
        Assert.Equal("[true,false,false,true]", outputs["out_bool"].GetProperty("data").GetRawText());
        Assert.Equal("[-9223372036854775808,9223372036854775807,0,-1]", outputs["out_int64"].GetProperty("data").GetRawText());
        Assert.Equal("[1.5,-2,0.25,65504]", outputs["out_fp16"].GetProperty("data").GetRawText());
    }

    [Fact]
    public async Task Outputs_can_be_requested_by_name()
    {
        var name = TestNames.Unique("subset");
        await App.UploadModelAsync(name, TestModels.AllTypesIdentity());
        await App.DeployAsync(name, new { deployments = new[] { new { name = "main", model = name, version = 1 } } });

        var request = new
        {
            inputs = TestModels.AllTypes.Select(t => new
            {
                name = $"in_{t.Suffix}",
                datatype = t.Suffix.ToUpperInvariant(),
                shape = new[] { 1, 2 },
                data = t.Suffix switch { "bool" => new object[] { true, false }, "bytes" => ["a", "b"], _ => [1, 2] },
            }).ToArray(),
            outputs = new[] { new { name = "out_int32" }, new { name = "out_bytes" } },
        };
        using var response = await App.InferAsync(name, request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var names = JsonDocument.Parse(body).RootElement.GetProperty("outputs").EnumerateArray().Select(o => o.GetProperty("name").GetString()).ToList();
        Assert.Equal(["out_int32", "out_bytes"], names);
    }

    [Fact]
    public async Task Bad_inference_input_gets_a_clear_400_and_the_endpoint_keeps_serving()
    {
        var name = TestNames.Unique("bad");
        await App.UploadModelAsync(name, TestModels.Linear());
        await App.DeployAsync(name, new { deployments = new[] { new { name = "blue", model = name, version = 1 } } });

        (string Body, string Expect)[] cases =
        [
            ("{\"inputs\":[{\"name\":\"nope\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,2,3]}]}", "Unknown input 'nope'"),
            ("{\"inputs\":[]}", "Missing input 'input'"),
            ("{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP64\",\"shape\":[1,3],\"data\":[1,2,3]}]}", "datatype FP64"),
            ("{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]}", "shape [1,4]"),
            ("{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,2]}]}", "2 data elements"),
            ("{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,\"x\",3]}]}", "not a valid FP32"),
            ("{\"inputs\":[{\"name\":\"input\",\"datatype\":\"WAT\",\"shape\":[1,3],\"data\":[1,2,3]}]}", "unknown datatype"),
            ("{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,2,3]}],\"outputs\":[{\"name\":\"zzz\"}]}", "Unknown output 'zzz'"),
            ("{\"inputs\": [", "not valid JSON"),
            ("[]", "JSON object"),
        ];
        foreach (var (body, expect) in cases)
        {
            using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
            using var response = await App.Gateway.PostAsync($"/v2/models/{name}/infer", content);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{body} gave {(int)response.StatusCode}: {text}");
            var error = JsonDocument.Parse(text).RootElement.GetProperty("error").GetString();
            Assert.Contains(expect, error, StringComparison.OrdinalIgnoreCase);
        }

        using var good = await App.InferAsync(name, new { inputs = new[] { new { name = "input", datatype = "FP32", shape = new[] { 1, 3 }, data = new[] { 1f, 1f, 1f } } } });
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
    }

    [Fact]
    public async Task Unknown_endpoint_is_404_and_endpoint_without_ready_replica_is_503()
    {
        using var missing = await App.InferAsync("no-such-endpoint", new { inputs = Array.Empty<object>() });
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("does not exist", (await missing.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());

        // No worker here has a GPU, so a GPU-only deployment stays Pending and says why.
        var name = TestNames.Unique("gpu");
        await App.UploadModelAsync(name, TestModels.Linear());
        using var put = await App.Gateway.PutAsJsonAsync($"/api/v1/endpoints/{name}",
            new { deployments = new[] { new { name = "blue", model = name, version = 1, device = "gpu" } } });
        Assert.Equal(HttpStatusCode.Accepted, put.StatusCode);

        await App.WaitUntilAsync(async () => (await App.Gateway.GetAsync($"/v2/models/{name}")).IsSuccessStatusCode, TimeSpan.FromSeconds(10));
        using var notReady = await App.InferAsync(name, new { inputs = new[] { new { name = "input", datatype = "FP32", shape = new[] { 1, 3 }, data = new[] { 1f, 2f, 3f } } } });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        Assert.Contains("no ready replica", (await notReady.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await App.Gateway.GetAsync($"/v2/models/{name}/ready")).StatusCode);

        var view = await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/endpoints/{name}");
        var deployment = view.GetProperty("deployments")[0];
        Assert.Equal("Pending", deployment.GetProperty("status").GetString());
        Assert.Contains("GPU", deployment.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Replicas_are_placed_on_distinct_workers_and_report_their_execution_provider()
    {
        var name = TestNames.Unique("replicas");
        await App.UploadModelAsync(name, TestModels.Linear());
        var view = await App.DeployAsync(name, new { deployments = new[] { new { name = "blue", model = name, version = 1, replicas = 2 } } });

        var replicas = view.GetProperty("deployments")[0].GetProperty("replicaStatus").EnumerateArray().ToList();
        Assert.Equal(2, replicas.Count);
        Assert.Equal(2, replicas.Select(r => r.GetProperty("worker").GetString()).Distinct().Count());
        Assert.All(replicas, r => Assert.Equal(OnnxModel.CpuProvider, r.GetProperty("executionProvider").GetString()));
    }

    [Fact]
    public async Task Metadata_and_readiness_describe_the_served_model()
    {
        var name = TestNames.Unique("meta");
        await App.UploadModelAsync(name, TestModels.Linear());
        await App.DeployAsync(name, new { deployments = new[] { new { name = "blue", model = name, version = 1 } } });

        var metadata = await App.Gateway.GetFromJsonAsync<JsonElement>($"/v2/models/{name}");
        Assert.Equal(name, metadata.GetProperty("name").GetString());
        Assert.Equal("onnxruntime_onnx", metadata.GetProperty("platform").GetString());
        Assert.Equal("[\"1\"]", metadata.GetProperty("versions").GetRawText());
        var input = metadata.GetProperty("inputs")[0];
        Assert.Equal("input", input.GetProperty("name").GetString());
        Assert.Equal("FP32", input.GetProperty("datatype").GetString());
        Assert.Equal("[-1,3]", input.GetProperty("shape").GetRawText());
        Assert.Equal(HttpStatusCode.OK, (await App.Gateway.GetAsync($"/v2/models/{name}/ready")).StatusCode);

        var server = await App.Anonymous.GetFromJsonAsync<JsonElement>("/v2");
        Assert.Equal("mlgrid", server.GetProperty("name").GetString());
        Assert.Equal(HttpStatusCode.OK, (await App.Anonymous.GetAsync("/v2/health/live")).StatusCode);
    }

    [Fact]
    public async Task Changing_a_deployments_model_keeps_serving_until_the_new_model_takes_over()
    {
        var oldModel = TestNames.Unique("old");
        var newModel = TestNames.Unique("new");
        var endpoint = TestNames.Unique("rollout");
        await App.UploadModelAsync(oldModel, TestModels.Linear());
        await App.UploadModelAsync(newModel, TestModels.FixedShapeRelu());
        await App.DeployAsync(endpoint, new { deployments = new[] { new { name = "blue", model = oldModel, version = 1 } } });

        var oldRequest = new { inputs = new[] { new { name = "input", datatype = "FP32", shape = new[] { 1, 3 }, data = new[] { 1f, 2f, 3f } } } };
        using var put = await App.Gateway.PutAsJsonAsync($"/api/v1/endpoints/{endpoint}",
            new { deployments = new[] { new { name = "blue", model = newModel, version = 1 } } });
        Assert.Equal(HttpStatusCode.Accepted, put.StatusCode);

        // Until the new replica is ready the old one answers; never does the endpoint go dark in between.
        var served = new List<HttpStatusCode>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            using var response = await App.InferAsync(endpoint, oldRequest);
            served.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                Assert.Equal(oldModel, response.Headers.GetValues("x-mlgrid-model").Single());
            }
            else
            {
                // The new model refuses the old model's input: it has taken over.
                Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
                break;
            }

            await Task.Delay(50);
        }

        Assert.Equal(HttpStatusCode.BadRequest, served[^1]);
        using var fresh = await App.InferAsync(endpoint, new { inputs = new[] { new { name = "x", datatype = "FP32", shape = new[] { 1, 4 }, data = new[] { -1f, 2f, -3f, 4f } } } });
        Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
        Assert.Equal(newModel, fresh.Headers.GetValues("x-mlgrid-model").Single());
        var output = (await fresh.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outputs")[0].GetProperty("data").GetRawText();
        Assert.Equal("[0,2,0,4]", output);
    }
}
