using System.Globalization;

namespace MlGrid.Gateway.Stats;

/// <summary>
/// Counters for one kind of traffic (live or shadow) to one deployment: requests, errors (status 500 and up, which
/// includes the 502/504 the gateway answers for transport failures), counts per status code and latency.
/// </summary>
public sealed class TrafficStats
{
    private const int MaxStatus = 600;

    private readonly long[] _statusCounts = new long[MaxStatus];
    private readonly LatencyHistogram _latency = new();
    private long _requests;
    private long _errors;
    private long _retries;
    private long _dropped;

    public long Requests => Interlocked.Read(ref _requests);

    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Attempts sent again to another replica after a transport failure (live traffic).</summary>
    public long Retries => Interlocked.Read(ref _retries);

    /// <summary>Copies not sent because the shadow queue or its memory budget was full (shadow traffic).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public LatencyHistogram Latency => _latency;

    public void Record(int status, TimeSpan elapsed)
    {
        Interlocked.Increment(ref _requests);
        if (status >= 500)
        {
            Interlocked.Increment(ref _errors);
        }

        if (status is > 0 and < MaxStatus)
        {
            Interlocked.Increment(ref _statusCounts[status]);
        }

        _latency.Record(elapsed);
    }

    public void AddRetry() => Interlocked.Increment(ref _retries);

    public void AddDropped() => Interlocked.Increment(ref _dropped);

    /// <summary>The non-zero counts by status code, keyed by the code as text (JSON object keys).</summary>
    public IReadOnlyDictionary<string, long> StatusCounts()
    {
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        for (var status = 0; status < MaxStatus; status++)
        {
            var count = Interlocked.Read(ref _statusCounts[status]);
            if (count > 0)
            {
                counts[status.ToString(CultureInfo.InvariantCulture)] = count;
            }
        }

        return counts;
    }

    public LatencyReport LatencyReport() => new(_latency.Percentile(0.50), _latency.Percentile(0.95), _latency.Percentile(0.99));
}
