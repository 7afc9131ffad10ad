using MlGrid.Gateway.Stats;

namespace MlGrid.Gateway.Tests;

public sealed class StatsTests
{
    [Fact]
    public void Histogram_buckets_cover_every_value_in_order_without_gaps()
    {
        long expectedLower = 0;
        for (var i = 0; LatencyHistogram.Bounds(i).Lower < 1L << 40; i++)
        {
            var (lower, width) = LatencyHistogram.Bounds(i);
            Assert.Equal(expectedLower, lower);
            Assert.Equal(i, LatencyHistogram.Index(lower));
            Assert.Equal(i, LatencyHistogram.Index(lower + width - 1));
            Assert.True(width <= Math.Max(1, lower / 8), $"bucket {i} at {lower} µs is {width} µs wide");
            expectedLower = lower + width;
        }
    }

    [Fact]
    public void Histogram_percentiles_are_within_a_bucket_of_the_exact_ones()
    {
        var histogram = new LatencyHistogram();
        // 1..1000 ms: p50 = 500 ms, p95 = 950 ms, p99 = 990 ms.
        for (var ms = 1; ms <= 1000; ms++)
        {
            histogram.Record(TimeSpan.FromMilliseconds(ms));
        }

        Assert.InRange(histogram.Percentile(0.50)!.Value, 500 * 0.93, 500 * 1.07);
        Assert.InRange(histogram.Percentile(0.95)!.Value, 950 * 0.93, 950 * 1.07);
        Assert.InRange(histogram.Percentile(0.99)!.Value, 990 * 0.93, 990 * 1.07);
    }

    [Fact]
    public void Histogram_has_no_percentiles_before_the_first_sample()
    {
        Assert.Null(new LatencyHistogram().Percentile(0.5));
    }

    [Fact]
    public void Histogram_separates_a_slow_tail()
    {
        var histogram = new LatencyHistogram();
        for (var i = 0; i < 980; i++)
        {
            histogram.Record(TimeSpan.FromMilliseconds(2));
        }

        for (var i = 0; i < 20; i++)
        {
            histogram.Record(TimeSpan.FromSeconds(3));
        }

        Assert.InRange(histogram.Percentile(0.50)!.Value, 1.8, 2.2);
        Assert.InRange(histogram.Percentile(0.95)!.Value, 1.8, 2.2);
        Assert.InRange(histogram.Percentile(0.99)!.Value, 2_800, 3_200);
    }

    [Fact]
    public void Traffic_counts_requests_errors_and_status_codes()
    {
        var traffic = new TrafficStats();

        traffic.Record(200, TimeSpan.FromMilliseconds(1));
        traffic.Record(200, TimeSpan.FromMilliseconds(1));
        traffic.Record(400, TimeSpan.FromMilliseconds(1));
        traffic.Record(502, TimeSpan.FromMilliseconds(1));
        traffic.Record(504, TimeSpan.FromMilliseconds(1));

        Assert.Equal(5, traffic.Requests);
        Assert.Equal(2, traffic.Errors);
        Assert.Equal(new Dictionary<string, long> { ["200"] = 2, ["400"] = 1, ["502"] = 1, ["504"] = 1 }, traffic.StatusCounts());
    }

    [Fact]
    public void Traffic_counts_concurrent_records_exactly()
    {
        var traffic = new TrafficStats();

        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < 10_000; i++)
            {
                traffic.Record(i % 10 == 0 ? 500 : 200, TimeSpan.FromMicroseconds(i));
            }
        });

        Assert.Equal(80_000, traffic.Requests);
        Assert.Equal(8_000, traffic.Errors);
        Assert.Equal(72_000, traffic.StatusCounts()["200"]);
    }

    [Fact]
    public void Report_keeps_live_and_shadow_apart_per_endpoint_and_deployment()
    {
        var stats = new GatewayStats();
        stats.For("iris", "blue").Live.Record(200, TimeSpan.FromMilliseconds(3));
        stats.For("iris", "blue").Live.AddRetry();
        stats.For("iris", "green").Shadow.Record(500, TimeSpan.FromMilliseconds(40));
        stats.For("iris", "green").Shadow.AddDropped();
        stats.For("wine", "v1").Live.Record(404, TimeSpan.FromMilliseconds(1));

        var report = stats.Report();

        Assert.Equal(["iris", "wine"], report.Endpoints.Keys);
        var blue = report.Endpoints["iris"].Deployments["blue"];
        Assert.Equal(1, blue.Live.Requests);
        Assert.Equal(1, blue.Live.Retries);
        Assert.Equal(0, blue.Shadow.Requests);
        Assert.Null(blue.Shadow.LatencyMs.P50);
        var green = report.Endpoints["iris"].Deployments["green"];
        Assert.Equal(0, green.Live.Requests);
        Assert.Equal(1, green.Shadow.Requests);
        Assert.Equal(1, green.Shadow.Errors);
        Assert.Equal(1, green.Shadow.Dropped);
        Assert.Equal(1, green.Shadow.StatusCodes["500"]);
        Assert.InRange(green.Shadow.LatencyMs.P99!.Value, 37, 43);
        Assert.Equal(0, report.Endpoints["wine"].Deployments["v1"].Live.Errors);
    }
}
