using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using MlGrid.Gateway.Auth;
using MlGrid.Gateway.Http;
using MlGrid.Gateway.Routing;
using MlGrid.Governance;

namespace MlGrid.Gateway.Limits;

/// <summary>
/// Per-caller and per-endpoint request rates, checked after authentication (a caller is known by its principal, not
/// its address). A caller's rate is its key's own, else <see cref="RateLimitOptions.KeyRequestsPerSecond"/>; an
/// endpoint's inference rate is its routing entry's, else <see cref="RateLimitOptions.EndpointRequestsPerSecond"/>.
/// Public calls (health probes, server metadata) are not limited.
/// </summary>
internal sealed class RequestRateLimits : IDisposable
{
    private static readonly object HitKey = new();

    private readonly KeyRingState _keys;
    private readonly RoutingState _routing;
    private readonly RateLimitOptions _options;
    private readonly Refusals _refusals;
    private readonly PartitionedRateLimiter<HttpContext> _perKey;
    private readonly PartitionedRateLimiter<HttpContext> _perEndpoint;

    public RequestRateLimits(KeyRingState keys, RoutingState routing, IOptions<RateLimitOptions> options, Refusals refusals)
    {
        _keys = keys;
        _routing = routing;
        _options = options.Value;
        _refusals = refusals;
        _perKey = new Attributed(PartitionedRateLimiter.Create<HttpContext, Scope>(c => Partition(KeyScope(c))), KeyScope);
        _perEndpoint = new Attributed(PartitionedRateLimiter.Create<HttpContext, Scope>(c => Partition(EndpointScope(c))), EndpointScope);
        Limiter = PartitionedRateLimiter.CreateChained(_perKey, _perEndpoint);
    }

    public PartitionedRateLimiter<HttpContext> Limiter { get; }

    public void Dispose()
    {
        // The chain does not own the limiters it chains.
        Limiter.Dispose();
        _perKey.Dispose();
        _perEndpoint.Dispose();
    }

    /// <summary>429 with <c>Retry-After</c>, in the surface's error body, naming the limit that was hit; recorded as a refusal.</summary>
    public async ValueTask OnRejectedAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after)
            ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds))
            : 1;
        context.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        var hit = context.Items[HitKey] as Scope? ?? KeyScope(context);
        var what = hit.Kind == Scope.Endpoint
            ? $"endpoint '{hit.Name}'"
            : $"{(hit.Name.StartsWith("entra:", StringComparison.Ordinal) ? "principal" : "key")} '{context.GetGatewayCall()?.Principal?.Name ?? hit.Name}'";
        await _refusals.RefuseAsync(context, StatusCodes.Status429TooManyRequests,
            $"Rate limit of {hit.RequestsPerSecond} requests/second for {what} exceeded; retry after {retryAfter} s.");
    }

    /// <summary>
    /// A bucket of one second's worth, refilled in steps of at most a tenth of it: smooth enough for high rates,
    /// whole tokens for low ones (2/s is one token every 500 ms). The rate is part of the partition key, so a changed
    /// limit takes effect with the next call.
    /// </summary>
    internal static RateLimitPartition<Scope> Partition(Scope scope)
    {
        if (scope.RequestsPerSecond <= 0)
        {
            return RateLimitPartition.GetNoLimiter(scope);
        }

        return RateLimitPartition.GetTokenBucketLimiter(scope, s =>
        {
            var tokens = Math.Max(1, (s.RequestsPerSecond + 9) / 10);
            return new TokenBucketRateLimiterOptions
            {
                TokenLimit = s.RequestsPerSecond,
                TokensPerPeriod = tokens,
                ReplenishmentPeriod = TimeSpan.FromTicks(TimeSpan.TicksPerSecond * tokens / s.RequestsPerSecond),
                QueueLimit = 0,
                AutoReplenishment = true,
            };
        });
    }

    private Scope KeyScope(HttpContext context)
    {
        if (context.GetGatewayCall()?.Principal is not { } principal)
        {
            return Scope.None;
        }

        var rate = _keys.Find(principal.Id)?.RequestsPerSecond ?? _options.KeyRequestsPerSecond;
        return rate > 0 ? new Scope(Scope.Key, principal.Id, rate) : Scope.None;
    }

    private Scope EndpointScope(HttpContext context)
    {
        // Inference calls only: metadata and readiness are probes, and probes are not limited.
        if (context.GetGatewayCall() is not { Principal: not null, Rule: { Permission: Permission.Predict, Endpoint: { } endpoint } })
        {
            return Scope.None;
        }

        var rate = _routing.Find(endpoint)?.RateLimit?.RequestsPerSecond ?? _options.EndpointRequestsPerSecond;
        return rate > 0 ? new Scope(Scope.Endpoint, endpoint, rate) : Scope.None;
    }

    internal readonly record struct Scope(string Kind, string Name, int RequestsPerSecond)
    {
        public const string Key = "key";
        public const string Endpoint = "endpoint";

        public static Scope None => default;
    }

    /// <summary>Notes on the request which limit refused it: the chained limiter only says that one did.</summary>
    private sealed class Attributed(PartitionedRateLimiter<HttpContext> inner, Func<HttpContext, Scope> scope) : PartitionedRateLimiter<HttpContext>
    {
        public override RateLimiterStatistics? GetStatistics(HttpContext resource) => inner.GetStatistics(resource);

        protected override RateLimitLease AttemptAcquireCore(HttpContext resource, int permitCount) =>
            Note(resource, inner.AttemptAcquire(resource, permitCount));

        protected override async ValueTask<RateLimitLease> AcquireAsyncCore(HttpContext resource, int permitCount, CancellationToken cancellationToken) =>
            Note(resource, await inner.AcquireAsync(resource, permitCount, cancellationToken));

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private RateLimitLease Note(HttpContext resource, RateLimitLease lease)
        {
            if (!lease.IsAcquired)
            {
                resource.Items[HitKey] = scope(resource);
            }

            return lease;
        }
    }
}
