using System.Net;
using MlGrid.Contracts;
using static MlGrid.Gateway.Tests.GatewayHarness;

namespace MlGrid.Gateway.Tests;

/// <summary>What backends learn about the caller: the control plane the vouched-for identity, nobody the caller's credentials.</summary>
public sealed class IdentityForwardingTests
{
    private const string Body = "{\"inputs\":[]}";

    [Fact]
    public async Task The_control_plane_gets_the_internal_key_and_the_principal_but_not_the_callers_credentials()
    {
        await using var gateway = await StartAsync();
        var (record, key) = gateway.AddKey("Zoë's notebook", Role.Reader);
        using var client = gateway.ClientWith(key);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/models?page=2");
        request.Headers.Add("x-request-id", "trace.me-123_ok");
        request.Headers.Add("x-mlgrid-principal", "admin");
        request.Headers.Add("x-mlgrid-role", "admin");
        request.Headers.Add("x-mlgrid-principal-name", "forged");
        request.Headers.Add("x-mlgrid-internal-key", "forged-internal-key-0123456789abcdef0123");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("trace.me-123_ok", response.Headers.GetValues("x-request-id").Single());
        var received = Assert.Single(gateway.ControlPlane.Requests);
        Assert.Equal("/replicas/control-plane/api/v1/models", received.Path);
        Assert.Equal(InternalKey, received.Headers["x-mlgrid-internal-key"]);
        Assert.Equal(record.Id, received.Headers["x-mlgrid-principal"]);
        Assert.Equal("reader", received.Headers["x-mlgrid-role"]);
        Assert.Equal(Uri.EscapeDataString("Zoë's notebook"), received.Headers["x-mlgrid-principal-name"]);
        Assert.Equal("trace.me-123_ok", received.Headers["x-request-id"]);
        Assert.False(received.Headers.ContainsKey("Authorization"));
        Assert.DoesNotContain(received.Headers.Values, v => v.Contains(key, StringComparison.Ordinal) || v.Contains("forged", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_bootstrap_admin_key_is_forwarded_as_the_admin_principal_never_as_the_key()
    {
        await using var gateway = await StartAsync();

        using var response = await gateway.Client.PostAsync("/api/v1/keys", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(gateway.ControlPlane.Requests);
        Assert.Equal("admin", received.Headers["x-mlgrid-principal"]);
        Assert.Equal("admin", received.Headers["x-mlgrid-role"]);
        Assert.DoesNotContain(received.Headers.Values, v => v.Contains(AdminKey, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("has space")]
    [InlineData("semi;colon")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123456789")]
    public async Task A_missing_or_unusable_request_id_is_replaced_and_the_same_id_is_forwarded_and_echoed(string? presented)
    {
        await using var gateway = await StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/models");
        if (presented is not null)
        {
            request.Headers.TryAddWithoutValidation("x-request-id", presented);
        }

        using var response = await gateway.Client.SendAsync(request);

        var echoed = response.Headers.GetValues("x-request-id").Single();
        Assert.NotEqual(presented, echoed);
        Assert.Matches("^[A-Za-z0-9._-]{1,64}$", echoed);
        Assert.Equal(echoed, Assert.Single(gateway.ControlPlane.Requests).Headers["x-request-id"]);
    }

    [Fact]
    public async Task Replicas_and_shadow_copies_get_neither_credentials_nor_identity_headers()
    {
        await using var live = await FakeReplica.StartAsync("blue-0");
        await using var mirror = await FakeReplica.StartAsync("green-0");
        await using var gateway = await StartAsync();
        gateway.Publish(new EndpointRoute("iris", 1, [Deployment("blue", 100, live.Url), Deployment("green", 0, mirror.Url)],
            Mirror: new MirrorSpec("green", 100)));
        var (_, key) = gateway.AddKey("app", Role.Predictor);
        using var client = gateway.ClientWith(key);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/iris/infer") { Content = new StringContent(Body) };
        request.Headers.Add("x-request-id", "infer-1");
        request.Headers.Add("x-mlgrid-principal", "admin");
        request.Headers.Add("x-mlgrid-internal-key", "forged-internal-key-0123456789abcdef0123");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("infer-1", response.Headers.GetValues("x-request-id").Single());
        await EventuallyAsync(() => !mirror.Requests.IsEmpty, "the shadow copy arrives");
        foreach (var received in new[] { Assert.Single(live.Requests), Assert.Single(mirror.Requests) })
        {
            Assert.False(received.Headers.ContainsKey("Authorization"));
            Assert.DoesNotContain(received.Headers.Keys, h => h.StartsWith("x-mlgrid-principal", StringComparison.OrdinalIgnoreCase)
                || h.Equals("x-mlgrid-internal-key", StringComparison.OrdinalIgnoreCase) || h.Equals("x-mlgrid-role", StringComparison.OrdinalIgnoreCase));
            Assert.Equal("infer-1", received.Headers["x-request-id"]);
        }
    }
}
