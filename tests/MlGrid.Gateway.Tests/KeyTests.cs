using System.Net;
using System.Text.Json;
using MlGrid.Contracts;
using static MlGrid.Gateway.Tests.GatewayHarness;

namespace MlGrid.Gateway.Tests;

/// <summary>API keys at the gateway: scopes, revocation, expiry, and a gateway that has no key ring yet.</summary>
public sealed class KeyTests
{
    private const string Body = "{\"inputs\":[]}";

    [Fact]
    public async Task A_scoped_predictor_key_may_call_its_endpoints_only()
    {
        await using var replica = await FakeReplica.StartAsync("r-0");
        await using var gateway = await StartAsync();
        gateway.Publish(
            new EndpointRoute("iris", 1, [Deployment("blue", 100, replica.Url)]),
            new EndpointRoute("wine", 1, [Deployment("blue", 100, replica.Url)]));
        var (record, key) = gateway.AddKey("iris-app", Role.Predictor, endpoints: ["iris"]);
        using var client = gateway.ClientWith(key);

        using (var allowed = await client.PostAsync("/v2/models/iris/infer", new StringContent(Body)))
        {
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        }

        using (var metadata = await client.GetAsync("/v2/models/iris"))
        {
            Assert.Equal(HttpStatusCode.OK, metadata.StatusCode);
        }

        using (var other = await client.PostAsync("/v2/models/wine/infer", new StringContent(Body)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
            var error = JsonDocument.Parse(await other.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
            Assert.Contains("scoped to endpoint(s) iris", error);
            Assert.Contains("'wine'", error);
        }

        using (var otherMetadata = await client.GetAsync("/v2/models/wine"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, otherMetadata.StatusCode);
        }

        Assert.Single(replica.Requests);
        await EventuallyAsync(() => gateway.Audit.Events.Count(e => e.Principal == record.Id && e.Status == 403) == 2, "both refusals are audited");
    }

    [Fact]
    public async Task A_revoked_key_is_refused_once_the_new_ring_arrives()
    {
        await using var gateway = await StartAsync();
        var (record, key) = gateway.AddKey("ci", Role.Editor);
        using var client = gateway.ClientWith(key);

        using (var before = await client.GetAsync("/api/v1/models"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        gateway.Revoke(record.Id);

        using var after = await client.GetAsync("/api/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        var detail = JsonDocument.Parse(await after.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString();
        Assert.Contains($"API key 'ci' ({record.Id}) was revoked", detail);
        Assert.Single(gateway.ControlPlane.Requests);
        await EventuallyAsync(() => gateway.Audit.Events.Any(e => e.Principal == record.Id && e.Status == 401 && e.Detail!.Contains("revoked", StringComparison.Ordinal)),
            "the refusal is audited under the key's id");
    }

    [Fact]
    public async Task An_expired_key_is_refused()
    {
        await using var gateway = await StartAsync();
        var (record, key) = gateway.AddKey("old", Role.Reader, expiresAt: DateTimeOffset.UtcNow.AddMinutes(-1));
        using var client = gateway.ClientWith(key);

        using var response = await client.GetAsync("/api/2.0/mlflow/experiments/search");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("UNAUTHENTICATED", body.GetProperty("error_code").GetString());
        Assert.Contains($"API key 'old' ({record.Id}) expired at", body.GetProperty("message").GetString());
        Assert.Empty(gateway.ControlPlane.Requests);
    }

    [Fact]
    public async Task Before_the_first_key_ring_an_api_key_gets_503_and_the_bootstrap_admin_key_works()
    {
        await using var gateway = await StartAsync(loadKeyRing: false);
        using var client = gateway.ClientWith("mlgk_key_0123456789ab_secret-secret-secret");

        using (var early = await client.GetAsync("/api/v1/models"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, early.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), early.Headers.RetryAfter?.Delta);
            Assert.Contains("The key registry is not reachable yet", await early.Content.ReadAsStringAsync());
        }

        using (var admin = await gateway.Client.GetAsync("/api/v1/models"))
        {
            Assert.Equal(HttpStatusCode.OK, admin.StatusCode);
        }

        using var notAKey = gateway.ClientWith("something-else");
        using (var invalid = await notAKey.GetAsync("/api/v1/models"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, invalid.StatusCode);
        }

        gateway.PublishKeys();
        using var late = await client.GetAsync("/api/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, late.StatusCode);
    }

    [Fact]
    public async Task A_non_bearer_authorization_header_is_refused()
    {
        await using var gateway = await StartAsync();
        using var client = gateway.ClientWith(null);
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", "dXNlcjpwYXNz");

        using var response = await client.GetAsync("/api/v1/models");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var detail = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString();
        Assert.StartsWith("Unsupported credentials", detail);
        Assert.DoesNotContain("dXNlcjpwYXNz", detail);
    }
}
