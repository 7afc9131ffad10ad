using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using MlGrid.Contracts;

namespace MlGrid.Hosting;

/// <summary>One entry of an artifact listing: a file with its size, or a directory (which has none).</summary>
/// <param name="Path">Relative to what was listed (see each listing method).</param>
public sealed record MlflowArtifactEntry(string Path, bool IsDirectory, long? FileSize);

/// <summary>A stored artifact file: where, how many bytes, and their SHA-256.</summary>
public sealed record MlflowArtifactWritten(string Path, long Size, string Sha256);

/// <summary>An artifact opened for reading; the caller disposes <see cref="Content"/>.</summary>
/// <param name="Sha256">The SHA-256 recorded when the file was stored; null for a blob written by other means.</param>
public sealed record MlflowArtifactContent(Stream Content, long Length, string? Sha256);

/// <summary>
/// MLflow's artifact store (what <c>mlflow server --serve-artifacts</c> keeps): files under relative, '/'-separated
/// paths in their own blob container, where directories are nothing but the prefixes of the files in them. Every path
/// is checked by <see cref="MlflowArtifactPath"/> before it names a blob.
/// </summary>
public sealed class MlflowArtifactStore(BlobServiceClient blobs)
{
    /// <summary>The size of each staged block: the most an upload holds in memory at once.</summary>
    private const int BlockSize = 4 * 1024 * 1024;

    private const string Sha256Metadata = "sha256";
    private const string SizeMetadata = "size";

    private readonly BlobContainerOnFirstUse _container = new(blobs.GetBlobContainerClient(StorageNames.MlflowArtifactContainer));

