using System.Diagnostics;

namespace MlGrid.Bench.Serving;

/// <summary>What one call returned: success, or the reason it failed (a status and the start of the body, or an exception).</summary>
internal readonly record struct CallOutcome(bool Ok, string? Error)
{
    public static readonly CallOutcome Success = new(true, null);

    public static CallOutcome Failure(string error) => new(false, error);
}

/// <summary>Latencies of the successful calls of one measurement, in milliseconds.</summary>
internal sealed record LatencySummary(double MeanMs, double P50Ms, double P95Ms, double P99Ms, double MaxMs)
{
    public static readonly LatencySummary Empty = new(0, 0, 0, 0, 0);

    /// <summary>Nearest-rank percentiles of Stopwatch tick counts.</summary>
    public static LatencySummary FromTicks(long[] sorted)
    {
        if (sorted.Length == 0)
        {
            return Empty;
        }

        double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
        long Rank(double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
        var mean = sorted.Average(t => (double)t);
        return new LatencySummary(mean * 1000.0 / Stopwatch.Frequency, Ms(Rank(0.50)), Ms(Rank(0.95)), Ms(Rank(0.99)), Ms(sorted[^1]));
    }
}

/// <summary>The counts and latencies of one closed-loop measurement.</summary>
internal sealed record LoopResult(long Requests, long Errors, long WarmupErrors, string? FirstError, double WindowSeconds, LatencySummary Latency)
{
    public double RequestsPerSecond => Requests / WindowSeconds;
}

/// <summary>
/// A closed-loop load: N loops, each sending its next call as soon as the previous one answered, for a warm-up and
/// then a fixed window. A call counts when it completes inside the window (as wrk counts); calls still in flight when
/// the window closes are awaited but not counted, so the next measurement starts on a quiet system.
/// </summary>
internal static class ClosedLoop
{
    public static async Task<LoopResult> RunAsync(
        int concurrency, TimeSpan warmup, TimeSpan window, Func<int, Func<CancellationToken, ValueTask<CallOutcome>>> createLoop,
        CancellationToken cancellationToken = default)
    {
        var calls = Enumerable.Range(0, concurrency).Select(createLoop).ToArray();
        var start = Stopwatch.GetTimestamp();
        var windowStart = start + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        var windowEnd = windowStart + (long)(window.TotalSeconds * Stopwatch.Frequency);
        var loops = calls.Select(call => Task.Run(() => LoopAsync(call, windowStart, windowEnd, cancellationToken), cancellationToken)).ToArray();
        var states = await Task.WhenAll(loops);

        var all = new long[states.Sum(s => s.Latencies.Count)];
        var offset = 0;
        foreach (var state in states)
        {
            state.Latencies.CopyTo(all, offset);
            offset += state.Latencies.Count;
        }

        Array.Sort(all);
        return new LoopResult(
            all.Length,
            states.Sum(s => s.Errors),
            states.Sum(s => s.WarmupErrors),
            states.Select(s => s.FirstError).FirstOrDefault(e => e is not null),
            window.TotalSeconds,
            LatencySummary.FromTicks(all));
    }

    private static async Task<LoopState> LoopAsync(
        Func<CancellationToken, ValueTask<CallOutcome>> call, long windowStart, long windowEnd, CancellationToken cancellationToken)
    {
        var state = new LoopState();
        while (!cancellationToken.IsCancellationRequested)
        {
            var started = Stopwatch.GetTimestamp();
            if (started >= windowEnd)
            {
                break;
            }

            CallOutcome outcome;
            try
            {
                outcome = await call(cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                outcome = CallOutcome.Failure($"{ex.GetType().Name}: {ex.Message}");
            }

            var finished = Stopwatch.GetTimestamp();
            var counted = finished >= windowStart && finished <= windowEnd;
            if (outcome.Ok)
            {
                if (counted)
                {
                    state.Latencies.Add(finished - started);
                }
            }
            else
            {
                if (counted)
                {
                    state.Errors++;
                }
                else if (finished < windowStart)
                {
                    state.WarmupErrors++;
                }

                state.FirstError ??= outcome.Error;
            }
        }

        return state;
    }

    private sealed class LoopState
    {
        public List<long> Latencies { get; } = new(4096);

        public long Errors { get; set; }

        public long WarmupErrors { get; set; }

        public string? FirstError { get; set; }
    }
}
