using Azure.Storage.Blobs;

namespace MlGrid.Hosting;

/// <summary>
/// A blob container that is created the first time something is written to it, checked once per process;
/// <see cref="Forget"/> makes the next write check again (after the container was found missing).
/// </summary>
public sealed class BlobContainerOnFirstUse(BlobContainerClient client)
{
    private volatile bool _created;

    public BlobContainerClient Client { get; } = client;

    public async ValueTask EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        if (!_created)
        {
            await Client.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            _created = true;
        }
    }

    public void Forget() => _created = false;
}
