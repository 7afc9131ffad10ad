using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using MlGrid.Contracts;

namespace MlGrid.ControlPlane.Apis;

/// <summary>The audit trail: who did what, newest first, and a check that no stored entry was changed. Admin only.</summary>
public static class AuditApi
{
    public const int DefaultLimit = 100;

    public static RouteGroupBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/audit").WithTags("Audit");
        api.MapGet("/", QueryAudit);
        api.MapGet("/verify", VerifyAudit);
        return api;
    }

    /// <summary>
    /// One page of entries matching every given filter: <c>principal</c> exactly, <c>action</c> as a case-insensitive
    /// substring, <c>target</c> as a path prefix, <c>outcome</c> exactly, <c>from</c>/<c>to</c> inclusive.
    /// </summary>
    public static async Task<Results<Ok<AuditPageResponse>, ProblemHttpResult>> QueryAudit(
        IGrainFactory grains,
        string? principal = null,
        string? action = null,
        string? target = null,
        string? outcome = null,
        string? from = null,
        string? to = null,
        string? limit = null,
        string? pageToken = null)
    {
        if (outcome is not (null or AuditOutcomes.Succeeded or AuditOutcomes.Failed or AuditOutcomes.Refused))
        {
            return Invalid($"'outcome' must be {AuditOutcomes.Succeeded}, {AuditOutcomes.Failed} or {AuditOutcomes.Refused}.");
        }

        if (!TryParseTime(from, out var fromTime))
        {
            return Invalid("'from' must be an ISO-8601 date and time, e.g. 2030-01-31T00:00:00Z.");
        }

        if (!TryParseTime(to, out var toTime))
        {
            return Invalid("'to' must be an ISO-8601 date and time, e.g. 2030-01-31T00:00:00Z.");
        }

        var pageSize = DefaultLimit;
        if (limit is not null
            && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) || pageSize is < 1 or > 1000))
        {
            return Invalid("'limit' must be a whole number from 1 to 1000.");
        }

        long? before = null;
        if (pageToken is not null)
        {
            if (!long.TryParse(pageToken, NumberStyles.None, CultureInfo.InvariantCulture, out var token) || token < 1)
            {
                return Invalid("'pageToken' is not a page token: pass the 'nextPageToken' of an earlier answer.");
            }

            before = token;
        }

        var page = await grains.GetGrain<IAuditLogGrain>(IAuditLogGrain.Key).Query(new AuditQuery(
            Empty(principal), Empty(action), Empty(target), outcome, fromTime, toTime, before, pageSize));
        return TypedResults.Ok(new AuditPageResponse(
            page.Entries,
            page.NextBefore?.ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary>Recomputes the whole hash chain; 409 names the first entry that does not fit.</summary>
    public static async Task<Results<Ok<AuditVerifyResponse>, ProblemHttpResult>> VerifyAudit(IGrainFactory grains)
    {
        var result = await grains.GetGrain<IAuditLogGrain>(IAuditLogGrain.Key).Verify();
        if (result.Intact)
        {
            return TypedResults.Ok(new AuditVerifyResponse(true, result.Entries, result.HeadHash));
        }

        return TypedResults.Problem(
            detail: result.Problem,
            statusCode: StatusCodes.Status409Conflict,
            title: "The audit trail is not intact",
            extensions: new Dictionary<string, object?>
            {
                ["firstBadSequence"] = result.FirstBadSequence,
                ["entries"] = result.Entries,
            });
    }

    private static ProblemHttpResult Invalid(string detail) => Problems.Of(StatusCodes.Status400BadRequest, detail);

    private static string? Empty(string? text) => string.IsNullOrEmpty(text) ? null : text;

    private static bool TryParseTime(string? text, out DateTimeOffset? time)
    {
        time = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
        {
            return false;
        }

        time = parsed;
        return true;
    }
}

public sealed record AuditPageResponse(IReadOnlyList<AuditEntry> Entries, string? NextPageToken);

public sealed record AuditVerifyResponse(bool Intact, long Entries, string HeadHash);
