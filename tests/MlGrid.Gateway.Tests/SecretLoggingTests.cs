using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MlGrid.Contracts;
using static MlGrid.Gateway.Tests.GatewayHarness;

namespace MlGrid.Gateway.Tests;

/// <summary>Credentials never end up in logs, whatever the level, and API keys never go through the JWT handler.</summary>
public sealed class SecretLoggingTests
{
    [Fact]
    public async Task No_log_line_at_any_level_contains_a_key_a_token_or_the_internal_key()
    {
        var logs = new CapturingLoggerProvider();
        await using var replica = await FakeReplica.StartAsync("r-0");
        await using var gateway = await StartAsync(
            new Dictionary<string, string?>
            {
                // A tenant whose metadata cannot be fetched (nothing listens there): JWTs fail, and say so in the logs.
                ["Gateway:EntraId:Instance"] = "https://127.0.0.1:9/",
                ["Gateway:EntraId:TenantId"] = "11111111-2222-3333-4444-555555555555",
                ["Gateway:EntraId:Audience"] = "api://mlgrid-test",
                ["Gateway:RateLimits:KeyRequestsPerSecond"] = "1",
            },
            services => services.AddLogging(b => b.AddProvider(logs).AddFilter<CapturingLoggerProvider>(null, LogLevel.Trace)));
        gateway.Publish(new EndpointRoute("iris", 1, [Deployment("blue", 100, replica.Url)]));
        var (record, key) = gateway.AddKey("ci", Role.Editor);
        const string WrongKey = "mlgk_key_00112233aabb_wrong-secret-value";
        const string Jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzZWNyZXQtc3ViamVjdCJ9.c2VjcmV0LXNpZ25hdHVyZQ";

        foreach (var credential in new[] { key, WrongKey, Jwt, AdminKey })
        {
            using var client = gateway.ClientWith(credential);
            for (var i = 0; i < 2; i++)
            {
                (await client.GetAsync("/api/v1/models")).Dispose();
                (await client.PostAsync("/v2/models/iris/infer", new StringContent("{}"))).Dispose();
            }
        }

        gateway.Revoke(record.Id);
        using (var revoked = gateway.ClientWith(key))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await revoked.GetAsync("/api/v1/models")).StatusCode);
        }

        Assert.Contains(logs.Lines, line => line.Contains("JwtBearer", StringComparison.Ordinal));
        var secrets = new[] { key, key[^20..], "wrong-secret-value", Jwt.Split('.')[1], Jwt.Split('.')[2], AdminKey, InternalKey };
        Assert.DoesNotContain(logs.Lines, line => secrets.Any(s => line.Contains(s, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task No_trace_carries_a_key_or_the_internal_key()
    {
        var spans = new ConcurrentQueue<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => spans.Enqueue(string.Join(' ',
                new[] { activity.Source.Name, activity.DisplayName, activity.StatusDescription ?? "" }
                    .Concat(activity.TagObjects.Select(t => $"{t.Key}={t.Value}"))
                    .Concat(activity.Baggage.Select(b => $"{b.Key}={b.Value}"))
                    .Concat(activity.Events.SelectMany(e => e.Tags.Select(t => $"{e.Name}:{t.Key}={t.Value}"))))),
        };
        ActivitySource.AddActivityListener(listener);

        await using var replica = await FakeReplica.StartAsync("r-0");
        await using var gateway = await StartAsync();
        gateway.Publish(new EndpointRoute("iris", 1, [Deployment("blue", 100, replica.Url)]));
        var (_, key) = gateway.AddKey("traced", Role.Editor);
        foreach (var credential in new[] { key, key[..^4] + "nope", AdminKey })
        {
            using var client = gateway.ClientWith(credential);
            (await client.GetAsync("/api/v1/models?traced=1")).Dispose();
            (await client.PostAsync("/v2/models/iris/infer", new StringContent("{}"))).Dispose();
        }

        await EventuallyAsync(() => spans.Any(s => s.Contains("/api/v1/models", StringComparison.Ordinal)), "the calls are traced");
        var secrets = new[] { key[^20..], AdminKey, InternalKey };
        Assert.DoesNotContain(spans, span => secrets.Any(s => span.Contains(s, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task There_is_no_default_authentication_scheme_to_run_api_keys_through()
    {
        await using var gateway = await StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:EntraId:TenantId"] = "11111111-2222-3333-4444-555555555555",
            ["Gateway:EntraId:Audience"] = "api://mlgrid-test",
        });

        var schemes = gateway.Service<IAuthenticationSchemeProvider>();

        Assert.Null(await schemes.GetDefaultAuthenticateSchemeAsync());
        Assert.NotNull(await schemes.GetSchemeAsync("entra"));
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, Lines);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
        }
    }
}
