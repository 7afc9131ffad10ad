using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MlGrid.Testing;

namespace MlGrid.EndToEnd.Tests;

/// <summary>
/// Malformed, mistyped, oversized, deeply nested, traversing and non-UTF-8 input against every public route, through the
/// real gateway: each gets a 4xx in its surface's error format, no process falls over, and no state changes.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class BadInputTests(MlGridFixture fixture)
{
    private const string Target = "bad-input-target";
    private static readonly SemaphoreSlim SetupLock = new(1, 1);
    private static bool _setUp;

    private MlGridApp App => fixture.App;

    /// <summary>
    /// Names no route accepts. Dot segments (<c>..</c>, <c>%2e%2e</c>) are not here: the server resolves them before
    /// routing, so <c>/v2/models/..</c> is simply <c>/v2</c>; <see cref="DotSegments"/> checks they cannot reach further.
    /// </summary>
    private static readonly string[] BadNames =
    [
        "..%2F..%2Fetc%2Fpasswd",
        "..%5C..%5Cwindows",
        "%C3%28",
        "with%20space",
        "-leading-dash",
        new string('n', 300),
    ];

    private static readonly string[] DotSegments = ["..", "%2e%2e", "..%2f..", "../../..", "%2e%2e/%2e%2e/%2e%2e"];

    private static readonly string[] BadJson =
    [
        "{",
        "{\"deployments\":",
        "nul",
        "[1,2",
        "\"just a string\"",
        "[]",
        "null",
        "42",
        new string('[', 100_000) + new string(']', 100_000),
        string.Concat(Enumerable.Repeat("{\"a\":", 20_000)) + "1" + new string('}', 20_000),
    ];

    [Fact]
    public async Task Management_api_refuses_bad_input_with_problem_details_and_changes_nothing()
    {
        await EnsureTargetAsync();
        var cases = new List<Case>();

        foreach (var json in BadJson.Concat(
        [
            "{\"deployments\":\"x\"}",
            "{\"deployments\":[{\"name\":5,\"model\":[],\"version\":{}}]}",
            "{\"deployments\":[{\"name\":\"blue\",\"model\":\"m\",\"version\":1,\"replicas\":-3}]}",
            "{\"deployments\":[{\"name\":\"blue\",\"model\":\"m\",\"version\":1,\"replicas\":1e400}]}",
            "{\"deployments\":[{\"name\":\"../../x\",\"model\":\"../m\",\"version\":1}]}",
            "{\"deployments\":[{\"name\":\"blue\",\"model\":\"" + Target + "\",\"version\":1}],\"traffic\":{\"blue\":\"all\"}}",
            "{\"deployments\":[{\"name\":\"blue\",\"model\":\"" + Target + "\",\"version\":1}],\"rateLimit\":{\"requestsPerSecond\":0}}",
        ]))
        {
            cases.Add(new("PUT", $"/api/v1/endpoints/{Target}", Json(json)));
            cases.Add(new("PATCH", $"/api/v1/endpoints/{Target}/traffic", Json(json)));
        }

        foreach (var json in BadJson.Concat(
        [
            "{\"name\":7,\"role\":true}",
            "{\"name\":\"k\",\"role\":\"superuser\"}",
            "{\"name\":\"k\",\"role\":\"reader\",\"expiresAt\":\"yesterday\"}",
            "{\"name\":\"k\",\"role\":\"reader\",\"expiresAt\":\"2001-01-01T00:00:00Z\"}",
            "{\"name\":\"k\",\"role\":\"reader\",\"endpoints\":\"all\"}",
            "{\"name\":\"k\",\"role\":\"reader\",\"endpoints\":[\"" + Target + "\"]}",
            "{\"name\":\"k\",\"role\":\"predictor\",\"endpoints\":[\"../..\"]}",
            "{\"name\":\"k\",\"role\":\"reader\",\"requestsPerSecond\":-5}",
            "{\"name\":\"k\",\"role\":\"reader\",\"requestsPerSecond\":1e309}",
            "{\"name\":\"../../k\",\"role\":\"reader\"}",
            "{\"name\":\"" + new string('k', 5000) + "\",\"role\":\"reader\"}",
            "{\"name\":\"k\",\"role\":\"reader\",\"unexpected\":1}",
        ]))
        {
            cases.Add(new("POST", "/api/v1/keys", Json(json)));
        }

        foreach (var json in BadJson.Concat(["{\"version\":\"abc\"}", "{\"version\":999}", "{\"version\":-1}", "{}"]))
        {
            cases.Add(new("PUT", $"/api/v1/models/{Target}/aliases/champion", Json(json)));
        }

        var model = TestModels.Linear();
        foreach (var onnx in new[] { model[..(model.Length / 2)], model[..10], [], Encoding.UTF8.GetBytes("{\"not\":\"onnx\"}"), RandomBytes(4096) })
        {
            cases.Add(new("POST", $"/api/v1/models/{Target}/versions", Octets(onnx)));
        }

        var csv = "a,b,c\n1,2,3\n4,5,6\n"u8.ToArray();
        foreach (var bad in new[]
        {
            csv[..^3], csv[..7], Encoding.UTF8.GetBytes("a,b\n1,\"open\n"), Encoding.UTF8.GetBytes("a,a\n1,2\n"), [],
            [.. "a,b\n1,"u8, 0xFF, 0xFE, .. "\n"u8], RandomBytes(4096),
        })
        {
            cases.Add(new("POST", $"/api/v1/datasets/{Target}/versions", Csv(bad)));
        }

        cases.Add(new("POST", $"/api/v1/datasets/{Target}/versions", Octets(csv)));

        var parquet = DatasetTests.SampleParquet;
        foreach (var bad in new[]
        {
            csv, [], parquet[..^1], parquet[..(parquet.Length / 2)], [.. "PAR1"u8, .. RandomBytes(4096), .. "PAR1"u8],
            [.. parquet.AsSpan(0, parquet.Length - 8), .. BitConverter.GetBytes(int.MaxValue), .. "PAR1"u8], RandomBytes(4096),
        })
        {
            cases.Add(new("POST", $"/api/v1/datasets/{Target}/versions", Parquet(bad)));
        }

        foreach (var name in BadNames)
        {
            cases.Add(new("POST", $"/api/v1/datasets/{name}/versions", Csv(csv)));
            cases.Add(new("GET", $"/api/v1/datasets/{name}"));
            cases.Add(new("GET", $"/api/v1/datasets/{Target}/versions/{name}/content"));
            cases.Add(new("POST", $"/api/v1/models/{name}/versions", Octets(model)));
            cases.Add(new("GET", $"/api/v1/models/{name}"));
            cases.Add(new("GET", $"/api/v1/models/{Target}/versions/{name}"));
            cases.Add(new("GET", $"/api/v1/models/{Target}/versions/{name}/content"));
            cases.Add(new("PUT", $"/api/v1/models/{Target}/aliases/{name}", Json("{\"version\":1}")));
            cases.Add(new("DELETE", $"/api/v1/models/{Target}/aliases/{name}"));
            cases.Add(new("PUT", $"/api/v1/endpoints/{name}", Json("{\"deployments\":[{\"name\":\"blue\",\"model\":\"" + Target + "\",\"version\":1}]}")));
            cases.Add(new("GET", $"/api/v1/endpoints/{name}"));
            cases.Add(new("DELETE", $"/api/v1/endpoints/{name}"));
            cases.Add(new("PATCH", $"/api/v1/endpoints/{name}/traffic", Json("{\"blue\":100}")));
            cases.Add(new("GET", $"/api/v1/keys/{name}"));
            cases.Add(new("DELETE", $"/api/v1/keys/{name}"));
        }

        foreach (var dots in DotSegments)
        {
            cases.Add(new("PUT", $"/api/v1/endpoints/{dots}", Json("{\"deployments\":[]}"), Expect.NoServerError));
            cases.Add(new("DELETE", $"/api/v1/models/{Target}/aliases/{dots}", null, Expect.NoServerError));
            cases.Add(new("DELETE", $"/api/v1/keys/{dots}", null, Expect.NoServerError));
            cases.Add(new("POST", $"/api/v1/models/{dots}/versions", Octets(model), Expect.NoServerError));
        }

        // A NUL in the path is refused by the HTTP server itself, before any route (a bare 400).
        cases.Add(new("GET", "/api/v1/models/a%00b", null, Expect.BareBadRequest));
        cases.Add(new("PUT", "/api/v1/endpoints/a%00b", Json("{\"deployments\":[]}"), Expect.BareBadRequest));

        foreach (var version in new[] { "abc", "-1", "0", "99999999999999999999", "1.5" })
        {
            cases.Add(new("GET", $"/api/v1/models/{Target}/versions/{version}"));
            cases.Add(new("GET", $"/api/v1/models/{Target}/versions/{version}/content"));
        }

        foreach (var query in new[] { "limit=0", "limit=100000", "limit=abc", "from=notadate", "to=13-13-13", "pageToken=abc", "pageToken=-1", "outcome=%C3%28" })
        {
            cases.Add(new("GET", $"/api/v1/audit?{query}"));
        }

        cases.Add(new("PUT", $"/api/v1/endpoints/{Target}", InvalidUtf8Json("{\"deployments\":[{\"name\":\"", "\",\"model\":\"m\",\"version\":1}]}")));
        cases.Add(new("POST", "/api/v1/keys", InvalidUtf8Json("{\"name\":\"", "\",\"role\":\"reader\"}")));
        cases.Add(new("PATCH", $"/api/v1/endpoints/{Target}/traffic", InvalidUtf8Json("{\"", "\":100}")));
        cases.Add(new("PUT", $"/api/v1/models/{Target}/aliases/champion", InvalidUtf8Json("{\"version\":\"", "\"}")));
        cases.Add(new("PUT", $"/api/v1/endpoints/{Target}", new StringContent("deployments=1", Encoding.UTF8, "text/plain")));
        cases.Add(new("POST", "/api/v1/keys", new StringContent("name=k&role=admin", Encoding.UTF8, "application/x-www-form-urlencoded")));
        cases.Add(new("PUT", $"/api/v1/endpoints/{Target}", Json("{\"deployments\":[],\"pad\":\"" + new string('x', 2 * 1024 * 1024) + "\"}")));
        cases.Add(new("POST", "/api/v1/keys", Json("{\"name\":\"k\",\"role\":\"reader\",\"pad\":\"" + new string('x', 2 * 1024 * 1024) + "\"}")));

        await RunAsync(cases, problemDetails: true);
    }

    [Fact]
    public async Task Inference_api_refuses_bad_input_with_an_error_body_and_keeps_serving()
    {
        await EnsureTargetAsync();
        var cases = new List<Case>();
        foreach (var path in new[] { $"/v2/models/{Target}/infer", $"/v2/models/{Target}/versions/blue/infer" })
        {
            foreach (var json in BadJson.Concat(
            [
                "{\"inputs\":\"x\"}",
                "{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,2]}]}",
                "{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[-1,3],\"data\":[1,2,3]}]}",
                "{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP99\",\"shape\":[1,3],\"data\":[1,2,3]}]}",
                "{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1000000000000,3],\"data\":[1]}]}",
                "{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[\"a\",\"b\",\"c\"]}]}",
                "{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1e39,0,0]}]}",
                "{\"inputs\":[{\"name\":\"other\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,2,3]}]}",
                "{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,2,3]}],\"outputs\":[{\"name\":\"nope\"}]}",
                "{\"id\":\"" + new string('i', 1000) + "\",\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,2,3]}]}",
            ]))
            {
                cases.Add(new("POST", path, Json(json)));
            }

            cases.Add(new("POST", path, InvalidUtf8Json("{\"id\":\"", "\",\"inputs\":[]}")));
            cases.Add(new("POST", path, Binary("{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,3],\"parameters\":{\"binary_data_size\":12}}]}", 4, headerLength: null)));
            cases.Add(new("POST", path, Binary("{\"inputs\":[]}", 0, headerLength: "99999")));
            cases.Add(new("POST", path, Binary("{\"inputs\":[]}", 0, headerLength: "-1")));
            cases.Add(new("POST", path, Binary("{\"inputs\":[]}", 0, headerLength: "abc")));
            cases.Add(new("POST", path, new ByteArrayContent([])));
        }

        foreach (var name in BadNames)
        {
            cases.Add(new("POST", $"/v2/models/{name}/infer", Json("{\"inputs\":[]}")));
            cases.Add(new("GET", $"/v2/models/{name}"));
            cases.Add(new("GET", $"/v2/models/{name}/ready"));
            cases.Add(new("POST", $"/v2/models/{Target}/versions/{name}/infer", Json("{\"inputs\":[]}")));
            cases.Add(new("GET", $"/v2/models/{Target}/versions/{name}/ready"));
        }

        foreach (var dots in DotSegments)
        {
            cases.Add(new("POST", $"/v2/models/{dots}/infer", Json("{\"inputs\":[]}"), Expect.NoServerError));
            cases.Add(new("GET", $"/v2/models/{dots}/ready", null, Expect.NoServerError));
            cases.Add(new("POST", $"/v2/models/{Target}/versions/{dots}/infer", Json("{\"inputs\":[]}"), Expect.NoServerError));
        }

        cases.Add(new("POST", "/v2/models/a%00b/infer", Json("{\"inputs\":[]}"), Expect.BareBadRequest));

        await RunAsync(cases, problemDetails: false);

        using var served = await App.InferAsync(Target, new
        {
            inputs = new[] { new { name = "input", datatype = "FP32", shape = new[] { 1, 3 }, data = new[] { 1f, 2f, 3f } } },
        });
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    private async Task RunAsync(List<Case> cases, bool problemDetails)
    {
        var before = await SnapshotAsync();
        var failures = new List<string>();
        foreach (var c in cases)
        {
            using var request = new HttpRequestMessage(new HttpMethod(c.Method),
                new Uri(App.Gateway.BaseAddress + c.Path.TrimStart('/'), new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true }))
            {
                Content = c.Content,
            };
            request.Headers.Authorization = App.Gateway.DefaultRequestHeaders.Authorization;
            var label = $"{c.Method} {Shorten(c.Path)} [{Shorten(await Describe(c.Content))}]";
            try
            {
                using var response = await App.Anonymous.SendAsync(request);
                var status = (int)response.StatusCode;
                var body = await response.Content.ReadAsStringAsync();
                if (c.Expect == Expect.NoServerError)
                {
                    if (status >= 500)
                    {
                        failures.Add($"{label} gave {status}: {Shorten(body)}");
                    }
                }
                else if (c.Expect == Expect.BareBadRequest)
                {
                    if (status != 400)
                    {
                        failures.Add($"{label} gave {status}, not the server's 400: {Shorten(body)}");
                    }
                }
                else if (status is < 400 or >= 500)
                {
                    failures.Add($"{label} gave {status}: {Shorten(body)}");
                }
                else if (problemDetails && response.Content.Headers.ContentType?.MediaType != "application/problem+json")
                {
                    failures.Add($"{label} gave {status} as {response.Content.Headers.ContentType?.MediaType}, not problem details: {Shorten(body)}");
                }
                else if (!problemDetails && !HasError(body))
                {
                    failures.Add($"{label} gave {status} without an 'error': {Shorten(body)}");
                }
            }
            catch (HttpRequestException ex)
            {
                failures.Add($"{label} broke the connection: {ex.Message}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} bad requests were mishandled:\n" + string.Join("\n", failures));

        using (var ready = await App.Anonymous.GetAsync("/v2/health/ready"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        var workers = await App.Gateway.GetFromJsonAsync<JsonElement>("/api/v1/workers");
        Assert.Equal(2, Items(workers, "workers").Count());
        Assert.Equal(before, await SnapshotAsync());

        using var verify = await App.Gateway.GetAsync("/api/v1/audit/verify");
        Assert.Equal(HttpStatusCode.OK, verify.StatusCode);
    }

    /// <summary>What bad input must not change: models and their versions and aliases, endpoints and their specs, keys.</summary>
    private async Task<string> SnapshotAsync()
    {
        var text = new StringBuilder();
        var models = await App.Gateway.GetFromJsonAsync<JsonElement>("/api/v1/models");
        foreach (var model in Items(models, "models"))
        {
            text.Append("model ").Append(model.GetProperty("name").GetString()).Append(' ').Append(model.GetProperty("latestVersion"))
                .Append(' ').Append(model.GetProperty("aliases").GetRawText()).Append('\n');
        }

        var datasets = await App.Gateway.GetFromJsonAsync<JsonElement>("/api/v1/datasets");
        foreach (var dataset in Items(datasets, "datasets"))
        {
            text.Append("dataset ").Append(dataset.GetProperty("name").GetString()).Append(' ').Append(dataset.GetProperty("latestVersion")).Append('\n');
        }

        var endpoints = await App.Gateway.GetFromJsonAsync<JsonElement>("/api/v1/endpoints");
        foreach (var endpoint in Items(endpoints, "endpoints"))
        {
            text.Append("endpoint ").Append(endpoint.GetProperty("name").GetString()).Append(' ')
                .Append(endpoint.GetProperty("generation")).Append(' ').Append(endpoint.GetProperty("spec").GetRawText()).Append('\n');
        }

        var keys = await App.Gateway.GetFromJsonAsync<JsonElement>("/api/v1/keys");
        foreach (var key in keys.GetProperty("keys").EnumerateArray())
        {
            text.Append("key ").Append(key.GetProperty("id").GetString()).Append(' ').Append(key.GetProperty("status").GetString()).Append('\n');
        }

        return text.ToString();
    }

    private static IEnumerable<JsonElement> Items(JsonElement list, string property) =>
        list.ValueKind == JsonValueKind.Array ? list.EnumerateArray() : list.GetProperty(property).EnumerateArray();

    private async Task EnsureTargetAsync()
    {
        await SetupLock.WaitAsync();
        try
        {
            if (_setUp)
            {
                return;
            }

            await App.UploadModelAsync(Target, TestModels.Linear());
            await App.DeployAsync(Target, new { deployments = new[] { new { name = "blue", model = Target, version = 1 } } });
            _setUp = true;
        }
        finally
        {
            SetupLock.Release();
        }
    }

    private static bool HasError(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static async Task<string> Describe(HttpContent? content) =>
        content is null ? "" : Encoding.UTF8.GetString((await content.ReadAsByteArrayAsync()).AsSpan(0, (int)Math.Min(60, content.Headers.ContentLength ?? 60)));

    private static string Shorten(string text) => text.Length <= 120 ? text : text[..120] + "…";

    private static ByteArrayContent Json(string json)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        content.Headers.ContentType = new("application/json");
        return content;
    }

    private static ByteArrayContent InvalidUtf8Json(string before, string after)
    {
        var content = new ByteArrayContent([.. Encoding.UTF8.GetBytes(before), 0xFF, 0xFE, 0xC3, 0x28, .. Encoding.UTF8.GetBytes(after)]);
        content.Headers.ContentType = new("application/json");
        return content;
    }

    private static ByteArrayContent Csv(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new("text/csv");
        return content;
    }

    private static ByteArrayContent Parquet(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new("application/vnd.apache.parquet");
        return content;
    }

    private static ByteArrayContent Octets(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new("application/octet-stream");
        return content;
    }

    private static ByteArrayContent Binary(string header, int binaryBytes, string? headerLength)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var content = new ByteArrayContent([.. json, .. new byte[binaryBytes]]);
        content.Headers.ContentType = new("application/octet-stream");
        content.Headers.TryAddWithoutValidation("Inference-Header-Content-Length", headerLength ?? json.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return content;
    }

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(7).NextBytes(bytes);
        return bytes;
    }

    private enum Expect
    {
        /// <summary>A 4xx with the surface's error body.</summary>
        ClientError,

        /// <summary>Anything but a 5xx: the path resolves to another route, which answers as it does.</summary>
        NoServerError,

        /// <summary>The HTTP server's own 400, sent before routing (no body).</summary>
        BareBadRequest,
    }

    private sealed record Case(string Method, string Path, HttpContent? Content = null, Expect Expect = Expect.ClientError);
}
