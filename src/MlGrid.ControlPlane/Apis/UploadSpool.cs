using System.Security.Cryptography;

namespace MlGrid.ControlPlane.Apis;

/// <summary>Uploaded files are spooled to local disk while they are hashed (and, for datasets, profiled) in one pass.</summary>
internal static class UploadSpool
{
    /// <summary>
    /// Copies the body to <paramref name="path"/>, hashing it and showing every chunk to <paramref name="observe"/>;
    /// stops once it passes <paramref name="limit"/> (the size returned is then past the limit and the hash empty).
    /// </summary>
    public static async Task<(string Sha256, long Size)> SpoolAsync(
        Stream body, string path, long limit, Action<ReadOnlyMemory<byte>>? observe, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        long size = 0;
        await using var file = File.Create(path);
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            size += read;
            if (size > limit)
            {
                return ("", size);
            }

            hash.AppendData(buffer, 0, read);
            observe?.Invoke(buffer.AsMemory(0, read));
            await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }

        return (Convert.ToHexStringLower(hash.GetHashAndReset()), size);
    }
}
