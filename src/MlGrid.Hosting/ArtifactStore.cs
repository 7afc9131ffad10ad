using System.Security.Cryptography;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using MlGrid.Contracts;

namespace MlGrid.Hosting;

/// <summary>Content-addressed artifacts in blob storage: each file is stored once, under its SHA-256.</summary>
public sealed class ArtifactStore(BlobServiceClient blobs)
{
    private readonly BlobContainerOnFirstUse _container = new(blobs.GetBlobContainerClient(StorageNames.ArtifactContainer));

    /// <summary>
    /// How a file is sent: up to 8 MiB in one request, above that in 8 MiB blocks, two at a time. With the SDK's
    /// defaults (one request up to 256 MiB, then several blocks in flight at once) storing a large dataset took
    /// about 70 MiB more memory than storing a small one; this keeps it to two blocks whatever the file.
    /// </summary>
    private static readonly StorageTransferOptions UploadTransfer = new()
    {
        InitialTransferSize = 8 * 1024 * 1024,
        MaximumTransferSize = 8 * 1024 * 1024,
        MaximumConcurrency = 2,
    };

    public static string BlobName(string sha256) => $"sha256/{sha256}";

    /// <summary>Uploads a local file under its hash unless it is there already; true when this call created it.</summary>
    public async Task<bool> PutIfAbsentAsync(string sha256, string localPath, CancellationToken cancellationToken)
    {
        await _container.EnsureCreatedAsync(cancellationToken);
        var blob = _container.Client.GetBlobClient(BlobName(sha256));
        try
        {
            await using var file = File.OpenRead(localPath);
            await blob.UploadAsync(file, new BlobUploadOptions
            {
                Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                TransferOptions = UploadTransfer,
            }, cancellationToken);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 409 || ex.ErrorCode == BlobErrorCode.BlobAlreadyExists)
        {
            return false;
        }
    }

    public async Task DeleteAsync(string sha256, CancellationToken cancellationToken)
    {
        await _container.Client.GetBlobClient(BlobName(sha256)).DeleteIfExistsAsync(cancellationToken: cancellationToken);
    }

    /// <summary>Opens the stored bytes for reading; null when there is no such artifact.</summary>
    public async Task<Stream?> OpenReadAsync(string sha256, CancellationToken cancellationToken)
    {
        try
        {
            return await _container.Client.GetBlobClient(BlobName(sha256)).OpenReadAsync(cancellationToken: cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <summary>Downloads an artifact to a local file and checks its hash; throws when the bytes do not match.</summary>
    public async Task DownloadToAsync(string sha256, string localPath, CancellationToken cancellationToken)
    {
        var partial = localPath + ".partial-" + Guid.NewGuid().ToString("N");
        try
        {
            await using (var target = File.Create(partial))
            {
                await _container.Client.GetBlobClient(BlobName(sha256)).DownloadToAsync(target, cancellationToken);
            }

            await using (var check = File.OpenRead(partial))
            {
                var actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(check, cancellationToken));
                if (actual != sha256)
                {
                    throw new InvalidDataException($"Artifact {sha256} downloaded with hash {actual}; refusing to use it.");
                }
            }

            File.Move(partial, localPath, overwrite: true);
        }
        finally
        {
            File.Delete(partial);
        }
    }
}