    /// <summary>
    /// Stores <paramref name="content"/> at <paramref name="path"/>, replacing what was there. The bytes are staged in
    /// blocks while they are hashed and committed at the end in one step, so a reader sees the old file or the whole
    /// new one, and an upload that fails part-way leaves the old file as it was.
    /// </summary>
    public async Task<MlflowArtifactWritten> UploadAsync(string path, Stream content, CancellationToken cancellationToken)
    {
        path = MlflowArtifactPath.Normalize(path);
        await _container.EnsureCreatedAsync(cancellationToken);
        var blob = _container.Client.GetBlockBlobClient(path);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(BlockSize);
        try
        {
            // Block ids are unique to this upload, so two uploads to one path never mix their blocks.
            var upload = Guid.NewGuid().ToString("N");
            var blocks = new List<string>();
            long size = 0;
            while (true)
            {
                var filled = await FillAsync(content, buffer.AsMemory(0, BlockSize), cancellationToken);
                hash.AppendData(buffer, 0, filled);
                size += filled;
                if (blocks.Count == 0 && filled < BlockSize)
                {
                    // The whole file fits in one block: a single write, with its metadata.
                    var sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
                    using var whole = new MemoryStream(buffer, 0, filled, writable: false);
                    await blob.UploadAsync(whole, new BlobUploadOptions { Metadata = Metadata(sha256, size) }, cancellationToken);
                    return new MlflowArtifactWritten(path, size, sha256);
                }

                if (filled > 0)
                {
                    var id = Convert.ToBase64String(Encoding.ASCII.GetBytes($"{upload}-{blocks.Count:D6}"));
                    using var block = new MemoryStream(buffer, 0, filled, writable: false);
                    await blob.StageBlockAsync(id, block, options: null, cancellationToken);
                    blocks.Add(id);
                }

                if (filled < BlockSize)
                {
                    break;
                }
            }

            var digest = Convert.ToHexStringLower(hash.GetHashAndReset());
            await blob.CommitBlockListAsync(blocks, new CommitBlockListOptions { Metadata = Metadata(digest, size) }, cancellationToken);
            return new MlflowArtifactWritten(path, size, digest);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Opens the file at <paramref name="path"/> for reading; null when there is no file there (a directory is not one).</summary>
    public async Task<MlflowArtifactContent?> OpenReadAsync(string path, CancellationToken cancellationToken)
    {
        path = MlflowArtifactPath.Normalize(path);
        try
        {
            var response = await _container.Client.GetBlobClient(path).DownloadStreamingAsync(cancellationToken: cancellationToken);
            var details = response.Value.Details;
            return new MlflowArtifactContent(
                response.Value.Content,
                details.ContentLength,
                details.Metadata.TryGetValue(Sha256Metadata, out var sha256) ? sha256 : null);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <summary>
    /// One level of <paramref name="directory"/> (null or empty for the root): its files with their sizes and its
    /// sub-directories, each named relative to <paramref name="directory"/> (a plain name), in ordinal order. Empty for
    /// a directory that does not exist and for a path that names a file.
    /// </summary>
    public async Task<IReadOnlyList<MlflowArtifactEntry>> ListAsync(string? directory, CancellationToken cancellationToken)
    {
        var prefix = PrefixOf(directory);
        var entries = new List<MlflowArtifactEntry>();
        try
        {
            await foreach (var item in _container.Client.GetBlobsByHierarchyAsync(
                new GetBlobsByHierarchyOptions { Delimiter = "/", Prefix = prefix }, cancellationToken))
            {
                entries.Add(item.IsPrefix
                    ? new MlflowArtifactEntry(item.Prefix[prefix.Length..^1], true, null)
                    : new MlflowArtifactEntry(item.Blob.Name[prefix.Length..], false, item.Blob.Properties.ContentLength ?? 0));
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No container yet: nothing has been stored.
        }

        entries.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return entries;
    }

    /// <summary>
    /// Every file under <paramref name="directory"/> (null or empty for the root), at any depth, named relative to
    /// <paramref name="directory"/> (for example <c>data/model.onnx</c>), in the store's order.
    /// </summary>
    public async IAsyncEnumerable<MlflowArtifactEntry> ListRecursiveAsync(
        string? directory, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var prefix = PrefixOf(directory);
        var pages = _container.Client.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, cancellationToken).AsPages().GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                Page<BlobItem> page;
                try
                {
                    if (!await pages.MoveNextAsync())
                    {
                        yield break;
                    }

                    page = pages.Current;
                }
                catch (RequestFailedException ex) when (ex.Status == 404)
                {
                    yield break;
                }

                foreach (var item in page.Values)
                {
                    yield return new MlflowArtifactEntry(item.Name[prefix.Length..], false, item.Properties.ContentLength ?? 0);
                }
            }
        }
        finally
        {
            await pages.DisposeAsync();
        }
    }

    /// <summary>
    /// Deletes the file at <paramref name="path"/> and everything under it as a directory; returns how many files went.
    /// Nothing there is not an error: deleting is idempotent, as in MLflow.
    /// </summary>
    public async Task<int> DeleteAsync(string path, CancellationToken cancellationToken)
    {
        path = MlflowArtifactPath.Normalize(path);
        var names = new List<string> { path };
        await foreach (var file in ListRecursiveAsync(path, cancellationToken))
        {
            names.Add(path + "/" + file.Path);
        }

        var deleted = 0;
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (name, token) =>
            {
                try
                {
                    if (await _container.Client.GetBlobClient(name).DeleteIfExistsAsync(cancellationToken: token))
                    {
                        Interlocked.Increment(ref deleted);
                    }
                }
                catch (RequestFailedException ex) when (ex.Status == 404)
                {
                    // No container: nothing to delete.
                }
            });
        return deleted;
    }

    /// <summary>
    /// One level of a run's artifacts, as MLflow's <c>ListArtifacts</c> answers it: <paramref name="artifactRoot"/> is
    /// the run's artifact URI (<c>mlflow-artifacts:/1/abc/artifacts</c>) or its store path (<c>1/abc/artifacts</c>),
    /// and each entry is named relative to the root, under <paramref name="relativePath"/> (<c>model/MLmodel</c>).
    /// </summary>
    public async Task<IReadOnlyList<MlflowArtifactEntry>> ListRunArtifactsAsync(
        string artifactRoot, string? relativePath, CancellationToken cancellationToken)
    {
        var root = artifactRoot.StartsWith(MlflowArtifactPath.UriScheme, StringComparison.OrdinalIgnoreCase)
            ? MlflowArtifactPath.FromUri(artifactRoot)
            : MlflowArtifactPath.Normalize(artifactRoot);
        var relative = string.IsNullOrEmpty(relativePath) ? null : MlflowArtifactPath.Normalize(relativePath);
        var entries = await ListAsync(relative is null ? root : root + "/" + relative, cancellationToken);
        return relative is null ? entries : [.. entries.Select(e => e with { Path = relative + "/" + e.Path })];
    }

    /// <summary>"" for the root, otherwise the checked directory path with a trailing '/'.</summary>
    private static string PrefixOf(string? directory) =>
        string.IsNullOrEmpty(directory) ? "" : MlflowArtifactPath.Normalize(directory) + "/";

    private static Dictionary<string, string> Metadata(string sha256, long size) => new()
    {
        [Sha256Metadata] = sha256,
        [SizeMetadata] = size.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends; returns how much was read.</summary>
    private static async Task<int> FillAsync(Stream content, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var filled = 0;
        int read;
        while (filled < buffer.Length && (read = await content.ReadAsync(buffer[filled..], cancellationToken)) > 0)
        {
            filled += read;
        }

        return filled;
    }

}

/// <summary>
/// The one check of MLflow artifact paths, made before a path names a blob. MLflow's rule (<c>validate_path_is_safe</c>)
/// and more: percent-decoded until it no longer changes, then relative and '/'-separated, with no empty, '.' or '..'
/// segment, no backslash, '#' or control character, and of bounded length.
/// </summary>
public static class MlflowArtifactPath
{
    /// <summary>The scheme of run artifact URIs served by this store: <c>mlflow-artifacts:/&lt;experiment&gt;/&lt;run&gt;/artifacts</c>.</summary>
    public const string UriScheme = "mlflow-artifacts:";

    /// <summary>Blob names are limited to 1,024 characters.</summary>
    public const int MaxLength = 1024;

    /// <summary>Blob names are limited to 254 segments.</summary>
    public const int MaxSegments = 254;

    /// <summary>How many rounds of percent-decoding a path may need before it is refused as obfuscated.</summary>
    private const int MaxDecodeRounds = 4;

    /// <summary>The checked, decoded form of <paramref name="path"/>; throws an invalid-request error naming the problem.</summary>
    public static string Normalize(string? path) =>
        TryNormalize(path, out var normalized, out var problem) ? normalized : throw RequestException.Invalid(problem);

    /// <summary>Checks <paramref name="path"/>; on success <paramref name="normalized"/> is the decoded path to use.</summary>
    public static bool TryNormalize(string? path, out string normalized, out string problem)
    {
        normalized = "";
        if (string.IsNullOrEmpty(path))
        {
            problem = "Invalid path: an artifact path is required.";
            return false;
        }

        var decoded = path;
        for (var round = 0; ; round++)
        {
            var next = Uri.UnescapeDataString(decoded);
            if (next == decoded)
            {
                break;
            }

            if (round == MaxDecodeRounds)
            {
                problem = "Invalid path: it is percent-encoded too many times.";
                return false;
            }

            decoded = next;
        }

        if (Refusal(decoded) is { } refusal)
        {
            problem = $"Invalid path '{Printable(path)}': {refusal}";
            return false;
        }

        normalized = decoded;
        problem = "";
        return true;
    }

    /// <summary>
    /// The store path of a run artifact URI: <c>mlflow-artifacts:/1/abc/artifacts</c> (or with an authority,
    /// <c>mlflow-artifacts://host/1/abc/artifacts</c>) gives <c>1/abc/artifacts</c>.
    /// </summary>
    public static string FromUri(string artifactUri)
    {
        if (!artifactUri.StartsWith(UriScheme, StringComparison.OrdinalIgnoreCase))
        {
            throw RequestException.Invalid($"'{Printable(artifactUri)}' is not an {UriScheme} URI.");
        }

        var rest = artifactUri[UriScheme.Length..];
        if (rest.StartsWith("//", StringComparison.Ordinal))
        {
            var slash = rest.IndexOf('/', 2);
            rest = slash < 0 ? "" : rest[slash..];
        }

        return Normalize(rest.TrimStart('/'));
    }

    private static string? Refusal(string path)
    {
        if (path.Length > MaxLength)
        {
            return $"it is longer than {MaxLength} characters.";
        }

        if (path.StartsWith('/'))
        {
            return "it must be relative, not start with '/'.";
        }

        foreach (var c in path)
        {
            if (c == '\\')
            {
                return "use '/' to separate directories, not '\\'.";
            }

            if (c == '#')
            {
                return "'#' is not allowed.";
            }

            if (char.IsControl(c))
            {
                return "control characters are not allowed.";
            }
        }

        if (!IsWellFormedUtf16(path))
        {
            return "it is not valid Unicode.";
        }

        if (path.Length >= 2 && char.IsAsciiLetter(path[0]) && path[1] == ':')
        {
            return "it must be relative, not start with a drive.";
        }

        var segments = path.Split('/');
        if (segments.Length > MaxSegments)
        {
            return $"it has more than {MaxSegments} segments.";
        }

        foreach (var segment in segments)
        {
            if (segment.Length == 0)
            {
                return "empty segments ('//', or a '/' at the end) are not allowed.";
            }

            if (segment is "." or "..")
            {
                return "'.' and '..' segments are not allowed.";
            }

            // Windows drops a trailing dot from file names, so a client downloading "a." would write "a"; Azure's
            // naming rules advise against such blob names too.
            if (segment.EndsWith('.'))
            {
                return "a segment may not end with '.'.";
            }
        }

        return null;
    }

    private static bool IsWellFormedUtf16(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The path as it can be shown in a message: control characters escaped, long paths cut.</summary>
    private static string Printable(string path)
    {
        var shown = path.Length > 200 ? path[..200] + "…" : path;
        var builder = new StringBuilder(shown.Length);
        foreach (var c in shown)
        {
            builder.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c);
        }

        return builder.ToString();
    }
}
