using System.Globalization;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using MlGrid.Contracts;

namespace MlGrid.Hosting;

/// <summary>A slice of a job's log and the offset to read on from.</summary>
public sealed record TrainingLogChunk(string Text, long NextOffset);

/// <summary>
/// Training job logs: one append blob per job, written by the control plane (queueing, placement, retries) and by the
/// worker running an attempt (phases, metrics, errors). Each line is stamped with its time and source; a line is
/// readable as soon as its block is appended, so a log can be followed while the job runs.
/// </summary>
public sealed class TrainingLogStore(BlobServiceClient blobs)
{
    /// <summary>Append blocks are limited to 4 MiB; lines are sent in blocks well under that.</summary>
    private const int MaxBlockBytes = 1024 * 1024;

    private readonly BlobContainerOnFirstUse _container = new(blobs.GetBlobContainerClient(StorageNames.TrainingLogContainer));

    public static string BlobName(string jobId) => $"{jobId}.log";

    public static string Line(DateTimeOffset at, string source, string message) =>
        $"{at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)} [{source}] {message.ReplaceLineEndings(" ")}\n";

    public async Task AppendAsync(string jobId, IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        if (lines.Count == 0)
        {
            return;
        }

        await _container.EnsureCreatedAsync(cancellationToken);
        var blob = _container.Client.GetAppendBlobClient(BlobName(jobId));
        foreach (var block in Blocks(lines))
        {
            try
            {
                await AppendBlockAsync(blob, block, cancellationToken);
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                await blob.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
                await AppendBlockAsync(blob, block, cancellationToken);
            }
        }
    }

    /// <summary>The log from <paramref name="offset"/> bytes on; empty text (and the same offset) when nothing is new or there is no log yet.</summary>
    public async Task<TrainingLogChunk> ReadAsync(string jobId, long offset, CancellationToken cancellationToken)
    {
        var blob = _container.Client.GetBlobClient(BlobName(jobId));
        try
        {
            var download = await blob.DownloadContentAsync(new BlobDownloadOptions { Range = new HttpRange(offset) }, cancellationToken);
            var bytes = download.Value.Content.ToArray();
            return new TrainingLogChunk(Encoding.UTF8.GetString(bytes), offset + bytes.Length);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 416)
        {
            // 404: no line yet; 416: nothing past the offset.
            return new TrainingLogChunk("", offset);
        }
    }

    private static async Task AppendBlockAsync(AppendBlobClient blob, byte[] block, CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream(block, writable: false);
        await blob.AppendBlockAsync(stream, cancellationToken: cancellationToken);
    }

    private static IEnumerable<byte[]> Blocks(IReadOnlyList<string> lines)
    {
        var current = new List<byte>();
        foreach (var line in lines)
        {
            var bytes = Encoding.UTF8.GetBytes(line.Length > MaxBlockBytes / 4 ? line[..(MaxBlockBytes / 4)] + "…\n" : line);
            if (current.Count + bytes.Length > MaxBlockBytes)
            {
                yield return [.. current];
                current.Clear();
            }

            current.AddRange(bytes);
        }

        if (current.Count > 0)
        {
            yield return [.. current];
        }
    }
}
