using System.Numerics;

namespace MlGrid.Gateway.Stats;

/// <summary>
/// A lock-free latency histogram in microseconds: exact below 16 µs, then eight buckets per power of two (each at
/// most 12.5% wide), up to about 12 days. Recording is one interlocked increment; percentiles read the buckets.
/// </summary>
public sealed class LatencyHistogram
{
    private const int SubBuckets = 8;
    private const int LinearBuckets = 16;
    private const int MaxExponent = 40;
    private const int BucketCount = LinearBuckets + (MaxExponent - 4 + 1) * SubBuckets;

    private readonly long[] _counts = new long[BucketCount];

    public void Record(TimeSpan elapsed) => Record((long)elapsed.TotalMicroseconds);

    public void Record(long microseconds) => Interlocked.Increment(ref _counts[Index(microseconds)]);

    /// <summary>The latency, in milliseconds, under which <paramref name="quantile"/> of the samples fall; null with no samples.</summary>
    public double? Percentile(double quantile)
    {
        // A copy, so that concurrent increments cannot push the rank past the end of the walk.
        Span<long> counts = stackalloc long[BucketCount];
        long total = 0;
        for (var i = 0; i < BucketCount; i++)
        {
            counts[i] = Volatile.Read(ref _counts[i]);
            total += counts[i];
        }

        if (total == 0)
        {
            return null;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(quantile * total));
        long seen = 0;
        for (var i = 0; i < BucketCount; i++)
        {
            seen += counts[i];
            if (seen >= rank)
            {
                var (lower, width) = Bounds(i);
                return Math.Round((lower + width / 2.0) / 1000.0, 3);
            }
        }

        return null;
    }

    internal static int Index(long microseconds)
    {
        if (microseconds < LinearBuckets)
        {
            return (int)Math.Max(0, microseconds);
        }

        var exponent = BitOperations.Log2((ulong)microseconds);
        if (exponent > MaxExponent)
        {
            return BucketCount - 1;
        }

        var sub = (int)(microseconds >> (exponent - 3)) & (SubBuckets - 1);
        return LinearBuckets + (exponent - 4) * SubBuckets + sub;
    }

    /// <summary>The lower bound and width of bucket <paramref name="index"/>, in microseconds.</summary>
    internal static (long Lower, long Width) Bounds(int index)
    {
        if (index < LinearBuckets)
        {
            return (index, 1);
        }

        var exponent = 4 + (index - LinearBuckets) / SubBuckets;
        var sub = (index - LinearBuckets) % SubBuckets;
        var width = 1L << (exponent - 3);
        return ((SubBuckets + sub) * width, width);
    }
}
