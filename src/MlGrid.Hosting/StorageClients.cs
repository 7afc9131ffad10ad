using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MlGrid.Contracts;

namespace MlGrid.Hosting;

/// <summary>Blob and table clients for the one storage account MlGrid uses (Azurite locally).</summary>
public static class StorageClients
{
    /// <summary>
    /// Registers <see cref="BlobServiceClient"/> and <see cref="TableServiceClient"/> built from the
    /// <c>ConnectionStrings:storage</c> connection string.
    /// </summary>
    public static IHostApplicationBuilder AddMlGridStorage(this IHostApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(StorageNames.ConnectionName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"No storage is configured: set ConnectionStrings__{StorageNames.ConnectionName} (the AppHost does this for you).");
        }

        builder.Services.AddSingleton(new BlobServiceClient(connectionString));
        builder.Services.AddSingleton(new TableServiceClient(connectionString));
        builder.Services.AddSingleton<ArtifactStore>();
        return builder;
    }
}
