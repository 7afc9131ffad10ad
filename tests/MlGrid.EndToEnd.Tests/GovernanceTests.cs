using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using MlGrid.Testing;

namespace MlGrid.EndToEnd.Tests;

/// <summary>Keys, roles, revocation, rate limits and the audit trail, through the real gateway and control plane.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class GovernanceTests(MlGridFixture fixture)
{
    private MlGridApp App => fixture.App;

    /// <summary>One call per API area; writes carry bodies the API refuses, so an allowed call changes nothing.</summary>
    public static TheoryData<string, string, string, string?, string> Calls => new()
    {
        // area, method, path, body, who may call: "read", "write", "admin", "predict", "metadata"
        { "models", "GET", "/api/v1/models", null, "read" },
        { "models", "POST", "/api/v1/models/matrix-model/versions", "not an onnx file", "write" },
        { "models", "PUT", "/api/v1/models/matrix-model/aliases/champion", "{}", "write" },
        { "endpoints", "GET", "/api/v1/endpoints", null, "read" },
        { "endpoints", "PUT", "/api/v1/endpoints/matrix-endpoint", "{}", "write" },
        { "endpoints", "PATCH", "/api/v1/endpoints/matrix-endpoint/traffic", "{}", "write" },
        { "endpoints", "DELETE", "/api/v1/endpoints/matrix-endpoint", null, "write" },
        { "workers", "GET", "/api/v1/workers", null, "read" },
        { "keys", "GET", "/api/v1/keys", null, "admin" },
        { "keys", "POST", "/api/v1/keys", "{}", "admin" },
        { "keys", "DELETE", "/api/v1/keys/key_000000000000", null, "admin" },
        { "audit", "GET", "/api/v1/audit", null, "admin" },
        { "audit", "GET", "/api/v1/audit/verify", null, "admin" },
        { "mlflow", "GET", "/api/2.0/mlflow/experiments/get?experiment_id=0", null, "read" },
        { "mlflow", "POST", "/api/2.0/mlflow/runs/search", "{}", "read" },
        { "mlflow", "POST", "/api/2.0/mlflow/runs/create", "{}", "write" },
        { "gateway", "GET", "/gateway/v1/stats", null, "admin" },
        { "inference", "POST", "/v2/models/matrix-endpoint/infer", "{\"inputs\":[]}", "predict" },
        { "inference", "GET", "/v2/models/matrix-endpoint", null, "metadata" },
    };

    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["read"] = ["admin", "editor", "reader"],
        ["write"] = ["admin", "editor"],
        ["admin"] = ["admin"],
        ["predict"] = ["admin", "editor", "predictor"],
        ["metadata"] = ["admin", "editor", "reader", "predictor"],
    };

    [Theory]
    [MemberData(nameof(Calls))]
    public async Task Role_matrix_over_every_api_area(string area, string method, string path, string? body, string access)
    {
        var keys = await RoleKeysAsync();
        foreach (var (role, key) in keys)
        {
            using var client = App.WithKey(key);
            using var response = await client.SendAsync(Request(method, path, body));
            var text = await response.Content.ReadAsStringAsync();
            var status = (int)response.StatusCode;
            Assert.True(status < 500, $"{area}: {method} {path} as {role} gave {status}: {text}");
            if (Allowed[access].Contains(role))
            {
                Assert.True(status is not (401 or 403), $"{area}: {method} {path} as {role} was refused ({status}): {text}");
            }
            else
            {
                Assert.True(status == 403, $"{area}: {method} {path} as {role} should be 403 but gave {status}: {text}");
                Assert.Contains(access == "admin" ? "admin role" : "role", text);
                Assert.Contains($"the {role} role", text);
            }
        }

        using var anonymous = await App.Anonymous.SendAsync(Request(method, path, body));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact]
    public async Task Refusals_use_the_error_body_of_the_surface_called()
    {
        var (_, reader) = await App.CreateKeyAsync("reader");
        using var client = App.WithKey(reader);

        using var problem = await client.PutAsync("/api/v1/endpoints/x", JsonBody("{}"));
        Assert.Equal("application/problem+json", problem.Content.Headers.ContentType?.MediaType);
        var detail = (await problem.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString();
        Assert.Contains("editor or admin", detail);

        using var mlflow = await client.PostAsync("/api/2.0/mlflow/runs/create", JsonBody("{}"));
        var mlflowBody = await mlflow.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("PERMISSION_DENIED", mlflowBody.GetProperty("error_code").GetString());
        Assert.Contains("editor or admin", mlflowBody.GetProperty("message").GetString());

        using var unauthenticated = await App.Anonymous.GetAsync("/api/2.0/mlflow/experiments/get?experiment_id=0");
        var unauthenticatedBody = await unauthenticated.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("UNAUTHENTICATED", unauthenticatedBody.GetProperty("error_code").GetString());
        Assert.Contains("reader, editor or admin role", unauthenticatedBody.GetProperty("message").GetString());

        using var unknownKey = await App.WithKey("mlgk_key_0123456789ab_unknown").PutAsync("/api/v1/endpoints/x", JsonBody("{}"));
        Assert.Equal(HttpStatusCode.Unauthorized, unknownKey.StatusCode);
        Assert.Contains("editor or admin role", (await unknownKey.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());

        using var inference = await client.PostAsync("/v2/models/x/infer", JsonBody("{\"inputs\":[]}"));
        Assert.Equal(HttpStatusCode.Forbidden, inference.StatusCode);
        Assert.Contains("predictor", (await inference.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task Editor_deploys_and_a_scoped_predictor_calls_only_its_endpoint()
    {
        var name = TestNames.Unique("scoped");
        var (_, editor) = await App.CreateKeyAsync("editor");
        using var editing = App.WithKey(editor);
        using (var upload = new ByteArrayContent(TestModels.Linear()))
        {
            upload.Headers.ContentType = new("application/octet-stream");
            using var uploaded = await editing.PostAsync($"/api/v1/models/{name}/versions", upload);
            Assert.Equal(HttpStatusCode.Created, uploaded.StatusCode);
        }

        using (var put = await editing.PutAsJsonAsync($"/api/v1/endpoints/{name}", Spec(name)))
        {
            Assert.Equal(HttpStatusCode.Accepted, put.StatusCode);
        }

        await App.WaitForReadyAsync(name);

        var (_, scoped) = await App.CreateKeyAsync("predictor", endpoints: [name]);
        using var predicting = App.WithKey(scoped);
        using (var ok = await predicting.PostAsJsonAsync($"/v2/models/{name}/infer", LinearRequest()))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using (var other = await predicting.PostAsJsonAsync("/v2/models/some-other-endpoint/infer", LinearRequest()))
        {
            Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
            Assert.Contains("scoped", await other.Content.ReadAsStringAsync());
        }

        using (var manage = await predicting.GetAsync($"/api/v1/endpoints/{name}"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, manage.StatusCode);
        }

        var (_, reader) = await App.CreateKeyAsync("reader");
        using var reading = App.WithKey(reader);
        using (var view = await reading.GetAsync($"/api/v1/endpoints/{name}"))
        {
            Assert.Equal(HttpStatusCode.OK, view.StatusCode);
        }

        using (var infer = await reading.PostAsJsonAsync($"/v2/models/{name}/infer", LinearRequest()))
        {
            Assert.Equal(HttpStatusCode.Forbidden, infer.StatusCode);
        }
    }

    [Fact]
    public async Task Key_secret_is_shown_once_and_only_its_hash_is_kept()
    {
        var (id, key) = await App.CreateKeyAsync("reader");
        var secret = key[(key.LastIndexOf('_') + 1)..];

        var list = await App.Gateway.GetStringAsync("/api/v1/keys");
        var one = await App.Gateway.GetStringAsync($"/api/v1/keys/{id}");
        Assert.Contains(id, list);
        foreach (var text in new[] { list, one })
        {
            Assert.DoesNotContain(secret, text);
            Assert.DoesNotContain("\"key\"", text);
            Assert.DoesNotContain("hash", text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("salt", text, StringComparison.OrdinalIgnoreCase);
        }

        var view = JsonDocument.Parse(one).RootElement;
        Assert.Equal("reader", view.GetProperty("role").GetString());
        Assert.Equal("active", view.GetProperty("status").GetString());
        Assert.Equal("admin", view.GetProperty("createdBy").GetString());

        // What is stored in grain state holds no secret either.
        var storage = await App.StorageAsync();
        await foreach (var container in storage.GetBlobContainersAsync())
        {
            var blobs = storage.GetBlobContainerClient(container.Name);
            await foreach (var blob in blobs.GetBlobsAsync())
            {
                if (blob.Properties.ContentLength is > 1_000_000)
                {
                    continue;
                }

                var content = (await blobs.GetBlobClient(blob.Name).DownloadContentAsync()).Value.Content.ToString();
                Assert.DoesNotContain(secret, content);
            }
        }
    }

    [Fact]
    public async Task Revoked_key_is_refused_by_the_gateway_within_a_second()
    {
        var (id, key) = await App.CreateKeyAsync("reader");
        using var client = App.WithKey(key);
        using (var before = await client.GetAsync("/api/v1/models"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        using (var revoke = await App.Gateway.DeleteAsync($"/api/v1/keys/{id}"))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
            Assert.Equal("revoked", (await revoke.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        }

        var clock = Stopwatch.StartNew();
        HttpStatusCode status;
        string body;
        do
        {
            using var after = await client.GetAsync("/api/v1/models");
            status = after.StatusCode;
            body = await after.Content.ReadAsStringAsync();
        }
        while (status == HttpStatusCode.OK && clock.Elapsed < TimeSpan.FromSeconds(5));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"The revoked key still worked {clock.Elapsed.TotalMilliseconds:F0} ms after revocation.");
        Assert.Contains("revoked", body);
    }

    [Fact]
    public async Task Expired_key_is_refused_with_the_reason()
    {
        var (_, key) = await App.CreateKeyAsync("reader", expiresAt: DateTimeOffset.UtcNow.AddSeconds(3));
        using var client = App.WithKey(key);
        using (var before = await client.GetAsync("/api/v1/models"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        await Task.Delay(TimeSpan.FromSeconds(3.5));
        using var after = await client.GetAsync("/api/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Contains("expired", await after.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Audit_trail_records_who_did_what_and_every_refusal()
    {
        var name = TestNames.Unique("audited");
        var (editorId, editor) = await App.CreateKeyAsync("editor");
        var (readerId, reader) = await App.CreateKeyAsync("reader");
        using var editing = App.WithKey(editor);
        using var reading = App.WithKey(reader);

        string requestId;
        using (var upload = new ByteArrayContent(TestModels.Linear()))
        {
            upload.Headers.ContentType = new("application/octet-stream");
            using var uploaded = await editing.PostAsync($"/api/v1/models/{name}/versions", upload);
            Assert.Equal(HttpStatusCode.Created, uploaded.StatusCode);
            requestId = uploaded.Headers.GetValues("x-request-id").Single();
        }

        using (var refused = await reading.PutAsJsonAsync($"/api/v1/endpoints/{name}", Spec(name)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        using (var unknown = await App.WithKey("mlgk_key_0123456789ab_not-a-real-secret").GetAsync("/api/v1/models"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        }

        var upload1 = await SingleEntryAsync($"principal={editorId}&target=/api/v1/models/{name}");
        Assert.Equal("succeeded", upload1.GetProperty("outcome").GetString());
        Assert.Equal(201, upload1.GetProperty("status").GetInt32());
        Assert.Equal("POST /api/v1/models/{name}/versions", upload1.GetProperty("action").GetString());
        Assert.Equal(requestId, upload1.GetProperty("requestId").GetString());

        var refusal = await SingleEntryAsync($"principal={readerId}&outcome=refused");
        Assert.Equal(403, refusal.GetProperty("status").GetInt32());
        Assert.Equal($"/api/v1/endpoints/{name}", refusal.GetProperty("target").GetString());
        Assert.Contains("editor or admin", refusal.GetProperty("detail").GetString());

        var unknownKey = await SingleEntryAsync("principal=key_0123456789ab&outcome=refused");
        Assert.Equal(401, unknownKey.GetProperty("status").GetInt32());

        // The key's creation is on the trail too, as the admin's action.
        var created = await App.Gateway.GetFromJsonAsync<JsonElement>("/api/v1/audit?principal=admin&action=keys&limit=50");
        Assert.Contains(created.GetProperty("entries").EnumerateArray(), e => e.GetProperty("detail").GetString()?.Contains(editorId) == true);

        // Paging: one entry at a time, newest first, each page older than the one before.
        var first = await App.Gateway.GetFromJsonAsync<JsonElement>("/api/v1/audit?limit=1");
        var token = first.GetProperty("nextPageToken").GetString();
        Assert.False(string.IsNullOrEmpty(token));
        var second = await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/audit?limit=1&pageToken={token}");
        Assert.True(second.GetProperty("entries")[0].GetProperty("sequence").GetInt64() < first.GetProperty("entries")[0].GetProperty("sequence").GetInt64());

        using var verify = await App.Gateway.GetAsync("/api/v1/audit/verify");
        Assert.Equal(HttpStatusCode.OK, verify.StatusCode);
        Assert.True((await verify.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("intact").GetBoolean());
    }

    [Fact]
    public async Task Audit_verify_finds_an_entry_altered_in_storage()
    {
        var (id, key) = await App.CreateKeyAsync("editor");
        using (var client = App.WithKey(key))
        using (var change = await client.PutAsync($"/api/v1/models/{TestNames.Unique("m")}/aliases/champion", JsonBody("{\"version\":1}")))
        {
            Assert.True((int)change.StatusCode < 500);
        }

        var entry = await SingleEntryAsync($"principal={id}");
        var sequence = entry.GetProperty("sequence").GetInt64();
        await Task.Delay(TimeSpan.FromSeconds(1));

        var container = (await App.StorageAsync()).GetBlobContainerClient("audit");
        AppendBlobClient? segment = null;
        string? original = null;
        await foreach (var blob in container.GetBlobsAsync())
        {
            var candidate = container.GetAppendBlobClient(blob.Name);
            var text = (await candidate.DownloadContentAsync()).Value.Content.ToString();
            if (text.Split('\n').Any(line => line.Contains($"\"sequence\":{sequence},", StringComparison.Ordinal)))
            {
                segment = candidate;
                original = text;
            }
        }

        Assert.NotNull(segment);
        var line = original!.Split('\n').Single(l => l.Contains($"\"sequence\":{sequence},", StringComparison.Ordinal));
        var altered = line.Replace($"\"principal\":\"{id}\"", "\"principal\":\"someone-else\"", StringComparison.Ordinal);
        Assert.NotEqual(line, altered);

        await RewriteAsync(segment, text => text.Replace(line, altered, StringComparison.Ordinal));
        try
        {
            using var verify = await App.Gateway.GetAsync("/api/v1/audit/verify");
            var body = await verify.Content.ReadAsStringAsync();
            Assert.True(verify.StatusCode == HttpStatusCode.Conflict, body);
            var problem = JsonDocument.Parse(body).RootElement;
            Assert.Equal(sequence, problem.GetProperty("firstBadSequence").GetInt64());
            Assert.Contains($"entry {sequence}", problem.GetProperty("detail").GetString());
        }
        finally
        {
            await RewriteAsync(segment, text => text.Replace(altered, line, StringComparison.Ordinal));
        }

        using var restored = await App.Gateway.GetAsync("/api/v1/audit/verify");
        Assert.Equal(HttpStatusCode.OK, restored.StatusCode);
    }

    [Fact]
    public async Task Rate_limits_per_key_and_per_endpoint_answer_429_with_retry_after()
    {
        var (_, key) = await App.CreateKeyAsync("reader", requestsPerSecond: 2);
        using var client = App.WithKey(key);
        var statuses = new List<HttpResponseMessage>();
        for (var i = 0; i < 10; i++)
        {
            statuses.Add(await client.GetAsync("/api/v1/workers"));
        }

        var limited = statuses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(limited);
        Assert.True(limited[0].Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Contains("2", await limited[0].Content.ReadAsStringAsync());
        statuses.ForEach(r => r.Dispose());

        var name = TestNames.Unique("limited");
        await App.UploadModelAsync(name, TestModels.Linear());
        await App.DeployAsync(name, new
        {
            deployments = new[] { new { name = "blue", model = name, version = 1 } },
            rateLimit = new { requestsPerSecond = 3 },
        });
        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => App.InferAsync(name, LinearRequest())));
        Assert.Contains(answers, r => r.StatusCode == HttpStatusCode.OK);
        var refused = answers.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(refused);
        Assert.NotNull(refused[0].Headers.RetryAfter);
        Assert.Contains(name, (await refused[0].Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        Assert.All(answers, r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, r.StatusCode.ToString()));
        foreach (var answer in answers)
        {
            answer.Dispose();
        }
    }

    [Fact]
    public async Task Secrets_never_appear_in_logs_or_error_bodies()
    {
        var (id, key) = await App.CreateKeyAsync("predictor");
        var secret = key[(key.LastIndexOf('_') + 1)..];
        var bodies = new List<string>();
        using (var client = App.WithKey(key))
        {
            bodies.Add(await (await client.GetAsync("/api/v1/keys")).Content.ReadAsStringAsync());
            bodies.Add(await (await client.PostAsync("/v2/models/nowhere/infer", JsonBody("{"))).Content.ReadAsStringAsync());
            await App.Gateway.DeleteAsync($"/api/v1/keys/{id}");
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            bodies.Add(await (await client.GetAsync("/v2/models/nowhere")).Content.ReadAsStringAsync());
        }

        using (var wrong = App.WithKey(key[..^3] + "xyz"))
        {
            bodies.Add(await (await wrong.GetAsync("/api/v1/models")).Content.ReadAsStringAsync());
        }

        bodies.Add(await App.Gateway.GetStringAsync("/api/v1/audit?limit=200"));
        await Task.Delay(TimeSpan.FromSeconds(1));

        Assert.All(bodies, body => Assert.DoesNotContain(secret, body));
        var lines = App.Logs.Lines.ToList();
        Assert.NotEmpty(lines);
        var leaks = lines
            .Where(l => l.Contains(secret, StringComparison.Ordinal) || l.Contains(MlGridFixture.AdminKey, StringComparison.Ordinal))
            .Select(l => l.Replace(secret, "<secret>", StringComparison.Ordinal).Replace(MlGridFixture.AdminKey, "<admin key>", StringComparison.Ordinal))
            .ToList();
        Assert.True(leaks.Count == 0, $"{leaks.Count} log line(s) hold a secret:\n{string.Join("\n", leaks.Take(5))}");
    }

    [Fact]
    public async Task Oversized_management_body_is_refused_with_413_and_changes_nothing()
    {
        var name = TestNames.Unique("huge");
        var padding = new string('x', 2 * 1024 * 1024);
        using var response = await App.Gateway.PutAsync($"/api/v1/endpoints/{name}", JsonBody($"{{\"deployments\":[],\"note\":\"{padding}\"}}"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var after = await App.Gateway.GetAsync($"/api/v1/endpoints/{name}");
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
    }

    private async Task<List<(string Role, string Key)>> RoleKeysAsync()
    {
        var keys = new List<(string, string)>();
        foreach (var role in new[] { "admin", "editor", "reader", "predictor" })
        {
            keys.Add((role, (await App.CreateKeyAsync(role)).Key));
        }

        return keys;
    }

    private async Task<JsonElement> SingleEntryAsync(string query)
    {
        JsonElement found = default;
        await App.WaitUntilAsync(async () =>
        {
            var page = await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/audit?{query}&limit=10");
            var entries = page.GetProperty("entries");
            if (entries.GetArrayLength() == 0)
            {
                return false;
            }

            found = entries[0].Clone();
            return true;
        }, TimeSpan.FromSeconds(10), () => $"No audit entry matches {query}");
        return found;
    }

    private static async Task RewriteAsync(AppendBlobClient blob, Func<string, string> change)
    {
        var text = change((await blob.DownloadContentAsync()).Value.Content.ToString());
        await blob.DeleteAsync();
        await blob.CreateAsync();
        var bytes = Encoding.UTF8.GetBytes(text);
        for (var offset = 0; offset < bytes.Length; offset += 4 * 1024 * 1024)
        {
            using var chunk = new MemoryStream(bytes, offset, Math.Min(4 * 1024 * 1024, bytes.Length - offset));
            await blob.AppendBlockAsync(chunk);
        }
    }

    private static HttpRequestMessage Request(string method, string path, string? body) =>
        new(new HttpMethod(method), path) { Content = body is null ? null : JsonBody(body) };

    private static StringContent JsonBody(string json) => new(json, Encoding.UTF8, "application/json");

    private static object Spec(string model) => new
    {
        deployments = new[] { new { name = "blue", model, version = 1 } },
    };

    private static object LinearRequest() => new
    {
        inputs = new[] { new { name = "input", datatype = "FP32", shape = new[] { 1, 3 }, data = new[] { 1f, 2f, 3f } } },
    };
}
