using System.Net;
using System.Text.Json;
using MlGrid.Contracts;
using static MlGrid.Gateway.Tests.GatewayHarness;

namespace MlGrid.Gateway.Tests;

/// <summary>One gateway, a key per role and the bootstrap admin key, and the backends that show a call went through.</summary>
public sealed class AccessMatrixFixture : IAsyncLifetime
{
    internal GatewayHarness Gateway { get; private set; } = null!;

    internal FakeReplica Replica { get; private set; } = null!;

    internal Dictionary<string, string> Keys { get; } = [];

    public async Task InitializeAsync()
    {
        Replica = await FakeReplica.StartAsync("iris-0");
        Gateway = await StartAsync();
        Gateway.Publish(new EndpointRoute("iris", 1, [Deployment("blue", 100, Replica.Url)]));
        Keys["predictor"] = Gateway.AddKey("scorer", Role.Predictor).Key;
        Keys["reader"] = Gateway.AddKey("analyst", Role.Reader).Key;
        Keys["editor"] = Gateway.AddKey("ci", Role.Editor).Key;
        Keys["admin"] = Gateway.AddKey("ops", Role.Admin).Key;
        Keys["bootstrap"] = AdminKey;
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Replica.DisposeAsync();
    }
}

/// <summary>Every area of the access policy, called with each role: refused at the gateway, or passed on to its backend.</summary>
public sealed class AccessMatrixTests(AccessMatrixFixture fixture) : IClassFixture<AccessMatrixFixture>
{
    private const string Admin = "admin";
    private const string ReaderUp = "reader, editor or admin";
    private const string EditorUp = "editor or admin";
    private const string PredictorUp = "predictor, editor or admin";
    private const string Anyone = "";

    /// <summary>Call, the roles the policy names for it (the 403 message), and where an allowed call ends up.</summary>
    private static readonly (string Method, string Path, string Needs, string Backend)[] Calls =
    [
        ("GET", "/api/v1/keys", Admin, "control-plane"),
        ("POST", "/api/v1/keys", Admin, "control-plane"),
        ("GET", "/api/v1/audit", Admin, "control-plane"),
        ("GET", "/api/v1/models", ReaderUp, "control-plane"),
        ("POST", "/api/v1/models/iris/versions", EditorUp, "control-plane"),
        ("GET", "/api/v1/endpoints", ReaderUp, "control-plane"),
        ("PUT", "/api/v1/endpoints/iris", EditorUp, "control-plane"),
        ("GET", "/api/v1/workers", ReaderUp, "control-plane"),
        ("GET", "/api/2.0/mlflow/experiments/get", ReaderUp, "control-plane"),
        ("POST", "/api/2.0/mlflow/runs/search", ReaderUp, "control-plane"),
        ("POST", "/api/2.0/mlflow/runs/create", EditorUp, "control-plane"),
        ("PUT", "/api/2.0/mlflow-artifacts/artifacts/1/model.onnx", EditorUp, "control-plane"),
        ("GET", "/api/unknown-area", Admin, "control-plane"),
        ("POST", "/v2/models/iris/infer", PredictorUp, "replica"),
        ("POST", "/v2/models/iris/versions/blue/infer", PredictorUp, "replica"),
        ("GET", "/v2/models/iris", Anyone, "gateway"),
        ("GET", "/v2/models/iris/ready", Anyone, "gateway"),
        ("GET", "/gateway/v1/stats", Admin, "gateway"),
    ];

    private static readonly string[] Principals = ["predictor", "reader", "editor", "admin", "bootstrap"];

