using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using MlGrid.Contracts;
using MlGrid.Gateway.Auth;
using static MlGrid.Gateway.Tests.GatewayHarness;

namespace MlGrid.Gateway.Tests;

/// <summary>Refusals in the audit trail: who, what, why, never a secret; floods summarized; nothing lost silently.</summary>
public sealed class AuditTests
{
    [Fact]
    public async Task Refusals_reach_the_audit_trail_with_who_what_and_why_and_no_secret()
    {
        await using var gateway = await StartAsync();
        var (reader, readerKey) = gateway.AddKey("analyst", Role.Reader);
        const string WrongSecret = "mlgk_key_00112233aabb_wrong-secret-value";
        const string NotAKey = "not-a-key-at-all-0123456789";

        using (var anonymous = gateway.ClientWith(null))
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/models"))
        {
            request.Headers.Add("x-request-id", "req-anon");
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(request)).StatusCode);
        }

        using (var wrong = gateway.ClientWith(WrongSecret))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("/api/v1/keys?token=abc")).StatusCode);
        }

        using (var garbage = gateway.ClientWith(NotAKey))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await garbage.PostAsync("/v2/models/iris/infer", new StringContent("{}"))).StatusCode);
        }

        using (var client = gateway.ClientWith(readerKey))
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await client.DeleteAsync("/api/v1/endpoints/iris")).StatusCode);
        }

        await EventuallyAsync(() => gateway.Audit.Events.Count == 4, "four refusals are recorded");
        var events = gateway.Audit.Events.ToArray();

        var missing = Assert.Single(events, e => e.RequestId == "req-anon");
        Assert.Equal("anonymous", missing.Principal);
        Assert.Equal("GET /api/v1/models", missing.Action);
        Assert.Equal("/api/v1/models", missing.Target);
        Assert.Equal(AuditOutcomes.Refused, missing.Outcome);
        Assert.Equal(401, missing.Status);
        Assert.StartsWith("Missing credentials", missing.Detail);

        var invalid = Assert.Single(events, e => e.Target == "/api/v1/keys");
        Assert.Equal("key_00112233aabb", invalid.Principal);
        Assert.Equal("Invalid API key. This call needs a key with the admin role.", invalid.Detail);

        var garbled = Assert.Single(events, e => e.Target == "/v2/models/iris/infer");
        Assert.Equal("anonymous", garbled.Principal);

        var forbidden = Assert.Single(events, e => e.Status == 403);
        Assert.Equal(reader.Id, forbidden.Principal);
        Assert.Equal("analyst", forbidden.PrincipalName);
        Assert.Equal("DELETE /api/v1/endpoints/iris", forbidden.Action);
        Assert.Contains("needs the editor or admin role", forbidden.Detail);

        var secrets = new[] { readerKey, WrongSecret, "wrong-secret-value", NotAKey, AdminKey, InternalKey, "token=abc" };
        foreach (var e in events)
        {
            var fields = new[] { e.Principal, e.PrincipalName, e.Action, e.Target, e.Outcome, e.RequestId, e.Detail };
            Assert.DoesNotContain(fields, f => f is not null && secrets.Any(s => f.Contains(s, StringComparison.Ordinal)));
            Assert.False(string.IsNullOrEmpty(e.RequestId));
        }
    }

    [Fact]
    public async Task A_refusal_flood_is_recorded_as_ten_a_second_and_one_summary()
    {
        await using var gateway = await StartAsync();
        using var wrong = gateway.ClientWith("mlgk_key_00112233aabb_wrong-secret-value");

        const int Calls = 40;
        var started = DateTimeOffset.UtcNow;
        for (var i = 0; i < Calls; i++)
        {
            using var response = await wrong.GetAsync("/api/v1/models");
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        var seconds = (int)(DateTimeOffset.UtcNow - started).TotalSeconds + 2;
        await EventuallyAsync(() => gateway.Audit.Events.Where(e => e.Action != "summary").Count()
            + gateway.Audit.Events.Where(e => e.Action == "summary").Sum(Suppressed) == Calls, "every refusal is recorded or counted");
        var individual = gateway.Audit.Events.Count(e => e.Action != "summary");
        Assert.InRange(individual, 10, 10 * seconds);
        var summary = gateway.Audit.Events.First(e => e.Action == "summary");
        Assert.Equal("key_00112233aabb", summary.Principal);
        Assert.Equal(401, summary.Status);
        Assert.Equal(AuditOutcomes.Refused, summary.Outcome);
        Assert.Contains("refused calls were not recorded individually (more than 10 a second", summary.Detail);
    }

    [Fact]
    public async Task Refusals_that_do_not_fit_the_buffer_become_one_summary_and_are_sent_once_the_trail_is_back()
    {
        var sink = new RecordingAuditSink { FailuresLeft = 2 };
        using var forwarder = new AuditForwarder(sink, TimeProvider.System, NullLogger<AuditForwarder>.Instance, capacity: 5);

        // Recorded before the forwarder runs, so exactly the buffer's 5 fit whatever the scheduling.
        const int Refusals = 30;
        for (var i = 0; i < Refusals; i++)
        {
            // Distinct callers, so that the per-caller limit plays no part.
            forwarder.Record(new AuditEvent(DateTimeOffset.UtcNow, $"key_{i:x12}", null, "GET /api/v1/models", "/api/v1/models", AuditOutcomes.Refused, 401, null, "Invalid API key."));
        }

        Assert.Equal(Refusals - 5, forwarder.Dropped);
        await forwarder.StartAsync(CancellationToken.None);

        await EventuallyAsync(() => sink.Events.Any(e => e.Action == "summary"), "the summary is sent once the trail is back");
        await Task.Delay(300);
        var individual = sink.Events.Count(e => e.Action != "summary");
        var summaries = sink.Events.Where(e => e.Action == "summary").ToList();
        Assert.All(summaries, s =>
        {
            Assert.EndsWith(" refused calls were not recorded individually (buffer full)", s.Detail);
            Assert.Equal("system:gateway", s.Principal);
        });
        Assert.Equal(Refusals - individual, summaries.Sum(Suppressed));
        Assert.Equal(5, individual);
        Assert.True(sink.Calls >= 3);
        await forwarder.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Events_waiting_for_a_retry_at_shutdown_are_still_sent()
    {
        var sink = new RecordingAuditSink { FailuresLeft = 1 };
        using var forwarder = new AuditForwarder(sink, TimeProvider.System, NullLogger<AuditForwarder>.Instance);
        await forwarder.StartAsync(CancellationToken.None);
        forwarder.Record(new AuditEvent(DateTimeOffset.UtcNow, "anonymous", null, "GET /x", "/x", AuditOutcomes.Refused, 401, null, "Missing credentials"));
        await EventuallyAsync(() => Volatile.Read(ref sink.Calls) == 1, "the first attempt fails");

        await forwarder.StopAsync(CancellationToken.None);

        Assert.Single(sink.Events);
    }

    private static long Suppressed(AuditEvent summary) =>
        long.Parse(summary.Detail![..summary.Detail!.IndexOf(' ', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
}
