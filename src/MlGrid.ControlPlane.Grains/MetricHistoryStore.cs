using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using MlGrid.Contracts;
using MlGrid.Hosting;

namespace MlGrid.ControlPlane.Grains;

/// <summary>Where a metric's history continues: the segment being appended to and how many blocks it holds.</summary>
public sealed record MetricCursor(int Segment, int Blocks);

/// <summary>
/// Runs' metric histories in append blobs: <c>{runId}/{key}/{segment:D6}.csv</c>, one <c>timestamp,step,value</c> line
/// per point, the key base64url-encoded. Each append is one block, so a history of any length costs one write per
/// logging call and grain state holds only the cursor. A segment rolls over before the service's 50,000-block limit.
/// </summary>
public sealed class MetricHistoryStore(BlobServiceClient blobs)
{
    public const int MaxBlocksPerSegment = 49_000;

    private const string Suffix = ".csv";

    private readonly BlobContainerOnFirstUse _container = new(blobs.GetBlobContainerClient(StorageNames.MetricsContainer));

    public static string KeyPrefix(string runId, string key) => $"{runId}/{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(key))}/";

    public static string SegmentName(string runId, string key, int segment) =>
        KeyPrefix(runId, key) + segment.ToString("D6", CultureInfo.InvariantCulture) + Suffix;

    /// <summary>Appends points of one metric in one block and answers where the history now ends.</summary>
    public async Task<MetricCursor> AppendAsync(string runId, string key, MetricCursor? cursor, IReadOnlyList<MetricPoint> points, CancellationToken cancellationToken = default)
    {
        var position = cursor ?? new MetricCursor(1, 0);
        if (position.Blocks >= MaxBlocksPerSegment)
        {
            position = new MetricCursor(position.Segment + 1, 0);
        }

        var content = Encoding.ASCII.GetBytes(Format(points));
        var blob = _container.Client.GetAppendBlobClient(SegmentName(runId, key, position.Segment));
        if (position.Blocks == 0)
        {
            await _container.EnsureCreatedAsync(cancellationToken);
            await blob.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        }

        using var stream = new MemoryStream(content, writable: false);
        BlobAppendInfo appended;
        try
        {
            appended = (await blob.AppendBlockAsync(stream, cancellationToken: cancellationToken)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // The cursor outlived its blob (the container was cleared): start the segment again.
            await _container.EnsureCreatedAsync(cancellationToken);
            await blob.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            stream.Position = 0;
            appended = (await blob.AppendBlockAsync(stream, cancellationToken: cancellationToken)).Value;
        }

        return new MetricCursor(position.Segment, appended.BlobCommittedBlockCount);
    }

    /// <summary>Every point of a metric in the order logged; empty when nothing was logged.</summary>
    public async Task<List<MetricPoint>> ReadAsync(string runId, string key, CancellationToken cancellationToken = default)
    {
        var names = new List<string>();
        try
        {
            await foreach (var item in _container.Client.GetBlobsAsync(new GetBlobsOptions { Prefix = KeyPrefix(runId, key) }, cancellationToken))
            {
                names.Add(item.Name);
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return [];
        }

        names.Sort(StringComparer.Ordinal);
        var points = new List<MetricPoint>();
        foreach (var name in names)
        {
            var download = await _container.Client.GetBlobClient(name).DownloadContentAsync(cancellationToken);
            Parse(key, download.Value.Content.ToMemory().Span, points);
        }

        return points;
    }

    internal static string Format(IReadOnlyList<MetricPoint> points)
    {
        var text = new StringBuilder(points.Count * 40);
        foreach (var point in points)
        {
            text.Append(point.Timestamp.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(point.Step.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(point.Value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }

        return text.ToString();
    }

    internal static void Parse(string key, ReadOnlySpan<byte> content, List<MetricPoint> points)
    {
        var text = Encoding.ASCII.GetString(content);
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            if (line.IsEmpty)
            {
                continue;
            }

            var first = line.IndexOf(',');
            var second = line[(first + 1)..].IndexOf(',') + first + 1;
            points.Add(new MetricPoint(
                key,
                double.Parse(line[(second + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture),
                long.Parse(line[..first], NumberStyles.Integer, CultureInfo.InvariantCulture),
                long.Parse(line[(first + 1)..second], NumberStyles.Integer, CultureInfo.InvariantCulture)));
        }
    }
}
