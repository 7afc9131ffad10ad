using System.Globalization;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using MlGrid.Contracts;
using MlGrid.Hosting;

namespace MlGrid.ControlPlane.Grains;

/// <summary>One segment of the chain as stored: its lines, and the size and block count that further appends continue from.</summary>
public sealed record AuditSegment(int Number, IReadOnlyList<string> Lines, long Length, int Blocks);

public enum AuditAppendResult
{
    Appended,

    /// <summary>The blob is not where the writer thought: another writer, a crash after an unacknowledged append, or an edit.</summary>
    PositionMoved,

    /// <summary>The segment's blob was replaced by one that cannot be appended to (an edit); the chain must go on in a new segment.</summary>
    NotAppendable,
}

/// <summary>
/// The audit trail's entries in blob storage: append blobs <c>chain/{segment:D6}.jsonl</c>, one JSON line per entry.
/// Append blobs keep grain state small and make every write an append; each append names the position it expects, so
/// two writers (or an append retried after a lost answer) can never interleave lines unnoticed.
/// </summary>
public sealed class AuditStore(BlobServiceClient blobs)
{
    /// <summary>The largest append block every service version and Azurite accept.</summary>
    public const int MaxBlockBytes = 4 * 1024 * 1024;

    /// <summary>An append blob takes at most 50,000 blocks; segments roll over well before.</summary>
    public const int MaxBlocksPerSegment = 49_000;

    private const string Prefix = "chain/";
    private const string Suffix = ".jsonl";

    private readonly BlobContainerOnFirstUse _container = new(blobs.GetBlobContainerClient(StorageNames.AuditContainer));

    public static string SegmentName(int segment) => $"{Prefix}{segment.ToString("D6", CultureInfo.InvariantCulture)}{Suffix}";

    /// <summary>The numbers of the stored segments, in order.</summary>
    public async Task<IReadOnlyList<int>> ListSegmentsAsync(CancellationToken cancellationToken = default)
    {
        var segments = new List<int>();
        try
        {
            await foreach (var blob in _container.Client.GetBlobsAsync(new GetBlobsOptions { Prefix = Prefix }, cancellationToken))
            {
                var name = blob.Name;
                if (name.EndsWith(Suffix, StringComparison.Ordinal)
                    && int.TryParse(name.AsSpan(Prefix.Length, name.Length - Prefix.Length - Suffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var number))
                {
                    segments.Add(number);
                }
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return [];
        }

        segments.Sort();
        return segments;
    }

    /// <summary>A segment's lines (without their newlines); empty when the segment does not exist.</summary>
    public async Task<AuditSegment> ReadAsync(int segment, CancellationToken cancellationToken = default)
    {
        BlobDownloadResult download;
        try
        {
            download = await _container.Client.GetBlobClient(SegmentName(segment)).DownloadContentAsync(cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return new AuditSegment(segment, [], 0, 0);
        }

        var bytes = download.Content.ToMemory();
        var text = Encoding.UTF8.GetString(bytes.Span);
        var lines = text.Length == 0 ? [] : text.Split('\n');
        var count = text.EndsWith('\n') ? lines.Length - 1 : lines.Length;
        return new AuditSegment(segment, lines[..count], bytes.Length, download.Details.BlobCommittedBlockCount);
    }

    /// <summary>Appends one block of whole lines at <paramref name="position"/>, creating the segment when it starts there.</summary>
    public async Task<AuditAppendResult> AppendAsync(int segment, long position, ReadOnlyMemory<byte> block, CancellationToken cancellationToken = default)
    {
        await _container.EnsureCreatedAsync(cancellationToken);
        var blob = _container.Client.GetAppendBlobClient(SegmentName(segment));
        try
        {
            if (position == 0)
            {
                await blob.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            }

            using var content = BinaryData.FromBytes(block).ToStream();
            await blob.AppendBlockAsync(content, new AppendBlobAppendBlockOptions
            {
                Conditions = new AppendBlobRequestConditions { IfAppendPositionEqual = position },
            }, cancellationToken);
            return AuditAppendResult.Appended;
        }
        catch (RequestFailedException ex) when (ex.ErrorCode == BlobErrorCode.AppendPositionConditionNotMet || ex.Status == 412)
        {
            return AuditAppendResult.PositionMoved;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // The segment (or the whole container) was deleted since it was last read.
            _container.Forget();
            return AuditAppendResult.PositionMoved;
        }
        catch (RequestFailedException ex) when (ex.ErrorCode == BlobErrorCode.InvalidBlobType || ex.ErrorCode == BlobErrorCode.BlockCountExceedsLimit)
        {
            return AuditAppendResult.NotAppendable;
        }
    }
}