    public static TheoryData<string, string, string> Matrix()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (method, path, _, _) in Calls)
        {
            foreach (var principal in Principals)
            {
                data.Add(principal, method, path);
            }
        }

        return data;
    }

    public static TheoryData<string, string> Paths()
    {
        var data = new TheoryData<string, string>();
        foreach (var (method, path, _, _) in Calls)
        {
            data.Add(method, path);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Each_role_is_let_through_or_refused_as_the_policy_says(string principal, string method, string path)
    {
        var (_, _, needs, backend) = Calls.Single(c => c.Method == method && c.Path == path);
        var role = principal == "bootstrap" ? "admin" : principal;
        var allowed = needs == Anyone || needs.Split([", ", " or "], StringSplitOptions.None).Contains(role);
        var requestId = $"matrix-{Guid.NewGuid():N}";
        using var client = fixture.Gateway.ClientWith(fixture.Keys[principal]);

        using var response = await SendAsync(client, method, path, requestId);

        var body = await response.Content.ReadAsStringAsync();
        var reached = backend switch
        {
            "control-plane" => fixture.Gateway.ControlPlane.Requests.Any(r => r.Headers.GetValueOrDefault("x-request-id") == requestId),
            "replica" => fixture.Replica.Requests.Any(r => r.Headers.GetValueOrDefault("x-request-id") == requestId),
            _ => response.StatusCode == HttpStatusCode.OK,
        };
        if (allowed)
        {
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{principal} {method} {path}: {(int)response.StatusCode} {body}");
            Assert.True(reached, $"{principal} {method} {path} did not reach the {backend}");
        }
        else
        {
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{principal} {method} {path}: {(int)response.StatusCode} {body}");
            Assert.False(reached, $"{principal} {method} {path} was refused but reached the {backend}");
            Assert.Contains($"needs the {needs} role", Message(path, body));
            Assert.Contains($"has the {role} role", Message(path, body));
            AssertSurface(path, response, body, "PERMISSION_DENIED", "Forbidden");
        }

        Assert.Equal(requestId, response.Headers.GetValues("x-request-id").Single());
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public async Task A_call_without_a_valid_key_is_refused_with_401_in_the_surface_body(string method, string path)
    {
        using var anonymous = fixture.Gateway.ClientWith(null);
        using var missing = await SendAsync(anonymous, method, path, null);
        var missingBody = await missing.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("Bearer", missing.Headers.WwwAuthenticate.Single().Scheme);
        Assert.StartsWith("Missing credentials: send 'Authorization: Bearer <key>'", Message(path, missingBody));
        AssertSurface(path, missing, missingBody, "UNAUTHENTICATED", "Unauthorized");

        const string Wrong = "mlgk_key_0123456789ab_definitely-not-the-secret";
        using var wrongClient = fixture.Gateway.ClientWith(Wrong);
        using var wrong = await SendAsync(wrongClient, method, path, null);
        var wrongBody = await wrong.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.StartsWith("Invalid API key. This call needs a key with the ", Message(path, wrongBody));
        var rule = MlGrid.Governance.AccessPolicy.Rule(method, path)!;
        Assert.EndsWith($"{MlGrid.Governance.Roles.Describe(rule.Permission)} role.", Message(path, wrongBody));
        Assert.EndsWith($"{MlGrid.Governance.Roles.Describe(rule.Permission)} role.", Message(path, missingBody));
        Assert.DoesNotContain("definitely-not-the-secret", wrongBody);
        AssertSurface(path, wrong, wrongBody, "UNAUTHENTICATED", "Unauthorized");
    }

    [Theory]
    [InlineData("GET", "/API/v1/keys")]
    [InlineData("GET", "/Gateway/v1/stats")]
    [InlineData("POST", "/V2/models/iris/infer")]
    [InlineData("GET", "/api/V1/Keys")]
    public async Task Changing_the_case_of_a_path_does_not_get_around_the_policy(string method, string path)
    {
        using var anonymous = fixture.Gateway.ClientWith(null);
        using (var response = await SendAsync(anonymous, method, path, null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using var reader = fixture.Gateway.ClientWith(fixture.Keys["reader"]);
        using (var response = await SendAsync(reader, method, path, null))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }
    }

    [Theory]
    [InlineData("/v2/health/live")]
    [InlineData("/v2/health/ready")]
    [InlineData("/v2")]
    public async Task Health_probes_and_server_metadata_need_no_key(string path)
    {
        using var anonymous = fixture.Gateway.ClientWith(null);
        using var response = await anonymous.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.Contains("x-request-id"));
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string method, string path, string? requestId)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method is "POST" or "PUT")
        {
            request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
        }

        if (requestId is not null)
        {
            request.Headers.Add("x-request-id", requestId);
        }

        return await client.SendAsync(request);
    }

    /// <summary>The human-readable message of an error body, whichever surface it is from.</summary>
    internal static string Message(string path, string body)
    {
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        if (path.StartsWith("/api/2.0", StringComparison.OrdinalIgnoreCase))
        {
            return root.GetProperty("message").GetString()!;
        }

        return path.StartsWith("/api", StringComparison.OrdinalIgnoreCase) || path.StartsWith("/gateway", StringComparison.OrdinalIgnoreCase)
            ? root.GetProperty("detail").GetString()!
            : root.GetProperty("error").GetString()!;
    }

    internal static void AssertSurface(string path, HttpResponseMessage response, string body, string mlflowCode, string title)
    {
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        if (path.StartsWith("/api/2.0", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Equal(mlflowCode, root.GetProperty("error_code").GetString());
        }
        else if (path.StartsWith("/api", StringComparison.OrdinalIgnoreCase) || path.StartsWith("/gateway", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(title, root.GetProperty("title").GetString());
            Assert.Equal((int)response.StatusCode, root.GetProperty("status").GetInt32());
        }
        else
        {
            Assert.True(root.TryGetProperty("error", out _), body);
        }
    }
}
